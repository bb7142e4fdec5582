#include "vmm/virtio_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/virtio_mmio.h"

/* Instances of one device type at most (26 disks name vda..vdz). */
#define VH_MAX_INSTANCES 26
/* Worker epoll tags: queue indexes below VIRTIO_MAX_QUEUES, then these. */
#define VH_TAG_POLL 0x100u
#define VH_TAG_STOP 0x101u
#define VH_TAG_MSG 0x102u  /* the device process's end of proc.sock */
/* fds below this are looked at to find what a device's open() acquired. */
#define VH_FD_SCAN 1024
/* A request to a device process (activate, reset) waits this long for the
 * answer, over at most VH_CALL_TRIES receives (EINTR from a vCPU kick
 * counts): a device process that does not answer stalls one vCPU at most
 * this long, then counts as failed (NEEDS_RESET). */
#define VH_CALL_TIMEOUT_MS 5000
#define VH_CALL_TRIES 8
/* At teardown, how long a device process may take to leave after its
 * socket closed before it is killed. */
#define VH_STOP_MS 1000

/* The messages on proc.sock (vmm/virtio_host.h: the message layer). */
enum vh_msg_type {
	VH_MSG_ACTIVATE = 1,  /* features, nq, q[]: answered with activate's result */
	VH_MSG_RESET = 2,     /* answered once the device stopped using its queues */
	VH_MSG_DUMP = 3,      /* log the device's state; no answer */
	VH_MSG_CONTROL = 4,   /* len, data[len], at most one SCM_RIGHTS fd:
			       * answered with control()'s result */
};

struct vh_msg {
	uint32_t type;
	uint32_t seq;
	uint64_t features;
	uint32_t nq;
	uint32_t len;         /* VH_MSG_CONTROL: bytes of data used */
	struct virtq_config q[VIRTIO_MAX_QUEUES];
	uint8_t data[VIRTIO_CONTROL_MAX];
};

struct vh_reply {
	uint32_t type;
	uint32_t seq;
	int32_t result;
};

struct virtio_host {
	const struct virtio_device *vd;
	const struct dev_env *env;
	void *dev;
	struct virtio_dev_info info;
	/* MAP_SHARED, made before the fork: InterruptStatus, needs_reset and
	 * requeue are seen live by the transport (vmm) and the device (its
	 * process or worker thread). */
	struct virtio_signal *sig;
	struct virtio_mmio *t;
	/* Serialises the serve ops: the worker's queue_notify/poll against
	 * activate/reset from vCPU threads. Taken after the transport lock,
	 * never the other way round. Jailed, in vmm: one request to the
	 * device process at a time. */
	pthread_mutex_t lock;
	uint32_t live;                      /* queues activate started; under lock */
	int notify_fd[VIRTIO_MAX_QUEUES];
	int ep, stop_fd;
	pthread_t thread;
	bool started;
	/* Jailed (the default): the serve ops run in proc, a sandbox_spawn
	 * child, instead of the worker thread. */
	bool jailed, watched;
	struct sandbox_proc proc;
	uint32_t seq;                       /* of the last request; under lock */
	int sock;                           /* in the device process: its end */
	int dev_fd[SANDBOX_MAX_FDS];        /* what open() acquired, kept there */
	unsigned ndev_fd;
};

struct virtio_host_set {
	unsigned n;
	struct virtio_host *h[VH_MAX_INSTANCES];
};

/* The serve ops' side of activate and reset: in the worker's process
 * (--disable-sandbox) or the device process (jailed). */
static int vh_dev_activate(struct virtio_host *h, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	int r;

	pthread_mutex_lock(&h->lock);
	h->live = 0;
	r = h->vd->activate(h->dev, features, q, nq);
	for (unsigned i = 0; r == 0 && i < nq && i < 32; i++)
		if (q[i].ready)
			h->live |= 1u << i;
	pthread_mutex_unlock(&h->lock);
	return r;
}

static void vh_dev_reset(struct virtio_host *h)
{
	pthread_mutex_lock(&h->lock);
	h->live = 0;
	h->vd->reset(h->dev);
	pthread_mutex_unlock(&h->lock);
}

