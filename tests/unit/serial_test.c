/* 16550A register model: what Linux's 8250 driver probes and relies on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/device.h"
#include "vmm/devices/serial.h"
#include "vmm/log.h"

extern const struct device_ops serial_device;

static int irq_level, irq_changes, rx_ready_calls;
static char outbuf[4096];
static size_t outlen;

static void f_irq(void *ctx, int level) { irq_level = level; irq_changes++; }
static void f_out(void *ctx, const uint8_t *b, size_t n) { memcpy(outbuf + outlen, b, n); outlen += n; }
static void f_ready(void *ctx) { rx_ready_calls++; }

static struct serial s;
static void setup(void)
{
	irq_level = irq_changes = rx_ready_calls = 0;
	outlen = 0;
	serial_init(&s, f_irq, f_out, f_ready, NULL);
}

enum { THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static void iir_idle_and_scratch(void)
{
	setup();
	CHECK_EQ(serial_read(&s, IIR), 0x01);  /* nothing pending */
	serial_write(&s, SCR, 0xa5);
	CHECK_EQ(serial_read(&s, SCR), 0xa5);
	CHECK_EQ(serial_read(&s, LSR) & 0x60, 0x60);
	CHECK_EQ(irq_level, 0);
}

static void divisor_latch(void)
{
	setup();
	serial_write(&s, LCR, 0x83);
	serial_write(&s, 0, 0x01);
	serial_write(&s, 1, 0x00);
	CHECK_EQ(serial_read(&s, 0), 0x01);
	CHECK_EQ(serial_read(&s, 1), 0x00);
	serial_write(&s, LCR, 0x03);
	/* With DLAB off, offset 1 is IER again and offset 0 transmits. */
	CHECK_EQ(serial_read(&s, IER), 0);
	serial_write(&s, THR, 'A');
	CHECK_EQ(outlen, 1);
	CHECK_EQ(outbuf[0], 'A');
	CHECK_EQ(serial_read(&s, LCR), 0x03);
}

static void thre_interrupt_driven_tx(void)
{
	setup();
	serial_write(&s, MCR, 0x08);  /* OUT2 */
	serial_write(&s, IER, 0x02);  /* enabling THRE with THR empty raises it */
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x02);
	/* IIR read cleared it */
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x01);
	/* Each byte written raises THRE again: the driver's next-byte trigger. */
	serial_write(&s, THR, 'x');
	CHECK_EQ(irq_level, 1);
	serial_write(&s, THR, 'y');
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(outlen, 2);
	serial_write(&s, IER, 0x00);
	CHECK_EQ(irq_level, 0);
}

static void out2_gates_irq(void)
{
	setup();
	serial_write(&s, MCR, 0x00);
	serial_write(&s, IER, 0x02);
	CHECK_EQ(irq_level, 0);
	serial_write(&s, MCR, 0x08);
	CHECK_EQ(irq_level, 1);
}

static void rx_data_and_interrupt(void)
{
	setup();
	serial_write(&s, MCR, 0x08);
	serial_write(&s, IER, 0x01);
	CHECK_EQ(serial_input(&s, (const uint8_t *)"hi", 2), 2);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(serial_read(&s, IIR) & 0x0f, 0x04);
	CHECK_EQ(serial_read(&s, LSR) & 1, 1);
	CHECK_EQ(serial_read(&s, 0), 'h');
	CHECK_EQ(serial_read(&s, 0), 'i');
	CHECK_EQ(serial_read(&s, LSR) & 1, 0);
	CHECK_EQ(irq_level, 0);
}

static void rx_full_holds_input(void)
{
	uint8_t big[SERIAL_RX_CAP + 10];

	setup();
	memset(big, 'z', sizeof(big));
	CHECK_EQ(serial_input(&s, big, sizeof(big)), SERIAL_RX_CAP);
	CHECK_EQ(serial_rx_space(&s), 0);
	/* The rest is refused, not dropped: the caller keeps it. No overrun. */
	CHECK_EQ(serial_input(&s, big, 5), 0);
	CHECK_EQ(serial_read(&s, LSR) & 0x02, 0);
	CHECK_EQ(rx_ready_calls, 0);
	serial_read(&s, 0);
	CHECK_EQ(rx_ready_calls, 1);  /* room again: the host may feed more */
	CHECK_EQ(serial_rx_space(&s), 1);
}

