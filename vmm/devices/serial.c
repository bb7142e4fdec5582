/* COM1: a 16550A on port 0x3f8, IRQ 4, connected to stdin/stdout, a file or
 * nothing (--serial). A file is capped (file:PATH,max=SIZE): at SIZE bytes
 * it becomes PATH.1 and a fresh PATH starts, so at most twice SIZE is on
 * disk whatever the guest prints.
 *
 * Output never blocks: the UART transmits on a vCPU thread under its lock,
 * which the event loop also takes, so a stdout pipe nobody reads must not
 * stall either. A pipe, terminal or socket is written non-blocking (our own
 * file description, so the shell's stdout keeps its flags); what it does
 * not take waits in a SERIAL_OUT_CAP ring flushed when the fd is writable
 * again (EPOLLOUT, through a private epoll set the event loop watches);
 * beyond that, output is dropped and counted (log, SIGUSR2 dump). Regular
 * files are written directly.
 *
 * Input that does not fit the UART's receive buffer is held here and stdin
 * is not read until the guest drains the UART, so nothing typed is ever
 * dropped while the guest is slow. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/devices/serial.h"
#include "vmm/log.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ  4
#define SERIAL_PEND_CAP 1024
#define SERIAL_OUT_CAP (256u << 10)
#define CTRL_A 0x01

struct serial_dev {
	struct serial uart;
	const struct dev_env *env;
	int in_fd;          /* -1: no input */
	int out_fd;         /* -1: output discarded */
	int own_out;        /* out_fd opened by us */
	int wake_fd;        /* eventfd: UART has room again */
	int in_watched;
	int in_tty;         /* Ctrl-A escapes only on a terminal */
	int esc;            /* previous byte was Ctrl-A */
	int out_broken;
	const char *out_path;  /* --serial file: */
	uint64_t out_max;      /* 0: no cap */
	uint64_t out_written;  /* bytes in the current out_path */
	/* Non-blocking output (out_ep >= 0): the ring and the counters are
	 * guarded by out_lock, taken under the UART lock on vCPU threads and
	 * alone on the event loop. */
	pthread_mutex_t out_lock;
	int out_ep;            /* epoll set holding out_fd while out_armed; -1: direct writes */
	int out_armed;
	int out_sock;          /* out_fd is a socket: send(MSG_DONTWAIT) */
	uint8_t *ring;
	size_t ring_head, ring_len;
	uint64_t out_dropped;
	uint8_t pend[SERIAL_PEND_CAP];
	size_t pend_len;
};

static void serial_dev_irq(void *ctx, int level)
{
	struct serial_dev *d = ctx;
	d->env->irq_line(d->env->vm, COM1_IRQ, level);
}

