/* guest-agents/common: command line, endpoints, connecting, backoff and the
 * privilege drop shared by every agent (agent.h). */
#include "guest-agents/common/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "jail/jail.h"

uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

ssize_t agent_cmdline_read(const char *path, char *buf, size_t n)
{
	size_t len = 0;
	int fd;

	if (n == 0)
		return -EINVAL;
	fd = open(path ? path : "/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < n - 1) {
		ssize_t r = read(fd, buf + len, n - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

int agent_cmdline_get(const char *cmdline, const char *key, char *val, size_t n)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	int found = 0;

	if (n)
		val[0] = 0;
	while (*p) {
		char word[AGENT_CMDLINE_MAX];
		size_t w = 0;
		int quoted = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		/* Tokenised like the kernel's next_arg(): double quotes group
		 * blanks and are dropped. */
		for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (w < sizeof(word) - 1)
				word[w++] = *p;
		}
		word[w] = 0;
		if (!strcmp(word, "--"))
			break;
		if (w > klen && !strncmp(word, key, klen) && word[klen] == '=') {
			size_t vlen = w - klen - 1;
			if (vlen >= n) {
				if (n)
					val[0] = 0;
				found = -E2BIG;
				continue;
			}
			memcpy(val, word + klen + 1, vlen + 1);
			found = 1;
		}
	}
	return found;
}

int agent_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 0:
		break;
	case 'k': case 'K':
		mul = 1ull << 10;
		p++;
		break;
	case 'm': case 'M':
		mul = 1ull << 20;
		p++;
		break;
	case 'g': case 'G':
		mul = 1ull << 30;
		p++;
		break;
	default:
		return -EINVAL;
	}
	if (*p || (v && mul > UINT64_MAX / v))
		return -EINVAL;
	v *= mul;
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int agent_endpoint_get(const char *cmdline, const char *name, struct agent_endpoint *ep)
{
	const char *unix_path = getenv("AGENT_UNIX");
	char key[64], val[16];
	uint64_t port;
	int r;

	memset(ep, 0, sizeof(*ep));
	if (unix_path && *unix_path) {
		if (strlen(unix_path) >= sizeof(ep->unix_path))
			return -ENAMETOOLONG;
		strcpy(ep->unix_path, unix_path);
		return 0;
	}
	snprintf(key, sizeof(key), "appvm.%s", name);
	r = agent_cmdline_get(cmdline, key, val, sizeof(val));
	if (r == 0)
		return -ENOENT;
	/* Ports 1..0xfffffffe: -1U is VMADDR_PORT_ANY. */
	if (r < 0 || agent_parse_size(val, 1, 0xfffffffeull, &port) || strspn(val, "0123456789") != strlen(val))
		return -EINVAL;
	ep->cid = AGENT_HOST_CID;
	ep->port = (uint32_t)port;
	return 0;
}

int agent_connect(const struct agent_endpoint *ep, int timeout_ms)
{
	struct sockaddr_vm vm = { .svm_family = AF_VSOCK };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct pollfd pfd = { .events = POLLOUT };
	const struct sockaddr *sa;
	socklen_t salen;
	int fd, err = 0, r;
	socklen_t elen = sizeof(err);

	if (ep->unix_path[0]) {
		memcpy(un.sun_path, ep->unix_path, sizeof(ep->unix_path));
		sa = (const struct sockaddr *)&un;
		salen = sizeof(un);
	} else {
		vm.svm_cid = ep->cid;
		vm.svm_port = ep->port;
		sa = (const struct sockaddr *)&vm;
		salen = sizeof(vm);
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, salen) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			err = -errno;
			goto fail;
		}
		pfd.fd = fd;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			err = r == 0 ? -ETIMEDOUT : -errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
			err = -errno;
			goto fail;
		}
		if (err) {
			err = -err;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		err = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

void agent_backoff_init(struct agent_backoff *b, unsigned min_ms, unsigned max_ms)
{
	b->min_ms = min_ms ? min_ms : 1;
	b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
	b->cur_ms = b->min_ms;
}

unsigned agent_backoff_next(struct agent_backoff *b)
{
	unsigned d = b->cur_ms;

	b->cur_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	return d;
}

void agent_backoff_reset(struct agent_backoff *b)
{
	b->cur_ms = b->min_ms;
}

int agent_root_is_rootfs(const char *mountinfo)
{
	char buf[256];
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	int r = 0;

	if (!f)
		return -errno;
	/* proc(5) mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] -
	 * FSTYPE SOURCE SUPEROPTS". The last line whose mount point is "/" is
	 * the one on top. */
	while (fgets(buf, sizeof(buf), f)) {
		const char *p = buf, *dash;
		/* Field 5 is the mount point (no sscanf: it would pull musl's
		 * float scanner into every agent). */
		for (int field = 0; field < 4 && p; field++) {
			p = strchr(p, ' ');
			p = p ? p + 1 : NULL;
		}
		if (!p || strncmp(p, "/ ", 2))
			continue;
		/* The optional fields end at a lone "-" (no strstr: its
		 * two-way search would grow every agent by a kilobyte). */
		for (dash = p; *dash && strncmp(dash, " - ", 3); dash++)
			;
		r = *dash && !strncmp(dash + 3, "rootfs ", 7);
	}
	fclose(f);
	return r;
}

int agent_jail(uid_t uid, gid_t gid, const int *keep, size_t nkeep, const char *mountinfo)
{
	struct jail *j = jail_new();
	int pivot = agent_root_is_rootfs(mountinfo) == 0;

	if (!j) {
		fprintf(stderr, "jail: out of memory\n");
		abort();
	}
	/* A failing setter leaves a weaker jail than asked: abort like
	 * jail_enter does. */
	if ((pivot && jail_root_tmpfs(j) < 0) || jail_change_gid(j, gid) < 0 || jail_change_uid(j, uid) < 0 ||
	    jail_keep_fd(j, STDERR_FILENO) < 0) {
		fprintf(stderr, "jail: setup failed\n");
		abort();
	}
	for (size_t i = 0; i < nkeep; i++)
		if (jail_keep_fd(j, keep[i]) < 0) {
			fprintf(stderr, "jail: keep fd %d failed\n", keep[i]);
			abort();
		}
	jail_enter(j);
	jail_destroy(j);
	return pivot;
}