static void loopback_msr_echo(void)
{
	setup();
	/* 8250 autoconfig: MCR = LOOP | OUT2 | RTS -> MSR high nibble 0x90. */
	serial_write(&s, MCR, 0x1a);
	CHECK_EQ(serial_read(&s, MSR) & 0xf0, 0x90);
	serial_write(&s, MCR, 0x1f);
	CHECK_EQ(serial_read(&s, MSR) & 0xf0, 0xf0);
	/* In loopback, transmitted bytes come back and never leave. */
	serial_write(&s, THR, 'L');
	CHECK_EQ(outlen, 0);
	CHECK_EQ(serial_read(&s, 0), 'L');
	/* Outside input waits while the line is looped back... */
	CHECK_EQ(serial_input(&s, (const uint8_t *)"q", 1), 0);
	/* ...and leaving loopback tells the host to retry. */
	serial_write(&s, MCR, 0x0b);
	CHECK_EQ(rx_ready_calls, 1);
	CHECK_EQ(serial_read(&s, MSR) & 0xb0, 0xb0);
}

static void fifo_bits_in_iir(void)
{
	setup();
	serial_write(&s, IIR, 0x07);  /* FCR: enable + clear */
	CHECK_EQ(serial_read(&s, IIR) & 0xc0, 0xc0);
	serial_write(&s, IIR, 0x00);
	CHECK_EQ(serial_read(&s, IIR) & 0xc0, 0x00);
}

/* ---- the COM1 device (serial.c) with a fake dev_env ---------------- */

static struct bus pio;
static struct vmm_config dcfg;
static int f_irq_line(struct vm *vm, unsigned gsi, int level) { return 0; }
/* What the device asked the event loop to watch (the last few). */
static struct { int fd; dev_watch_cb cb; void *opaque; } watched[8];
static unsigned nwatched;
static int f_watch(struct vm *vm, int fd, dev_watch_cb cb, void *opaque)
{
	if (nwatched < 8)
		watched[nwatched++] = (typeof(watched[0])){ fd, cb, opaque };
	return 0;
}
static int f_unwatch(struct vm *vm, int fd) { return 0; }
/* Run every watch as the event loop would when its fd is ready. */
static void run_watches(void)
{
	for (unsigned i = 0; i < nwatched; i++)
		watched[i].cb(watched[i].opaque, watched[i].fd, 0);
}
static int f_publish(struct vm *vm, const struct dev_resource *r)
{
	/* COM1's record names the port range and IRQ the UART answers on. */
	CHECK(r->kind == RES_ISA && r->port[0] == 0x3f8 && r->port_len[0] == 8 && r->irq == 4);
	return 0;
}
static const struct dev_env denv = {
	.cfg = &dcfg, .pio = &pio, .irq_line = f_irq_line, .watch = f_watch, .unwatch = f_unwatch,
	.publish = f_publish,
};

/* The guest prints n bytes through THR, byte i being 'a' + i % 26. */
static void guest_print(size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++) {
		uint8_t c = (uint8_t)('a' + i % 26);
		bus_write(&pio, 0x3f8, &c, 1);
	}
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Bytes [from, from + size) of what guest_print printed? */
static bool file_holds(const char *p, size_t from)
{
	char buf[8192];
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != 'a' + (from + (size_t)i) % 26)
			return false;
	return n >= 0;
}

/* --serial file:PATH,max=1000: the file never grows past 1000 bytes; the
 * previous 1000 go to PATH.1 (one generation), nothing is lost in between.
 * Before, the file grew without bound (2500 bytes here). */
