/* vsh message codec (proto/vsh.h, docs/AGENTS.md "vsh"). Both peers are
 * hostile to each other: the guest may be compromised, and a host process
 * reaching the control socket is not necessarily the operator. Every length
 * is checked against VSH_MAX_PAYLOAD from the header before the body is
 * buffered, and every fixed-size payload is checked here, once. */
#include "proto/vsh.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void vsh_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t vsh_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int vsh_put(uint8_t *out, size_t cap, uint8_t type, const void *data, size_t len)
{
	if (type < VSH_OPEN || type > VSH_EXIT)
		return -EINVAL;
	if (len > VSH_MAX_PAYLOAD || cap < VSH_HDR_SIZE || len > cap - VSH_HDR_SIZE)
		return -EMSGSIZE;
	out[0] = type;
	out[1] = 0;
	vsh_put16(out + 2, (uint16_t)len);
	if (len)
		memcpy(out + VSH_HDR_SIZE, data, len);
	return (int)(VSH_HDR_SIZE + len);
}

bool vsh_signal_ok(unsigned sig)
{
	switch (sig) {
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGKILL: case SIGUSR1: case SIGUSR2:
	case SIGTERM: case SIGCONT: case SIGSTOP: case SIGTSTP: case SIGWINCH:
		return true;
	default:
		return false;
	}
}

/* The payload rules of each type for its sender: allowed, and the exact
 * size (-1: any up to VSH_MAX_PAYLOAD). */
static int vsh_check(const struct vsh_msg *m, enum vsh_dir dir)
{
	bool host = dir == VSH_FROM_HOST;

	switch (m->type) {
	case VSH_OPEN:
		return host ? 0 : -EPROTO;
	case VSH_STDIN:
		return host ? 0 : -EPROTO;
	case VSH_STDOUT:
	case VSH_STDERR:
		return host ? -EPROTO : 0;
	case VSH_EOF:
		/* The host ends stdin; the guest ends its two output streams. */
		if (m->len != 1)
			return -EPROTO;
		if (host)
			return m->data[0] == VSH_STDIN ? 0 : -EPROTO;
		return m->data[0] == VSH_STDOUT || m->data[0] == VSH_STDERR ? 0 : -EPROTO;
	case VSH_WINSIZE:
		return host && m->len == 4 ? 0 : -EPROTO;
	case VSH_SIGNAL:
		return host && m->len == 1 && vsh_signal_ok(m->data[0]) ? 0 : -EPROTO;
	case VSH_EXIT:
		return !host && m->len == 2 && m->data[0] <= 1 ? 0 : -EPROTO;
	default:
		return -EPROTO;
	}
}