static void vh_dev_dump(struct virtio_host *h)
{
	/* A worker stuck in the device holds the lock: say so rather than
	 * hang the event loop behind it. */
	if (pthread_mutex_trylock(&h->lock)) {
		log_state("%s: busy: its worker is inside the device (live queues %#x)", h->info.name,
			  __atomic_load_n(&h->live, __ATOMIC_RELAXED));
		return;
	}
	if (h->vd->dump)
		h->vd->dump(h->dev);
	pthread_mutex_unlock(&h->lock);
}

/* The control op, in the worker's process (--disable-sandbox) or the
 * device process (jailed). */
static int vh_dev_control(struct virtio_host *h, const void *msg, size_t len, int fd)
{
	int r;

	if (len > VIRTIO_CONTROL_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&h->lock);
	r = h->vd->control ? h->vd->control(h->dev, msg, len, fd) : -ENODEV;
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* fd >= 0 goes along as one SCM_RIGHTS fd (the control op's). */
static int vh_send(int sock, const void *buf, size_t len, int flags, int fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}

	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

/* One datagram of exactly len bytes (SEQPACKET keeps the bounds; a longer
 * or shorter one is -EPROTO, never partly used). -EAGAIN/-EINTR as
 * recvmsg, -ESHUTDOWN at end of file. With fdp, at most one SCM_RIGHTS fd
 * is taken (close-on-exec) into *fdp, else -1; an fd that came without
 * fdp, or any more than one, is closed and the datagram is -EPROTO. */
static int vh_recv(int sock, void *buf, size_t len, int flags, int *fdp)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (fdp)
		*fdp = -1;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int f;
			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (fd < 0 && fdp)
				fd = f;
			else
				close(f);
		}
	}
	if (n == 0 || (size_t)n != len || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		return n == 0 ? -ESHUTDOWN : -EPROTO;
	}
	if (fdp)
		*fdp = fd;
	return 0;
}

/* vmm -> device process: send m and wait for its answer. The answer is
 * hostile input: only a datagram of exactly the reply's size, with this
 * request's type and sequence number, counts; a stale answer (to a request
 * that timed out) is skipped. Called on a vCPU thread (the transport lock
 * held) or the main thread. */
