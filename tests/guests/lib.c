/* Freestanding helpers for the tiny test guests (see lib.h). */
#include "lib.h"

/* struct boot_params offsets (Documentation/x86/zero-page.rst and
 * Documentation/x86/boot.rst, setup header at 0x1f1). */
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_CMD_LINE_PTR 0x228
#define BP_CMDLINE_SIZE 0x238
#define CMDLINE_MAX 4096

static const uint8_t *boot_params;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void guest_lib_init(const uint8_t *bp)
{
	boot_params = bp;
}

void serial_putc(char c)
{
	/* 16550: wait for THRE before each THR write. Bounded: a UART that never
	 * reports THRE still gets the byte, so the test sees the output. */
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++)
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void serial_put_hex(uint64_t v, unsigned digits)
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = digits; i-- > 0;)
		serial_putc(hex[(v >> (4 * i)) & 0xf]);
}

void serial_put_dec(uint64_t v)
{
	char buf[21];
	unsigned n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		serial_putc(buf[--n]);
}

const char *cmdline_get(void)
{
	if (!boot_params)
		return "";
	uint64_t p = rd32(boot_params + BP_CMD_LINE_PTR) |
		     (uint64_t)rd32(boot_params + BP_EXT_CMD_LINE_PTR) << 32;
	/* Only the first 4 GiB are mapped at entry. */
	if (p == 0 || p >= 0x100000000ull - CMDLINE_MAX)
		return "";
	return (const char *)(uintptr_t)p;
}

static size_t cmdline_limit(void)
{
	uint32_t sz = boot_params ? rd32(boot_params + BP_CMDLINE_SIZE) : 0;
	return sz && sz < CMDLINE_MAX ? sz + 1 : CMDLINE_MAX;
}

const char *cmdline_find(const char *key)
{
	const char *c = cmdline_get();
	size_t lim = cmdline_limit();
	size_t klen = 0;
	while (key[klen])
		klen++;
	for (size_t i = 0; i < lim && c[i]; i++) {
		if (i > 0 && c[i - 1] != ' ')
			continue;
		size_t k = 0;
		while (k < klen && i + k < lim && c[i + k] == key[k])
			k++;
		if (k == klen)
			return c + i + k;
	}
	return NULL;
}

bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	unsigned n = 0;
	for (; *s && *s != ' '; s++, n++) {
		uint64_t d;
		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (uint64_t)(*s - 'A' + 10);
		else
			return false;
		if (v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	if (n == 0)
		return false;
	*out = v;
	return true;
}

bool i8042_wait_ibf_clear(void)
{
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++)
		if (!(inb(I8042_CMD) & I8042_STR_IBF))
			return true;
	return false;
}

bool i8042_wait_obf(void)
{
	for (unsigned i = 0; i < GUEST_POLL_MAX; i++)
		if (inb(I8042_CMD) & I8042_STR_OBF)
			return true;
	return false;
}

void guest_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_reset(void)
{
	i8042_wait_ibf_clear();
	outb(I8042_CMD, 0xfe);
	/* The VMM may stop this vCPU asynchronously: do nothing more. */
	guest_halt();
}

void guest_exit(uint8_t status)
{
	const char *v = cmdline_find("appvm.exit_port=");
	uint64_t port;
	if (!v || !parse_uint(v, 0xffff, &port)) {
		serial_puts("guest: no valid appvm.exit_port= on the command line, resetting\n");
		guest_reset();
	}
	outb((uint16_t)port, status);
	guest_halt();
}