int vsh_parse(const uint8_t *buf, size_t len, enum vsh_dir dir, struct vsh_msg *m)
{
	uint16_t plen;
	int rc;

	if (len < VSH_HDR_SIZE)
		return 0;
	plen = vsh_get16(buf + 2);
	if (plen > VSH_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (buf[1] != 0)
		return -EPROTO;
	if (len - VSH_HDR_SIZE < plen)
		return 0;
	m->type = buf[0];
	m->len = plen;
	m->data = buf + VSH_HDR_SIZE;
	rc = vsh_check(m, dir);
	return rc ? rc : (int)(VSH_HDR_SIZE + plen);
}

/* TERM names a terminfo entry: keep it to what such names are made of. */
static bool vsh_term_ok(const char *t, size_t n)
{
	if (n >= VSH_TERM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

int vsh_open_encode(uint8_t *out, size_t cap, uint8_t flags, uint16_t rows, uint16_t cols,
		    const char *term, unsigned argc, char *const *argv)
{
	size_t n = 6, tl = strlen(term);

	if (argc > VSH_MAX_ARGS)
		return -E2BIG;
	if (!vsh_term_ok(term, tl) || (flags & ~VSH_OPEN_PTY))
		return -EINVAL;
	if (cap > VSH_MAX_PAYLOAD)
		cap = VSH_MAX_PAYLOAD;
	if (cap < n + tl + 1)
		return -EMSGSIZE;
	out[0] = flags;
	vsh_put16(out + 1, rows);
	vsh_put16(out + 3, cols);
	out[5] = (uint8_t)argc;
	memcpy(out + n, term, tl + 1);
	n += tl + 1;
	for (unsigned i = 0; i < argc; i++) {
		size_t al = strlen(argv[i]);
		if (!al)
			return -EINVAL;
		if (cap - n < al + 1)
			return -EMSGSIZE;
		memcpy(out + n, argv[i], al + 1);
		n += al + 1;
	}
	return (int)n;
}

int vsh_open_decode(const uint8_t *p, size_t len, struct vsh_open *o)
{
	size_t off = 6, base;
	const uint8_t *nul;

	memset(o, 0, sizeof(*o));
	if (len < off || len > VSH_MAX_PAYLOAD)
		return -EPROTO;
	o->flags = p[0];
	o->rows = vsh_get16(p + 1);
	o->cols = vsh_get16(p + 3);
	o->argc = p[5];
	if ((o->flags & ~VSH_OPEN_PTY) || o->argc > VSH_MAX_ARGS)
		return -EPROTO;
	nul = memchr(p + off, 0, len - off);
	if (!nul || !vsh_term_ok((const char *)p + off, (size_t)(nul - (p + off))))
		return -EPROTO;
	memcpy(o->term, p + off, (size_t)(nul - (p + off)) + 1);
	off = (size_t)(nul - p) + 1;
	/* The arguments are copied whole into strs (len <= sizeof(strs)) and
	 * split there, so o never points into p. */
	base = off;
	memcpy(o->strs, p + base, len - base);
	for (unsigned i = 0; i < o->argc; i++) {
		nul = memchr(p + off, 0, len - off);
		if (!nul || nul == p + off)
			return -EPROTO;
		o->argv[i] = o->strs + (off - base);
		off = (size_t)(nul - p) + 1;
	}
	if (off != len)
		return -EPROTO;
	return 0;
}

void vsh_winsize_encode(uint8_t out[4], uint16_t rows, uint16_t cols)
{
	vsh_put16(out, rows);
	vsh_put16(out + 2, cols);
}

void vsh_winsize_decode(const struct vsh_msg *m, uint16_t *rows, uint16_t *cols)
{
	*rows = vsh_get16(m->data);
	*cols = vsh_get16(m->data + 2);
}

void vsh_exit_encode(uint8_t out[2], int wstatus)
{
	if (WIFSIGNALED(wstatus)) {
		out[0] = 1;
		out[1] = (uint8_t)WTERMSIG(wstatus);
	} else {
		out[0] = 0;
		out[1] = (uint8_t)WEXITSTATUS(wstatus);
	}
}

int vsh_exit_status(const struct vsh_msg *m)
{
	/* A shell reports a killed child as 128 + N; so do we. */
	return m->data[0] ? 128 + (m->data[1] & 0x7f) : m->data[1];
}

int vsh_in_fill(struct vsh_in *in, int fd)
{
	ssize_t n;

	if (in->off) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (in->len == sizeof(in->buf))
		return -ENOBUFS;
	do
		n = read(fd, in->buf + in->len, sizeof(in->buf) - in->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	in->len += (size_t)n;
	return (int)n;
}

int vsh_in_next(struct vsh_in *in, enum vsh_dir dir, struct vsh_msg *m)
{
	int n = vsh_parse(in->buf + in->off, in->len - in->off, dir, m);

	if (n <= 0)
		return n;
	in->off += (size_t)n;
	return 1;
}

size_t vsh_out_room(const struct vsh_out *o)
{
	size_t used = o->len - o->off, free_ = sizeof(o->buf) - used;

	if (free_ <= VSH_HDR_SIZE)
		return 0;
	free_ -= VSH_HDR_SIZE;
	return free_ > VSH_MAX_PAYLOAD ? VSH_MAX_PAYLOAD : free_;
}

int vsh_out_put(struct vsh_out *o, uint8_t type, const void *data, size_t len)
{
	int n;

	if (len > VSH_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (len > vsh_out_room(o))
		return -ENOBUFS;
	if (o->off) {
		memmove(o->buf, o->buf + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
	}
	n = vsh_put(o->buf + o->len, sizeof(o->buf) - o->len, type, data, len);
	if (n < 0)
		return n;
	o->len += (size_t)n;
	return 0;
}

int vsh_out_flush(struct vsh_out *o, int fd)
{
	while (o->off < o->len) {
		ssize_t n = send(fd, o->buf + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, o->buf + o->off, o->len - o->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		o->off += (size_t)n;
	}
	o->off = o->len = 0;
	return 0;
}