/* Write all of buf to out_fd. -1 when output is broken from now on. */
static int serial_dev_write(struct serial_dev *d, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(d->out_fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The reader went away: keep the guest running, drop output. */
			log_warn("serial: output write failed: %s; discarding further output", strerror(errno));
			d->out_broken = 1;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The file reached its cap: PATH becomes PATH.1 (replacing the one
 * before) and output goes on in a fresh PATH. Where that fails, a note
 * ends the file and further output is dropped. */
static int serial_dev_rotate(struct serial_dev *d)
{
	static const char note[] = "\n[vmm: serial output stopped here: size cap reached]\n";
	char old[4096];
	int fd, e;

	if (snprintf(old, sizeof(old), "%s.1", d->out_path) >= (int)sizeof(old)) {
		e = ENAMETOOLONG;
		goto fail;
	}
	if (rename(d->out_path, old) < 0) {
		e = errno;
		goto fail;
	}
	fd = open(d->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	close(d->out_fd);
	d->out_fd = fd;
	d->out_written = 0;
	return 0;
fail:
	log_warn("serial: %s reached %llu bytes and cannot move to %s.1: %s; dropping further output",
		 d->out_path, (unsigned long long)d->out_max, d->out_path, strerror(e));
	serial_dev_write(d, (const uint8_t *)note, sizeof(note) - 1);
	d->out_broken = 1;
	return -1;
}

/* One non-blocking write: the bytes taken (0 when the fd is full), or -1
 * when output is broken from now on. */
static ssize_t serial_dev_try(struct serial_dev *d, const uint8_t *buf, size_t len)
{
	for (;;) {
		ssize_t n = d->out_sock ? send(d->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)
					: write(d->out_fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_warn("serial: output write failed: %s; discarding further output", strerror(errno));
		d->out_broken = 1;
		return -1;
	}
}

/* Watch out_fd for EPOLLOUT while bytes wait, and only then (a closed
 * reader would otherwise wake the loop for nothing). out_lock held. */
static void serial_dev_arm(struct serial_dev *d, int on)
{
	struct epoll_event ev = { .events = EPOLLOUT };

	if (on == d->out_armed)
		return;
	if (epoll_ctl(d->out_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, d->out_fd, &ev) == 0 || !on)
		d->out_armed = on;
}

/* Queue what the fd did not take; past SERIAL_OUT_CAP, drop and count. */
static void serial_dev_queue(struct serial_dev *d, const uint8_t *buf, size_t len)
{
	size_t take = SERIAL_OUT_CAP - d->ring_len;

	if (take > len)
		take = len;
	for (size_t i = 0; i < take; i++)
		d->ring[(d->ring_head + d->ring_len + i) % SERIAL_OUT_CAP] = buf[i];
	d->ring_len += take;
	if (take < len) {
		d->out_dropped += len - take;
		log_guest("serial: console output is not being read; %llu bytes dropped so far",
			  (unsigned long long)d->out_dropped);
	}
	serial_dev_arm(d, 1);
}

/* Write out the ring as far as the fd takes it. out_lock held. */
static void serial_dev_drain(struct serial_dev *d)
{
	while (d->ring_len && !d->out_broken) {
		size_t chunk = SERIAL_OUT_CAP - d->ring_head;
		ssize_t n;

		if (chunk > d->ring_len)
			chunk = d->ring_len;
		n = serial_dev_try(d, d->ring + d->ring_head, chunk);
		if (n <= 0)
			break;
		d->ring_head = (d->ring_head + (size_t)n) % SERIAL_OUT_CAP;
		d->ring_len -= (size_t)n;
	}
	if (d->out_broken)
		d->ring_len = 0;
	if (!d->ring_len)
		serial_dev_arm(d, 0);
}

/* Event loop: out_fd became writable (or failed). */
static void serial_dev_out_ready(void *opaque, int fd, uint32_t events)
{
	struct serial_dev *d = opaque;

	pthread_mutex_lock(&d->out_lock);
	serial_dev_drain(d);
	pthread_mutex_unlock(&d->out_lock);
}

static void serial_dev_out(void *ctx, const uint8_t *buf, size_t len)
{
	struct serial_dev *d = ctx;

	if (d->out_ep >= 0) {
		pthread_mutex_lock(&d->out_lock);
		if (!d->ring_len && !d->out_broken) {
			/* Nothing waiting: straight out, keeping the order. */
			ssize_t n = serial_dev_try(d, buf, len);
			buf += n > 0 ? n : 0;
			len -= n > 0 ? (size_t)n : 0;
		}
		if (len && !d->out_broken)
			serial_dev_queue(d, buf, len);
		pthread_mutex_unlock(&d->out_lock);
		return;
	}
	while (len && d->out_fd >= 0 && !d->out_broken) {
		size_t n = len;

		if (d->out_max) {
			if (d->out_written >= d->out_max && serial_dev_rotate(d) < 0)
				return;
			if (n > d->out_max - d->out_written)
				n = (size_t)(d->out_max - d->out_written);
		}
		if (serial_dev_write(d, buf, n) < 0)
			return;
		d->out_written += n;
		buf += n;
		len -= n;
	}
}

static void serial_dev_rx_ready(void *ctx)
{
	struct serial_dev *d = ctx;
	uint64_t one = 1;
	/* Called under the UART lock on a vCPU thread: just wake the loop. */
	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		return;
}

static void serial_dev_stdin(void *opaque, int fd, uint32_t events);

static void serial_dev_flush(struct serial_dev *d)
{
	size_t n = serial_input(&d->uart, d->pend, d->pend_len);

	memmove(d->pend, d->pend + n, d->pend_len - n);
	d->pend_len -= n;
	if (d->in_fd >= 0) {
		if (d->pend_len >= SERIAL_PEND_CAP - 1 && d->in_watched) {
			d->env->unwatch(d->env->vm, d->in_fd);
			d->in_watched = 0;
		} else if (d->pend_len < SERIAL_PEND_CAP - 1 && !d->in_watched) {
			if (d->env->watch(d->env->vm, d->in_fd, serial_dev_stdin, d) == 0)
				d->in_watched = 1;
		}
	}
}

static void serial_dev_stdin(void *opaque, int fd, uint32_t events)
{
	struct serial_dev *d = opaque;
	uint8_t buf[SERIAL_PEND_CAP];
	size_t room = SERIAL_PEND_CAP - d->pend_len;
	ssize_t n;

	/* A Ctrl-A held from the previous read may add one byte. */
	if (room < 2)
		return;
	n = read(fd, buf, room - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF or error: no more input (e.g. stdin is /dev/null). */
		d->env->unwatch(d->env->vm, fd);
		d->in_watched = 0;
		d->in_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t c = buf[i];
		if (d->in_tty && d->esc) {
			d->esc = 0;
			if (c == 'x' || c == 'X') {
				d->env->request_exit(d->env->vm, VM_EXIT_SIGNAL, 0);
				return;
			}
			if (c != CTRL_A)
				d->pend[d->pend_len++] = CTRL_A;
		} else if (d->in_tty && c == CTRL_A) {
			d->esc = 1;
			continue;
		}
		d->pend[d->pend_len++] = c;
	}
	serial_dev_flush(d);
}

static void serial_dev_wake(void *opaque, int fd, uint32_t events)
{
	struct serial_dev *d = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	serial_dev_flush(d);
}

static void serial_dev_pio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial_dev *d = opaque;
	/* Byte registers; wider accesses read the register at off in each byte. */
	for (uint32_t i = 0; i < len; i++)
		data[i] = i == 0 ? serial_read(&d->uart, (unsigned)off) : 0xff;
}

static void serial_dev_pio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial_dev *d = opaque;
	if (len >= 1)
		serial_write(&d->uart, (unsigned)off, data[0]);
}

static const struct bus_ops serial_bus_ops = {
	.read = serial_dev_pio_read,
	.write = serial_dev_pio_write,
};

static void serial_dev_destroy(void *state)
{
	struct serial_dev *d = state;

	if (!d)
		return;
	if (d->out_ep >= 0) {
		serial_dev_drain(d);  /* a last try, never waiting */
		if (d->ring_len)
			d->out_dropped += d->ring_len;
		if (d->out_dropped)
			log_warn("serial: %llu bytes of console output dropped (stdout not read)",
				 (unsigned long long)d->out_dropped);
		close(d->out_ep);
	}
	free(d->ring);
	pthread_mutex_destroy(&d->out_lock);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	if (d->own_out && d->out_fd >= 0)
		close(d->out_fd);
	serial_destroy(&d->uart);
	free(d);
}

/* Set up non-blocking output unless out_fd is a regular file or block
 * device (those never wait on a reader). For stdout, a file description of
 * our own, so O_NONBLOCK does not leak to the shell sharing it. */
static int serial_dev_out_setup(struct serial_dev *d, int own)
{
	struct stat st;
	int fd, fl;

	if (fstat(d->out_fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return 0;
	if (S_ISSOCK(st.st_mode)) {
		d->out_sock = 1;  /* /proc/self/fd cannot reopen a socket */
	} else if (!own) {
		char p[32];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", d->out_fd);
		fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		d->out_fd = fd;
		d->own_out = 1;
	} else if ((fl = fcntl(d->out_fd, F_GETFL)) < 0 || fcntl(d->out_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		return -errno;
	}
	d->ring = malloc(SERIAL_OUT_CAP);
	d->out_ep = epoll_create1(EPOLL_CLOEXEC);
	if (!d->ring || d->out_ep < 0)
		return d->ring ? -errno : -ENOMEM;
	return d->env->watch(d->env->vm, d->out_ep, serial_dev_out_ready, d);
}

static void serial_dev_dump(void *state)
{
	struct serial_dev *d = state;

	pthread_mutex_lock(&d->out_lock);
	log_state("serial: output %s, %zu bytes waiting, %llu dropped%s",
		  d->out_ep >= 0 ? "non-blocking" : "direct", d->ring_len,
		  (unsigned long long)d->out_dropped, d->out_broken ? ", broken" : "");
	pthread_mutex_unlock(&d->out_lock);
}

static int serial_dev_create(const struct dev_env *env, const void *opts, void **state)
{
	const struct vmm_config *cfg = env->cfg;
	struct serial_dev *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->env = env;
	d->in_fd = -1;
	d->out_fd = -1;
	d->wake_fd = -1;
	d->out_ep = -1;
	pthread_mutex_init(&d->out_lock, NULL);
	serial_init(&d->uart, serial_dev_irq, serial_dev_out, serial_dev_rx_ready, d);
	switch (cfg->serial) {
	case SERIAL_STDIO:
		d->in_fd = STDIN_FILENO;
		d->out_fd = STDOUT_FILENO;
		d->in_tty = isatty(STDIN_FILENO);
		break;
	case SERIAL_FILE:
		d->out_fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (d->out_fd < 0) {
			rc = dev_input_error(-errno);  /* the user's file */
			log_err("--serial file:%s: cannot open: %s", cfg->serial_path, strerror(errno));
			serial_dev_destroy(d);
			return rc;
		}
		d->own_out = 1;
		d->out_path = cfg->serial_path;
		d->out_max = cfg->serial_max;
		break;
	case SERIAL_NONE:
		break;
	}
	if (d->out_fd >= 0 && (rc = serial_dev_out_setup(d, d->own_out)) < 0) {
		log_err("serial: setting up console output: %s", strerror(-rc));
		serial_dev_destroy(d);
		return rc;
	}
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0) {
		rc = -errno;
		serial_dev_destroy(d);
		return rc;
	}
	/* A 16550A (PnP PNP0501): the DSDT entry through which ACPI kernels
	 * wire its IRQ (hardware-reduced ACPI has no legacy IRQ map). */
	rc = env->publish(env->vm, &(struct dev_resource){
		.kind = RES_ISA, .name = "COM1", .pnp = RES_PNP(0x05, 0x01), .nports = 1,
		.port = { COM1_PORT }, .port_len = { 8 }, .irq = COM1_IRQ, .reset_port = -1 });
	if (rc == 0)
		rc = bus_add(env->pio, COM1_PORT, 8, &serial_bus_ops, d);
	if (rc == 0)
		rc = env->watch(env->vm, d->wake_fd, serial_dev_wake, d);
	if (rc == 0 && d->in_fd >= 0) {
		rc = env->watch(env->vm, d->in_fd, serial_dev_stdin, d);
		if (rc == -EPERM) {
			/* stdin is a regular file or /dev/null: epoll refuses it;
			 * such input is not interactive, so give the guest none. */
			d->in_fd = -1;
			rc = 0;
		} else if (rc == 0) {
			d->in_watched = 1;
		}
	}
	if (rc) {
		serial_dev_destroy(d);
		return rc;
	}
	*state = d;
	return 0;
}

const struct device_ops serial_device = {
	.name = "serial",
	.create = serial_dev_create,
	.destroy = serial_dev_destroy,
	.dump = serial_dev_dump,
};
