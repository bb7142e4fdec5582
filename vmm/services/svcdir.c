/* vmm's own vsock endpoints as unix sockets in a private directory
 * (svcdir.h). */
#include "vmm/services/svcdir.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/log.h"

struct svcdir_conn {
	struct svcdir_ep *ep;
	int fd;                /* -1: free slot */
	bool done;             /* serve returned: the slot can be joined */
	pthread_t thread;
};

struct svcdir_ep {
	struct svcdir *s;
	uint32_t port;
	int listen_fd;
	svcdir_serve_fn *fn;
	void *ctx;
	pthread_t thread;
	struct svcdir_conn conns[SVCDIR_MAX_CONNS];
};

struct svcdir {
	char path[96];
	int stop_fd;           /* eventfd: readable once svcdir_close starts */
	pthread_mutex_t lock;  /* conns[] of every endpoint */
	unsigned n;
	struct svcdir_ep ep[SVCDIR_MAX_ENDPOINTS];
};

int svcdir_open(struct svcdir **out)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct svcdir *s;
	int e;

	*out = NULL;
	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	/* DIR/<port> must fit in sun_path (108 bytes) with ten digits. */
	if (snprintf(s->path, sizeof(s->path), "%s/vmm-%d-XXXXXX", base, (int)getpid()) >= (int)sizeof(s->path)) {
		log_err("runtime directory under %s: path too long", base);
		free(s);
		return -ENAMETOOLONG;
	}
	/* mkdtemp makes it 0700: only our uid reaches the endpoints. */
	if (!mkdtemp(s->path)) {
		e = -errno;
		log_err("runtime directory %s: %s", s->path, strerror(-e));
		free(s);
		return e;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		e = -errno;
		rmdir(s->path);
		free(s);
		return e;
	}
	*out = s;
	return 0;
}

const char *svcdir_path(const struct svcdir *s)
{
	return s->path;
}

static void *svcdir_conn_thread(void *arg)
{
	struct svcdir_conn *c = arg;
	struct svcdir *s = c->ep->s;

	c->ep->fn(c->ep->ctx, c->fd);
	pthread_mutex_lock(&s->lock);
	close(c->fd);
	c->fd = -1;
	c->done = true;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Join the threads of connections that ended; called with the lock held. */
static void svcdir_reap(struct svcdir_ep *ep)
{
	for (unsigned i = 0; i < SVCDIR_MAX_CONNS; i++)
		if (ep->conns[i].done) {
			pthread_join(ep->conns[i].thread, NULL);
			ep->conns[i].done = false;
		}
}

static void *svcdir_accept_thread(void *arg)
{
	struct svcdir_ep *ep = arg;
	struct svcdir *s = ep->s;

	for (;;) {
		struct pollfd p[2] = { { .fd = ep->listen_fd, .events = POLLIN }, { .fd = s->stop_fd, .events = POLLIN } };
		struct svcdir_conn *c = NULL;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("endpoint %u: poll: %s", ep->port, strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		fd = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		svcdir_reap(ep);
		for (unsigned i = 0; i < SVCDIR_MAX_CONNS && !c; i++)
			if (ep->conns[i].fd < 0 && !ep->conns[i].done)
				c = &ep->conns[i];
		if (c) {
			c->fd = fd;
			if (pthread_create(&c->thread, NULL, svcdir_conn_thread, c)) {
				c->fd = -1;
				c = NULL;
			}
		}
		pthread_mutex_unlock(&s->lock);
		if (!c) {
			/* A guest opening more connections than an agent needs
			 * gets the extra ones closed, not queued. */
			log_guest("endpoint %u: more than %d connections, closing one", ep->port, SVCDIR_MAX_CONNS);
			close(fd);
		}
	}
}

int svcdir_listen(struct svcdir *s, uint32_t port, svcdir_serve_fn *fn, void *ctx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct svcdir_ep *ep;
	int e;

	if (s->n >= SVCDIR_MAX_ENDPOINTS)
		return -ENOSPC;
	ep = &s->ep[s->n];
	memset(ep, 0, sizeof(*ep));
	ep->s = s;
	ep->port = port;
	ep->fn = fn;
	ep->ctx = ctx;
	for (unsigned i = 0; i < SVCDIR_MAX_CONNS; i++)
		ep->conns[i] = (struct svcdir_conn){ .ep = ep, .fd = -1 };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%u", s->path, port);
	ep->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ep->listen_fd < 0)
		return -errno;
	if (bind(ep->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ep->listen_fd, 16) < 0) {
		e = -errno;
		log_err("endpoint %s: %s", sa.sun_path, strerror(-e));
		close(ep->listen_fd);
		return e;
	}
	e = pthread_create(&ep->thread, NULL, svcdir_accept_thread, ep);
	if (e) {
		close(ep->listen_fd);
		unlink(sa.sun_path);
		return -e;
	}
	s->n++;
	return 0;
}

void svcdir_close(struct svcdir *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		log_warn("endpoints: stop: %s", strerror(errno));
	for (unsigned i = 0; i < s->n; i++)
		pthread_join(s->ep[i].thread, NULL);
	/* Serve functions return on EOF: shut every live connection down. */
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		for (unsigned k = 0; k < SVCDIR_MAX_CONNS; k++)
			if (s->ep[i].conns[k].fd >= 0)
				shutdown(s->ep[i].conns[k].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		struct svcdir_ep *ep = &s->ep[i];
		char p[128];

		for (unsigned k = 0; k < SVCDIR_MAX_CONNS; k++) {
			bool live;
			pthread_mutex_lock(&s->lock);
			live = ep->conns[k].fd >= 0 || ep->conns[k].done;
			pthread_mutex_unlock(&s->lock);
			if (live)
				pthread_join(ep->conns[k].thread, NULL);
		}
		close(ep->listen_fd);
		snprintf(p, sizeof(p), "%s/%u", s->path, ep->port);
		unlink(p);
	}
	if (rmdir(s->path) < 0)
		log_warn("runtime directory %s: %s", s->path, strerror(errno));
	close(s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
