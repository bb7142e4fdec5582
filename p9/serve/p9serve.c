/* p9serve: the p9 library over a unix stream socket, for the Linux client's
 * trans=unix (net/9p/trans_fd.c) and for debugging. Not the product path:
 * the VM's server is the virtio-9p device. Each connection gets its own
 * p9 server (own fids, same grants) in its own forked process, so several
 * mounts can be up at once.
 *
 *   p9serve -s SOCKET [-m MSIZE] [-u UID:GID | -P] [-R NAME] NAME=DIR[:ro]...
 *
 * -u: P9_UID_MAPPED showing the server's files as UID:GID (default 0:0);
 * -P: P9_UID_PASSTHROUGH (root only). docs/P9.md "Ownership".
 *
 * Exit status: 2 bad arguments (one line on stderr), 1 runtime failure. */
#include "p9/p9.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define P9SERVE_MAX_SHARES 16

struct p9serve {
	const char *sock;
	struct p9_config cfg;
	struct p9_share_config shares[P9SERVE_MAX_SHARES];
	uint8_t *req, *rep;
};

static void p9serve_usage(const char *why, const char *arg)
{
	fprintf(stderr, "p9serve: %s '%s' (usage: p9serve -s SOCKET [-m MSIZE] [-u UID:GID] "
			"[-R NAME] [-P] NAME=DIR[:ro]...)\n", why, arg);
	exit(2);
}

static int p9serve_read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int p9serve_write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Serves one connection until EOF or a frame over msize. */
static void p9serve_conn(struct p9serve *ps, int fd)
{
	struct p9_server *s = p9_server_new(&ps->cfg);
	if (!s) {
		perror("p9serve: p9_server_new");
		return;
	}
	for (;;) {
		if (p9serve_read_full(fd, ps->req, 4) < 0)
			break;
		uint32_t size = (uint32_t)ps->req[0] | (uint32_t)ps->req[1] << 8 |
				(uint32_t)ps->req[2] << 16 | (uint32_t)ps->req[3] << 24;
		if (size < 7 || size > ps->cfg.msize_max) {
			fprintf(stderr, "p9serve: frame of %u bytes, closing the connection\n", size);
			break;
		}
		if (p9serve_read_full(fd, ps->req + 4, size - 4) < 0)
			break;
		long n = p9_handle(s, ps->req, size, ps->rep, ps->cfg.msize_max);
		if (n < 0 || p9serve_write_full(fd, ps->rep, (size_t)n) < 0)
			break;
	}
	p9_server_free(s);
}

static void p9serve_parse(struct p9serve *ps, int argc, char **argv)
{
	int c;
	char *end;
	ps->cfg.msize_max = 512 * 1024;
	while ((c = getopt(argc, argv, "s:m:u:R:P")) != -1) {
		switch (c) {
		case 's':
			ps->sock = optarg;
			break;
		case 'm':
			ps->cfg.msize_max = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || ps->cfg.msize_max < P9_MSIZE_MIN || ps->cfg.msize_max > (16u << 20))
				p9serve_usage("msize must be 4096..16777216, not", optarg);
			break;
		case 'u':
			if (sscanf(optarg, "%u:%u", &ps->cfg.guest_uid, &ps->cfg.guest_gid) != 2)
				p9serve_usage("want UID:GID, not", optarg);
			break;
		case 'R':
			ps->cfg.root_share = optarg;
			break;
		case 'P':
			ps->cfg.uid_policy = P9_UID_PASSTHROUGH;
			break;
		default:
			p9serve_usage("unknown option near", argv[optind - 1]);
		}
	}
	if (!ps->sock)
		p9serve_usage("missing -s SOCKET", "");
	for (int i = optind; i < argc; i++) {
		struct p9_share_config *sh = &ps->shares[ps->cfg.n_shares];
		char *eq = strchr(argv[i], '=');
		if (!eq || ps->cfg.n_shares == P9SERVE_MAX_SHARES)
			p9serve_usage("want NAME=DIR[:ro] (at most 16), not", argv[i]);
		*eq = '\0';
		char *ro = strrchr(eq + 1, ':');
		if (ro && strcmp(ro, ":ro") == 0) {
			*ro = '\0';
			sh->ro = 1;
		}
		sh->name = argv[i];
		sh->path = eq + 1;
		sh->dirfd = -1;
		ps->cfg.n_shares++;
	}
	ps->cfg.shares = ps->shares;
	/* Check the grants now, so that a bad one is a usage error naming it. */
	for (size_t i = 0; i < ps->cfg.n_shares; i++) {
		struct stat st;
		if (stat(ps->shares[i].path, &st) < 0 || !S_ISDIR(st.st_mode))
			p9serve_usage("not a directory:", ps->shares[i].path);
	}
	struct p9_server *s = p9_server_new(&ps->cfg);
	if (!s)
		p9serve_usage(strerror(errno), "(bad or duplicate NAME, or -P without root)");
	p9_server_free(s);
}

int main(int argc, char **argv)
{
	struct p9serve ps = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	p9serve_parse(&ps, argc, argv);
	if (strlen(ps.sock) >= sizeof(sa.sun_path))
		p9serve_usage("socket path too long", ps.sock);
	strcpy(sa.sun_path, ps.sock);
	ps.req = malloc(ps.cfg.msize_max);
	ps.rep = malloc(ps.cfg.msize_max);
	if (!ps.req || !ps.rep)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* connection processes reap themselves */
	/* Modes arrive with the guest's umask applied already (docs/P9.md). */
	umask(0);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(ps.sock);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0) {
		fprintf(stderr, "p9serve: %s: %s\n", ps.sock, strerror(errno));
		return 1;
	}
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("p9serve: accept");
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(ls);
			p9serve_conn(&ps, fd);
			_exit(0);
		}
		if (pid < 0)
			perror("p9serve: fork");
		close(fd);
	}
}
