/* portw PORT VALUE: one 8-bit OUT to an x86 I/O port from a guest's user
 * space (ioperm, then outb). Test guests use it for vmm's exit port (0x510,
 * value = vmm's exit status) and boot-time port (0x3f0, value 123); see
 * docs/DEVELOPING.md "Fixed interfaces". Exit 0 if the write was made (for the
 * exit port the VM normally ends before this returns), 2 on bad arguments,
 * 1 if the port cannot be opened. On arm64, where vmm's port space is the
 * first 64 KiB of the physical address space (docs/ARM64.md), the write is
 * a byte store to that address through /dev/mem. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>
#else
#include <sys/io.h>
#endif

static int parse(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return (errno || *end || end == s || *out > max) ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long port, val;

	if (argc != 3) {
		fprintf(stderr, "usage: portw PORT VALUE\n");
		return 2;
	}
	if (parse(argv[1], 0xffff, &port) < 0) {
		fprintf(stderr, "portw: port '%s': not a number in 0..0xffff\n", argv[1]);
		return 2;
	}
	if (parse(argv[2], 0xff, &val) < 0) {
		fprintf(stderr, "portw: value '%s': not a number in 0..255\n", argv[2]);
		return 2;
	}
#if defined(__aarch64__)
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	volatile unsigned char *p;

	/* A test guest's initramfs may have no devtmpfs on /dev. */
	if (fd < 0 && errno == ENOENT && mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0)
		fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);

	if (fd < 0 || pg <= 0) {
		fprintf(stderr, "portw: /dev/mem: %s (guest kernel built without CONFIG_DEVMEM?)\n", strerror(errno));
		return 1;
	}
	p = mmap(NULL, (size_t)pg, PROT_WRITE, MAP_SHARED, fd, (off_t)(port & ~(unsigned long)(pg - 1)));
	if (p == MAP_FAILED) {
		fprintf(stderr, "portw: mmap of /dev/mem at 0x%lx: %s\n", port, strerror(errno));
		return 1;
	}
	p[port & (unsigned long)(pg - 1)] = (unsigned char)val;
	return 0;
#else
	if (ioperm(port, 1, 1) < 0) {
		fprintf(stderr, "portw: ioperm 0x%lx: %s%s\n", port, strerror(errno),
			errno == ENOSYS ? " (guest kernel built without CONFIG_X86_IOPL_IOPERM)" : "");
		return 1;
	}
	outb((unsigned char)val, (unsigned short)port);
	return 0;
#endif
}
