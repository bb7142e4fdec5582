#include <string.h>
#include "guest-init/sys.h"

#include <errno.h>
#include <sys/reboot.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#elif defined(__aarch64__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#endif

int init_sys_outb(int port, uint8_t value)
{
#if defined(__x86_64__) || defined(__i386__)
	if (port < 0 || port > 0xffff)
		return -EINVAL;
	if (ioperm((unsigned long)port, 1, 1) < 0)
		return -errno;
	outb(value, (unsigned short)port);
	return 0;
#elif defined(__aarch64__)
	long pg = sysconf(_SC_PAGESIZE);
	volatile uint8_t *p;
	int fd, e;

	if (port < 0 || port > 0xffff || pg <= 0)
		return -EINVAL;
	/* O_SYNC: an uncached (Device) mapping, so the store leaves the CPU as
	 * one MMIO write the vmm sees (drivers/char/mem.c). */
	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	/* At power-off init has already unmounted /dev (the root is read-only
	 * by then): a devtmpfs over /dev again brings the node back. */
	if (fd < 0 && errno == ENOENT && mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0)
		fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	p = mmap(NULL, (size_t)pg, PROT_WRITE, MAP_SHARED, fd, (off_t)port & ~(off_t)(pg - 1));
	e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return -e;
	p[port & (pg - 1)] = value;
	munmap((void *)p, (size_t)pg);
	return 0;
#else
	(void)port;
	(void)value;
	return -ENOSYS;
#endif
}

int init_sys_reboot(enum init_final how)
{
	if (reboot(how == INIT_FINAL_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF) < 0)
		return -errno;
	return 0;
}

bool init_sys_path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c;) {
		const char *s = c + 1, *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			break;
		c = e;
	}
	return true;
}