static void file_size_cap_rotates(void)
{
	char dir[] = "/tmp/serial_test.XXXXXX", path[64], old[80];
	void *st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/con.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	memset(&pio, 0, sizeof(pio));
	dcfg = (struct vmm_config){ .serial = SERIAL_FILE, .serial_path = path, .serial_max = 1000 };
	CHECK_EQ(serial_device.create(&denv, NULL, &st), 0);
	guest_print(0, 999);
	CHECK_EQ(file_size(path), 999);
	CHECK_EQ(file_size(old), -1);
	guest_print(999, 1501);
	CHECK_EQ(file_size(path), 500);
	CHECK_EQ(file_size(old), 1000);
	CHECK(file_holds(old, 1000));
	CHECK(file_holds(path, 2000));
	guest_print(2500, 600);
	CHECK_EQ(file_size(path), 100);
	CHECK(file_holds(old, 2000));
	CHECK(file_holds(path, 3000));
	serial_device.destroy(st);
	unlink(path);
	unlink(old);

	/* Where PATH.1 cannot be made, output stops at the cap with a note. */
	CHECK_EQ(mkdir(old, 0700), 0);
	dcfg.serial_max = 100;
	memset(&pio, 0, sizeof(pio));
	CHECK_EQ(serial_device.create(&denv, NULL, &st), 0);
	guest_print(0, 300);
	serial_device.destroy(st);
	long sz = file_size(path);
	CHECK(sz > 100 && sz < 200);
	char buf[256] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 100);
	close(fd);
	CHECK(file_holds(path, 0) == false);  /* the note follows the bytes */
	CHECK(strstr(buf + 100, "serial output") != NULL);
	unlink(path);
	rmdir(old);
	rmdir(dir);
}

/* Child of console_never_blocks: stdout is a pipe nobody reads (yet). */
static int console_child(int rfd)
{
	static uint8_t buf[1 << 20];
	void *st;
	ssize_t n, got = 0;
	int bad = 0;

	alarm(60);  /* a blocking write would hang here: SIGALRM fails the test */
	memset(&pio, 0, sizeof(pio));
	nwatched = 0;
	dcfg = (struct vmm_config){ .serial = SERIAL_STDIO };
	if (serial_device.create(&denv, NULL, &st) != 0)
		return 10;
	guest_print(0, 1 << 20);  /* 1 MiB: far more than pipe and buffer hold */
	/* The reader wakes up: what the pipe held, then the event loop flushes
	 * the buffered rest, in order, without a gap. */
	fcntl(rfd, F_SETFL, O_NONBLOCK);
	for (int round = 0; round < 64; round++) {
		while ((n = read(rfd, buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
		run_watches();
	}
	for (ssize_t i = 0; i < got; i++)
		bad |= buf[i] != 'a' + i % 26;
	serial_device.destroy(st);
	if (bad)
		return 11;
	/* More than the pipe alone holds came through; less than all of it. */
	if (got <= 65536 || got >= (1 << 20))
		return 12;
	return 0;
}

/* The console must never block the vCPU printing (nor, through the UART
 * lock, the event loop): stdout is a pipe nobody reads, the guest prints
 * 1 MiB. Before, write() blocked forever once the pipe was full (the child
 * died of SIGALRM); now output beyond a bounded buffer is dropped and
 * counted, and the count is in the log. */
static void console_never_blocks(void)
{
	int out[2], errp[2], status;
	char log[4096] = "";
	ssize_t n;
	pid_t pid;

	CHECK_EQ(pipe(out), 0);
	CHECK_EQ(pipe(errp), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		close(out[1]);
		close(errp[0]);
		log_level = LOG_WARN;
		_exit(console_child(out[0]));
	}
	close(out[1]);
	close(errp[1]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	n = read(errp[0], log, sizeof(log) - 1);
	log[n > 0 ? n : 0] = 0;
	CHECK(WIFEXITED(status));
	if (WIFSIGNALED(status))
		printf("  child killed by signal %d (blocked in write?)\n", WTERMSIG(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	CHECK(strstr(log, "dropped") != NULL);
	close(out[0]);
	close(errp[0]);
}

int main(void)
{
	t_suite = "serial";
	log_level = -1;
	RUN(iir_idle_and_scratch);
	RUN(divisor_latch);
	RUN(thre_interrupt_driven_tx);
	RUN(out2_gates_irq);
	RUN(rx_data_and_interrupt);
	RUN(rx_full_holds_input);
	RUN(loopback_msr_echo);
	RUN(fifo_bits_in_iir);
	RUN(file_size_cap_rotates);
	RUN(console_never_blocks);
	return t_done();
}