static int vh_call(struct virtio_host *h, struct vh_msg *m, int fd)
{
	struct vh_reply rep;
	int r;

	pthread_mutex_lock(&h->lock);
	m->seq = ++h->seq;
	r = vh_send(h->proc.sock, m, sizeof(*m), 0, fd);
	for (unsigned i = 0; r == 0 && i < VH_CALL_TRIES; i++) {
		r = vh_recv(h->proc.sock, &rep, sizeof(rep), 0, NULL);
		if (r == -EINTR || (r == 0 && rep.seq != m->seq)) {
			r = 0;
			continue;
		}
		if (r == 0)
			r = rep.type == m->type ? 1 : -EPROTO;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	if (r <= 0) {
		log_err("%s: device process (pid %d) did not answer request %u: %s", h->info.name,
			(int)h->proc.pid, m->type, r ? strerror(-r) : "no answer");
		return r ? r : -ETIMEDOUT;
	}
	/* The device's -errno, bounded: the answer is hostile input. */
	return rep.result >= 0 ? 0 : rep.result >= -4095 ? rep.result : -EINVAL;
}

/* The transport's calls (vCPU threads, transport lock held). */
static int vh_activate(void *opaque, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct virtio_host *h = opaque;
	struct vh_msg m = { .type = VH_MSG_ACTIVATE, .features = features };

	if (!h->jailed)
		return vh_dev_activate(h, features, q, nq);
	m.nq = nq < VIRTIO_MAX_QUEUES ? nq : VIRTIO_MAX_QUEUES;
	memcpy(m.q, q, m.nq * sizeof(*q));
	return vh_call(h, &m, -1);
}

static void vh_reset(void *opaque)
{
	struct virtio_host *h = opaque;
	struct vh_msg m = { .type = VH_MSG_RESET };

	if (!h->jailed)
		vh_dev_reset(h);
	else
		vh_call(h, &m, -1);  /* a device that does not answer was logged */
}

/* In the device process: one request from vmm (trusted: it forked us; a
 * malformed one still ends the process rather than being half-used). */
static int vh_serve_msg(struct virtio_host *h)
{
	struct vh_msg m;
	struct vh_reply rep;
	int fd, r = vh_recv(h->sock, &m, sizeof(m), MSG_DONTWAIT, &fd);

	if (r == -EAGAIN || r == -EINTR)
		return 0;
	if (r < 0)
		return r;
	if (fd >= 0 && m.type != VH_MSG_CONTROL) {
		close(fd);
		return -EPROTO;
	}
	rep = (struct vh_reply){ .type = m.type, .seq = m.seq };
	switch (m.type) {
	case VH_MSG_ACTIVATE:
		rep.result = m.nq <= h->vd->num_queues ? vh_dev_activate(h, m.features, m.q, m.nq) : -EINVAL;
		break;
	case VH_MSG_RESET:
		vh_dev_reset(h);
		break;
	case VH_MSG_DUMP:
		vh_dev_dump(h);
		return 0;
	case VH_MSG_CONTROL:
		rep.result = vh_dev_control(h, m.data, m.len, fd);
		if (fd >= 0)
			close(fd);
		break;
	default:
		return -EPROTO;
	}
	return vh_send(h->sock, &rep, sizeof(rep), 0, -1);
}

/* The device left chains in a ring (virtio_signal_requeue): make that
 * queue's eventfd readable again, so the worker comes back to it after
 * everything else that was ready. */
static void vh_requeue(struct virtio_host *h)
{
	uint32_t bits = __atomic_exchange_n(&h->sig->requeue, 0, __ATOMIC_SEQ_CST);
	uint64_t one = 1;

	for (unsigned q = 0; bits && q < h->vd->num_queues; q++)
		if ((bits & (1u << q)) && write(h->notify_fd[q], &one, sizeof(one)) < 0)
			log_guest("%s: re-arming queue %u: %s", h->info.name, q, strerror(errno));
}

int virtio_host_run(struct virtio_host *h, int timeout_ms)
{
	struct epoll_event ev[VIRTIO_MAX_QUEUES + 2];
	/* epoll_pwait with no mask: the one wait call in every libc (musl's epoll_wait
	 * is it; glibc's is epoll_wait(2)), so device policies need no other. */
	int n = epoll_pwait(h->ep, ev, VIRTIO_MAX_QUEUES + 2, timeout_ms, NULL);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n > 0)
		__atomic_add_fetch(&h->sig->rounds, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		uint64_t cnt;

		if (tag == VH_TAG_STOP)
			return -ESHUTDOWN;
		if (tag == VH_TAG_MSG) {
			int r = vh_serve_msg(h);
			if (r < 0)
				return r;
			continue;
		}
		if (tag == VH_TAG_POLL) {
			pthread_mutex_lock(&h->lock);
			h->vd->poll(h->dev);
			pthread_mutex_unlock(&h->lock);
			continue;
		}
		/* Drain before serving, so a notify racing with us re-arms it. */
		if (read(h->notify_fd[tag], &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			log_guest("%s: queue %u notify read: %s", h->info.name, tag, strerror(errno));
		pthread_mutex_lock(&h->lock);
		if ((h->live & (1u << tag)) && !__atomic_load_n(&h->sig->needs_reset, __ATOMIC_SEQ_CST))
			h->vd->queue_notify(h->dev, tag);
		pthread_mutex_unlock(&h->lock);
	}
	vh_requeue(h);
	return n;
}

static void *vh_worker(void *arg)
{
	struct virtio_host *h = arg;
	int r;

	while ((r = virtio_host_run(h, -1)) >= 0)
		;
	if (r != -ESHUTDOWN)
		log_err("%s: worker: %s", h->info.name, strerror(-r));
	return NULL;
}

static int vh_watch(struct virtio_host *h, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void vh_free(struct virtio_host *h)
{
	if (!h)
		return;
	if (h->started) {
		uint64_t one = 1;
		if (write(h->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(h->thread, NULL);
	}
	if (h->watched)
		h->env->unwatch(h->env->vm, h->proc.pidfd);
	if (h->proc.jail) {
		/* Its socket closes: the device process leaves (or is killed). */
		sandbox_stop(&h->proc, VH_STOP_MS);
		sandbox_release(&h->proc);
	}
	if (h->sig)
		virtio_mmio_destroy(h->t);  /* closes the irqfd it made */
	/* vmm's copies of the device's fds (the device process had its own). */
	if (h->dev)
		h->vd->close(h->dev);
	if (h->info.stream_fd >= 0)
		close(h->info.stream_fd);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (h->notify_fd[q] >= 0)
			close(h->notify_fd[q]);
	if (h->ep >= 0)
		close(h->ep);
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	if (h->sig)
		munmap(h->sig, sizeof(*h->sig));
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Which fds below VH_FD_SCAN are open: before and after a device's open(),
 * the difference is what it acquired (set-up runs on the main thread
 * alone; nothing else opens fds meanwhile). */
static void vh_fd_map(uint8_t map[VH_FD_SCAN / 8])
{
	memset(map, 0, VH_FD_SCAN / 8);
	for (int fd = 0; fd < VH_FD_SCAN; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			map[fd / 8] |= (uint8_t)(1u << (fd % 8));
}

static int vh_fd_acquired(struct virtio_host *h, const uint8_t before[VH_FD_SCAN / 8])
{
	uint8_t after[VH_FD_SCAN / 8];

	vh_fd_map(after);
	for (int fd = 0; fd < VH_FD_SCAN; fd++) {
		uint8_t bit = (uint8_t)(1u << (fd % 8));
		if (!(after[fd / 8] & bit) || (before[fd / 8] & bit) || fd == h->info.stream_fd)
			continue;
		if (h->ndev_fd >= SANDBOX_MAX_FDS)
			return -EMFILE;
		h->dev_fd[h->ndev_fd++] = fd;
	}
	return 0;
}

/* The host-owned fds first (nothing the user could get wrong), then the
 * device's open, then the transport, whose bus range is the last step. */
static int vh_new(struct virtio_host **out, const struct dev_env *env, const struct virtio_device *vd,
		  const void *cfg, unsigned index)
{
	struct virtio_host *h = calloc(1, sizeof(*h));
	uint8_t fds[VH_FD_SCAN / 8];
	struct virtio_mmio_dev md;
	int r;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->vd = vd;
	h->env = env;
	h->jailed = !env->cfg || !env->cfg->disable_sandbox;
	h->info.poll_fd = h->info.stream_fd = -1;
	h->proc.pidfd = h->proc.sock = h->sock = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		h->notify_fd[q] = -1;
	h->stop_fd = -1;
	h->sig = mmap(NULL, sizeof(*h->sig), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h->sig == MAP_FAILED) {
		h->sig = NULL;
		h->ep = -1;
		vh_free(h);
		return -ENOMEM;
	}
	h->sig->irqfd = -1;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = h->ep < 0 || h->stop_fd < 0 ? -errno : vh_watch(h, h->stop_fd, VH_TAG_STOP);
	for (unsigned q = 0; r == 0 && q < vd->num_queues && q < VIRTIO_MAX_QUEUES; q++) {
		h->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r = h->notify_fd[q] < 0 ? -errno : vh_watch(h, h->notify_fd[q], q);
	}
	if (r < 0) {
		log_err("%s: notify eventfds: %s", vd->name, strerror(-r));
		goto fail;
	}
	if (h->jailed)
		vh_fd_map(fds);
	r = vd->open(&h->dev, cfg, index, env, h->sig, &h->info);
	if (r < 0)
		goto fail;  /* the device logged what was wrong */
	if (h->jailed && (r = vh_fd_acquired(h, fds)) < 0) {
		log_err("%s: more than %d fds for its process", vd->name, SANDBOX_MAX_FDS);
		goto fail;
	}
	if (!h->info.name[0])
		snprintf(h->info.name, sizeof(h->info.name), "%s", vd->name);
	if (h->info.poll_fd >= 0 && (!vd->poll || (r = vh_watch(h, h->info.poll_fd, VH_TAG_POLL)) < 0)) {
		r = r < 0 ? r : -EINVAL;
		log_err("%s: watching the device's fd: %s", h->info.name, strerror(-r));
		goto fail;
	}
	/* The live copy the transport reads, in the page a jailed device
	 * shares with the VMM (virtio_signal_config). */
	memcpy(h->sig->config, h->info.config, sizeof(h->sig->config));
	md = (struct virtio_mmio_dev){
		.device_id = vd->device_id, .num_queues = vd->num_queues, .queue_max = vd->queue_max,
		.features = h->info.features, .config = h->sig->config, .config_len = h->info.config_len,
		.sig = h->sig, .notify_fd = h->notify_fd, .host = h,
		.activate = vh_activate, .reset = vh_reset,
	};
	r = virtio_mmio_create(&h->t, env, h->info.name, &md);
	if (r < 0)
		goto fail;
	if (h->info.cmdline[0] && (r = env->cmdline_add(env->vm, h->info.cmdline)) < 0) {
		log_err("%s: kernel command line full", h->info.name);
		goto fail;
	}
	if (h->info.stream_fd >= 0) {
		r = env->guest_streams(env->vm, h->info.stream_fd);
		h->info.stream_fd = -1;  /* the core's now, whatever happened */
		if (r < 0) {
			log_err("%s: guest streams: %s", h->info.name, strerror(-r));
			goto fail;
		}
	}
	*out = h;
	return 0;
fail:
	vh_free(h);
	return r;
}

void virtio_host_destroy(void *state)
{
	struct virtio_host_set *s = state;

	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++)
		vh_free(s->h[i]);
	free(s);
}

int virtio_host_create(void **state, const struct dev_env *env, const struct virtio_device *vd,
		       const void *cfg)
{
	unsigned n = vd->instances(cfg);
	struct virtio_host_set *s;
	int r;

	*state = NULL;
	if (n == 0)
		return 1;
	if (n > VH_MAX_INSTANCES)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		r = vh_new(&s->h[s->n], env, vd, cfg, i);
		if (r < 0) {
			virtio_host_destroy(s);
			return r;
		}
		s->n++;
	}
	*state = s;
	return 0;
}

/* The device process's body: the worker's loop, plus vmm's requests on
 * sock. Leaves when vmm closes its end. */
static int vh_child(void *arg, int sock)
{
	struct virtio_host *h = arg;
	int r;

	h->sock = sock;
	r = vh_watch(h, sock, VH_TAG_MSG);
	while (r >= 0)
		r = virtio_host_run(h, -1);
	if (r == -ESHUTDOWN)
		return 0;
	log_err("%s: device process: %s", h->info.name, strerror(-r));
	return 1;
}

/* proc.pidfd turned readable: the device process died (vmm's own stop
 * unwatches first). Log the one line and end the VM (exit code 1). */
static void vh_on_death(void *opaque, int fd, uint32_t events)
{
	struct virtio_host *h = opaque;

	h->env->unwatch(h->env->vm, fd);
	h->watched = false;
	sandbox_reap(&h->proc, NULL, 0);
	h->env->request_exit(h->env->vm, VM_EXIT_ERROR, 1);
}

/* "virtio-blk" -> "virtio_blk": the device's policy file name. */
static void vh_policy_name(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[i] = 0;
}

/* Is path dir or below it? */
static bool vh_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/' || (n && dir[n - 1] == '/'));
}

static int vh_jail_config(struct virtio_host *h, struct sandbox_config *c)
{
	int r = 0, nbinds = 0;

	c->policy_dir = h->env->cfg ? h->env->cfg->seccomp_policy_dir : NULL;
	c->nofile = h->info.nofile;
	/* Log lines, when vmm has a stderr. */
	if (fcntl(2, F_GETFD) >= 0)
		r = sandbox_config_keep(c, 2);
	r = r ? r : sandbox_config_keep(c, h->ep);
	r = r ? r : sandbox_config_keep(c, h->sig->irqfd);
	for (unsigned q = 0; q < h->vd->num_queues && !r; q++)
		r = sandbox_config_keep(c, h->notify_fd[q]);
	for (unsigned i = 0; i < h->ndev_fd && !r; i++)
		r = sandbox_config_keep(c, h->dev_fd[i]);
	/* A directory already inside another bind is reached through it. */
	for (unsigned i = 0; i < VIRTIO_JAIL_BINDS && !r; i++) {
		const char *b = h->info.bind[i];
		bool covered = !b[0];
		for (unsigned k = 0; k < VIRTIO_JAIL_BINDS && !covered; k++)
			covered = k != i && h->info.bind[k][0] && vh_under(b, h->info.bind[k]) &&
				  (!vh_under(h->info.bind[k], b) || k < i);
		if (!covered && (r = sandbox_config_bind(c, b, b, 0)) == 0)
			nbinds++;
	}
	/* Paths vmm's user made (0700 directories, sockets) are reached as
	 * that user, and so are the files below a device's directory fds
	 * (as_vmm_user); otherwise (and whenever vmm is not root, which
	 * cannot map another uid) the device is nobody. */
	if (nbinds || h->info.as_vmm_user || geteuid() != 0) {
		c->uid = geteuid();
		c->gid = getegid();
	}
	return r;
}

static int vh_spawn(struct virtio_host *h)
{
	struct sandbox_config c;
	struct timeval tv = { .tv_sec = VH_CALL_TIMEOUT_MS / 1000, .tv_usec = VH_CALL_TIMEOUT_MS % 1000 * 1000 };
	char policy[32], err[512];
	struct timespec t0, t1;
	int r;

	vh_policy_name(h->vd->name, policy, sizeof(policy));
	sandbox_config_init(&c, h->info.name, policy);
	r = vh_jail_config(h, &c);
	if (r == 0 && c.policy_dir) {
		/* The user's policy: a missing or broken file is bad input. */
		struct sock_filter *prog;
		size_t len;
		r = sandbox_policy(c.policy_dir, policy, &prog, &len, err, sizeof(err));
		if (r < 0) {
			log_err("--seccomp-policy-dir %s: %s.policy: %s", c.policy_dir, policy,
				err[0] ? err : strerror(-r));
			return dev_input_error(r);
		}
		free(prog);
	}
	if (r < 0) {
		log_err("%s: device process: %s", h->info.name, strerror(-r));
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sandbox_spawn(&c, vh_child, h, &h->proc, err, sizeof(err));
	if (r < 0) {
		log_err("%s: device process: %s", h->info.name, err);
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The start-up cost per device process (scripts/bench/sandbox.sh). */
	log_debug("%s: device process started in %ld us", h->info.name,
		  (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	if (setsockopt(h->proc.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    (r = h->env->watch(h->env->vm, h->proc.pidfd, vh_on_death, h)) < 0) {
		r = r < 0 ? r : -errno;
		log_err("%s: watching the device process: %s", h->info.name, strerror(-r));
		return r;
	}
	h->watched = true;
	return 0;
}

int virtio_host_start(void *state)
{
	struct virtio_host_set *s = state;

	for (unsigned i = 0; i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		int r;

		if (h->jailed) {
			if ((r = vh_spawn(h)) < 0)
				return r;
			continue;
		}
		r = pthread_create(&h->thread, NULL, vh_worker, h);
		if (r) {
			log_err("%s: worker thread: %s", h->info.name, strerror(r));
			return -r;
		}
		h->started = true;
	}
	return 0;
}

void virtio_host_dump(void *state)
{
	struct virtio_host_set *s = state;

	for (unsigned i = 0; i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		struct vh_msg m = { .type = VH_MSG_DUMP };

		virtio_mmio_dump(h->t);
		if (!h->proc.jail)
			vh_dev_dump(h);
		else if (vh_send(h->proc.sock, &m, sizeof(m), MSG_DONTWAIT, -1) < 0)
			log_state("%s: device process (pid %d) takes no requests", h->info.name, (int)h->proc.pid);
	}
}

/* JSON's exact integer range (RFC 8259 §6: IEEE 754 doubles): a counter
 * a device published above it is shown as this. */
#define VH_STATS_CLAMP ((1ULL << 53) - 1)

/* name as a JSON string body: '"', '\\' and bytes outside printable ASCII
 * escaped (\u00XX), so a TAP name or any other name part stays one string. */
static int vh_json_str(const char *name, char *buf, size_t len)
{
	size_t o = 0;

	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;
		int k = c == '"' || c == '\\' ? snprintf(buf + o, len - o, "\\%c", c)
			: c < 0x20 || c >= 0x7f ? snprintf(buf + o, len - o, "\\u%04x", c)
						: snprintf(buf + o, len - o, "%c", c);
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
	}
	return (int)o;
}

int virtio_host_status_json(void *state, char *buf, size_t len)
{
	struct virtio_host_set *s = state;
	size_t o = 0;
	int k;

	if (!s || !s->n || !s->h[0]->vd->stats_json || !s->h[0]->vd->stats_key)
		return 0;
	k = snprintf(buf, len, "\"%s\":[", s->h[0]->vd->stats_key);
	if (k < 0 || (size_t)k >= len)
		return -ENOSPC;
	o = (size_t)k;
	for (unsigned i = 0; i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		uint64_t w[VIRTIO_STATS_MAX];

		/* The page a jailed device writes: read once, each word on its
		 * own, clamped; nothing read here steers the rendering. */
		for (unsigned j = 0; j < VIRTIO_STATS_MAX; j++) {
			w[j] = __atomic_load_n(&h->sig->stats[j], __ATOMIC_RELAXED);
			if (w[j] > VH_STATS_CLAMP)
				w[j] = VH_STATS_CLAMP;
		}
		k = snprintf(buf + o, len - o, "%s{\"name\":\"", i ? "," : "");
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
		if ((k = vh_json_str(h->info.name, buf + o, len - o)) < 0)
			return k;
		o += (size_t)k;
		k = snprintf(buf + o, len - o, "\",\"counters\":");
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
		if ((k = h->vd->stats_json(w, buf + o, len - o)) < 0)
			return k;
		o += (size_t)k;
		if (o + 2 > len)  /* '}' and the NUL */
			return -ENOSPC;
		buf[o++] = '}';
		buf[o] = 0;
	}
	if (o + 2 > len)
		return -ENOSPC;
	buf[o++] = ']';
	buf[o] = 0;
	return (int)o;
}

int virtio_host_control(void *state, const void *msg, size_t len, int fd)
{
	struct virtio_host_set *s = state;
	int r = -ENODEV;

	if (len > VIRTIO_CONTROL_MAX)
		return -EMSGSIZE;
	for (unsigned i = 0; s && r == -ENODEV && i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		struct vh_msg m = { .type = VH_MSG_CONTROL, .len = (uint32_t)len };

		if (!h->vd->control)
			break;
		if (!h->jailed) {
			r = vh_dev_control(h, msg, len, fd);
			continue;
		}
		memcpy(m.data, msg, len);
		r = vh_call(h, &m, fd);
	}
	return r;
}

int virtio_host_health_json(void *state, char *buf, size_t len)
{
	struct virtio_host_set *s = state;
	size_t o = 0;
	int k;

	for (unsigned i = 0; s && i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		uint64_t rounds = __atomic_load_n(&h->sig->rounds, __ATOMIC_RELAXED);

		k = snprintf(buf + o, len - o, "%s{\"name\":\"", i ? "," : "");
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
		if ((k = vh_json_str(h->info.name, buf + o, len - o)) < 0)
			return k;
		o += (size_t)k;
		k = snprintf(buf + o, len - o, "\",\"pid\":%d,\"rounds\":%llu}", h->jailed ? (int)h->proc.pid : 0,
			     (unsigned long long)(rounds > VH_STATS_CLAMP ? VH_STATS_CLAMP : rounds));
		if (k < 0 || (size_t)k >= len - o)
			return -ENOSPC;
		o += (size_t)k;
	}
	return (int)o;
}

unsigned virtio_host_count(void *state)
{
	return ((struct virtio_host_set *)state)->n;
}

struct virtio_host *virtio_host_instance(void *state, unsigned i)
{
	struct virtio_host_set *s = state;

	return i < s->n ? s->h[i] : NULL;
}

void *virtio_host_dev(struct virtio_host *h)
{
	return h->dev;
}

int virtio_host_pid(struct virtio_host *h)
{
	return h->proc.jail ? (int)h->proc.pid : -1;
}

int virtio_host_irqfd(struct virtio_host *h)
{
	return h->sig->irqfd;
}
