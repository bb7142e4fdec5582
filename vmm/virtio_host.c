#include "vmm/virtio_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/virtio_mmio.h"

/* Instances of one device type at most (26 disks name vda..vdz). */
#define VH_MAX_INSTANCES 26
/* Worker epoll tags: queue indexes below VIRTIO_MAX_QUEUES, then these. */
#define VH_TAG_POLL 0x100u
#define VH_TAG_STOP 0x101u

struct virtio_host {
	const struct virtio_device *vd;
	void *dev;
	struct virtio_dev_info info;
	struct virtio_signal sig;
	struct virtio_mmio *t;
	/* Serialises the serve ops: the worker's queue_notify/poll against
	 * activate/reset from vCPU threads. Taken after the transport lock,
	 * never the other way round. */
	pthread_mutex_t lock;
	uint32_t live;                      /* queues activate started; under lock */
	int notify_fd[VIRTIO_MAX_QUEUES];
	int ep, stop_fd;
	pthread_t thread;
	bool started;
};

struct virtio_host_set {
	unsigned n;
	struct virtio_host *h[VH_MAX_INSTANCES];
};

static int vh_activate(void *opaque, uint64_t features, const struct virtq_config *q, unsigned nq)
{
	struct virtio_host *h = opaque;
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

static void vh_reset(void *opaque)
{
	struct virtio_host *h = opaque;

	pthread_mutex_lock(&h->lock);
	h->live = 0;
	h->vd->reset(h->dev);
	pthread_mutex_unlock(&h->lock);
}

/* The device left chains in a ring (virtio_signal_requeue): make that
 * queue's eventfd readable again, so the worker comes back to it after
 * everything else that was ready. */
static void vh_requeue(struct virtio_host *h)
{
	uint32_t bits = __atomic_exchange_n(&h->sig.requeue, 0, __ATOMIC_SEQ_CST);
	uint64_t one = 1;

	for (unsigned q = 0; bits && q < h->vd->num_queues; q++)
		if ((bits & (1u << q)) && write(h->notify_fd[q], &one, sizeof(one)) < 0)
			log_guest("%s: re-arming queue %u: %s", h->info.name, q, strerror(errno));
}

int virtio_host_run(struct virtio_host *h, int timeout_ms)
{
	struct epoll_event ev[VIRTIO_MAX_QUEUES + 2];
	int n = epoll_wait(h->ep, ev, VIRTIO_MAX_QUEUES + 2, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		uint64_t cnt;

		if (tag == VH_TAG_STOP)
			return -ESHUTDOWN;
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
		if ((h->live & (1u << tag)) && !__atomic_load_n(&h->sig.needs_reset, __ATOMIC_SEQ_CST))
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
	virtio_mmio_destroy(h->t);  /* closes the irqfd it made */
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
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* The host-owned fds first (nothing the user could get wrong), then the
 * device's open, then the transport, whose bus range is the last step. */
static int vh_new(struct virtio_host **out, const struct dev_env *env, const struct virtio_device *vd,
		  const void *cfg, unsigned index)
{
	struct virtio_host *h = calloc(1, sizeof(*h));
	struct virtio_mmio_dev md;
	int r;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->vd = vd;
	h->sig.irqfd = -1;
	h->info.poll_fd = h->info.stream_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		h->notify_fd[q] = -1;
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
	r = vd->open(&h->dev, cfg, index, env, &h->sig, &h->info);
	if (r < 0)
		goto fail;  /* the device logged what was wrong */
	if (!h->info.name[0])
		snprintf(h->info.name, sizeof(h->info.name), "%s", vd->name);
	if (h->info.poll_fd >= 0 && (!vd->poll || (r = vh_watch(h, h->info.poll_fd, VH_TAG_POLL)) < 0)) {
		r = r < 0 ? r : -EINVAL;
		log_err("%s: watching the device's fd: %s", h->info.name, strerror(-r));
		goto fail;
	}
	md = (struct virtio_mmio_dev){
		.device_id = vd->device_id, .num_queues = vd->num_queues, .queue_max = vd->queue_max,
		.features = h->info.features, .config = h->info.config, .config_len = h->info.config_len,
		.sig = &h->sig, .notify_fd = h->notify_fd, .host = h,
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

int virtio_host_start(void *state)
{
	struct virtio_host_set *s = state;

	for (unsigned i = 0; i < s->n; i++) {
		struct virtio_host *h = s->h[i];
		int r = pthread_create(&h->thread, NULL, vh_worker, h);
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
		virtio_mmio_dump(h->t);
		/* A worker stuck in the device holds the lock: say so rather
		 * than hang the event loop behind it. */
		if (pthread_mutex_trylock(&h->lock)) {
			log_state("%s: busy: its worker is inside the device (live queues %#x)", h->info.name,
				  __atomic_load_n(&h->live, __ATOMIC_RELAXED));
			continue;
		}
		if (h->vd->dump)
			h->vd->dump(h->dev);
		pthread_mutex_unlock(&h->lock);
	}
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
