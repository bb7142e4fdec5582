/* evloop: add/del/set_events and their errors, removal (and slot reuse)
 * from inside a callback of the same batch, add/del from another thread
 * while the loop waits, and the one-shot deadline timers. */
#include "tests/unit/t.h"
#include "evloop/evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Every reading callback takes the one byte that made its pipe ready. */
static void consume1(int fd)
{
	char c;

	(void)!read(fd, &c, 1);
}

/* Counts calls (adds *arg to hits) and consumes one byte. */
static int hits;
static void on_read(void *arg, int fd, uint32_t events)
{
	(void)events;
	consume1(fd);
	hits += *(int *)arg;
}

static void add_del_errors(void)
{
	struct evloop l;
	int p[2], q[2], one = 1, ten = 10, fds[EVLOOP_MAX], file;
	char tmpl[] = "/tmp/evloop_test.XXXXXX";

	hits = 0;
	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(pipe(q), 0);
	CHECK_EQ(evloop_add(&l, p[0], on_read, &one), 0);
	CHECK_EQ(evloop_add(&l, q[0], on_read, &ten), 0);
	CHECK_EQ(evloop_add(&l, p[0], on_read, &ten), -EEXIST);
	CHECK_EQ(evloop_run_once(&l, 0), 0);
	CHECK(write(p[1], "x", 1) == 1 && write(q[1], "y", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 1000), 2);
	CHECK_EQ(hits, 11);
	CHECK_EQ(evloop_del(&l, q[0]), 0);
	CHECK_EQ(evloop_del(&l, q[0]), -ENOENT);
	CHECK_EQ(evloop_set_events(&l, q[0], EPOLLIN), -ENOENT);
	/* Removed: its data no longer wakes the loop. */
	CHECK(write(q[1], "y", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 0), 0);
	/* epoll refuses regular files; the slot is not taken. */
	file = mkstemp(tmpl);
	CHECK(file >= 0);
	unlink(tmpl);
	CHECK_EQ(evloop_add(&l, file, on_read, &one), -EPERM);
	close(file);
	/* p[0] holds one slot: EVLOOP_MAX - 1 more fill the loop. */
	for (int i = 0; i < EVLOOP_MAX - 1; i++) {
		fds[i] = dup(q[0]);
		CHECK_EQ(evloop_add(&l, fds[i], on_read, &one), 0);
	}
	CHECK_EQ(evloop_add(&l, q[0], on_read, &one), -ENOSPC);
	CHECK_EQ(evloop_del(&l, fds[7]), 0);
	CHECK_EQ(evloop_add(&l, q[0], on_read, &one), 0);
	for (int i = 0; i < EVLOOP_MAX - 1; i++)
		close(fds[i]);
	evloop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

struct del_arg {
	struct evloop *l;
	int count;
	int other;		/* fd this callback removes */
	int readd;		/* fd it then adds in the freed slot, or -1 */
	int *readd_hits;
};

static void on_readd(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	++*(int *)arg;
}

/* Removes the other pipe's fd from inside a callback of the same batch,
 * and with readd >= 0 gives its slot to another fd at once. */
static void on_read_del(void *arg, int fd, uint32_t events)
{
	struct del_arg *a = arg;

	(void)events;
	consume1(fd);
	a->count++;
	evloop_del(a->l, a->other);
	if (a->readd >= 0)
		CHECK_EQ(evloop_add(a->l, a->readd, on_readd, a->readd_hits), 0);
}

/* Both pipes ready in one batch: whichever callback runs first removes the
 * other, whose event, already read, must not be dispatched. */
static void del_later_in_batch(void)
{
	struct evloop l;
	int p[2], q[2];
	struct del_arg a = { &l, 0, -1, -1, NULL }, b = { &l, 0, -1, -1, NULL };

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(pipe(q), 0);
	a.other = q[0];
	b.other = p[0];
	CHECK_EQ(evloop_add(&l, p[0], on_read_del, &a), 0);
	CHECK_EQ(evloop_add(&l, q[0], on_read_del, &b), 0);
	CHECK(write(p[1], "x", 1) == 1 && write(q[1], "y", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(a.count + b.count, 1);
	/* The survivor is still watched and still ready: nothing left over. */
	CHECK(write(a.count ? p[1] : q[1], "z", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(a.count + b.count, 2);
	evloop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* As above, but the freed slot goes to a new fd in the same callback: the
 * stale event carries the slot's index, and only the generation tells it
 * from one of the new fd (which is not even ready). */
static void del_readd_same_slot(void)
{
	struct evloop l;
	int p[2], q[2], r[2], readd_hits = 0;
	struct del_arg a = { &l, 0, -1, -1, &readd_hits }, b = { &l, 0, -1, -1, &readd_hits };

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(pipe(q), 0);
	CHECK_EQ(pipe(r), 0);
	a.other = q[0];
	b.other = p[0];
	a.readd = b.readd = r[0];
	CHECK_EQ(evloop_add(&l, p[0], on_read_del, &a), 0);
	CHECK_EQ(evloop_add(&l, q[0], on_read_del, &b), 0);
	CHECK(write(p[1], "x", 1) == 1 && write(q[1], "y", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(a.count + b.count, 1);
	CHECK_EQ(readd_hits, 0);
	/* The new fd in that slot works once it is ready. */
	CHECK(write(r[1], "z", 1) == 1);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(readd_hits, 1);
	evloop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(r[0]);
	close(r[1]);
}

static uint32_t seen_events;
static void on_events(void *arg, int fd, uint32_t events)
{
	(void)fd;
	seen_events = events;
	++*(int *)arg;
}

/* A pipe's write end is never readable, but writable: EPOLLOUT only when
 * asked for. */
static void set_events_out(void)
{
	struct evloop l;
	int p[2], n = 0;

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(evloop_add(&l, p[1], on_events, &n), 0);
	CHECK_EQ(evloop_run_once(&l, 0), 0);
	CHECK_EQ(evloop_set_events(&l, p[1], EPOLLIN | EPOLLOUT), 0);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(n, 1);
	CHECK(seen_events & EPOLLOUT);
	CHECK_EQ(evloop_set_events(&l, p[1], EPOLLIN), 0);
	CHECK_EQ(evloop_run_once(&l, 0), 0);
	CHECK_EQ(n, 1);
	/* The read end closed: EPOLLERR comes whatever was asked for. */
	close(p[0]);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK(seen_events & EPOLLERR);
	CHECK_EQ(evloop_del(&l, p[1]), 0);
	evloop_destroy(&l);
	close(p[1]);
}

struct thr {
	struct evloop *l;
	int add_fd;		/* ready: added while the loop waits */
	int del_fd, del_wfd;	/* removed while the loop waits, then made ready */
	int wake_wfd;		/* then this wakes the loop */
	pthread_t loop_thread;
	atomic_int wrong_thread;
};

static void on_read_thread(void *arg, int fd, uint32_t events)
{
	struct thr *t = arg;

	(void)events;
	consume1(fd);
	if (!pthread_equal(pthread_self(), t->loop_thread))
		atomic_store(&t->wrong_thread, 1);
	hits++;
}

static void *thr_add_then_del(void *arg)
{
	struct thr *t = arg;

	sleep_ms(50);
	CHECK_EQ(evloop_add(t->l, t->add_fd, on_read_thread, t), 0);
	sleep_ms(100);
	CHECK_EQ(evloop_del(t->l, t->del_fd), 0);
	CHECK(write(t->del_wfd, "y", 1) == 1);
	CHECK(write(t->wake_wfd, "w", 1) == 1);
	return NULL;
}

/* Another thread adds an fd that is ready while the loop blocks (the wait
 * sees it), then, while the loop blocks again, removes one and makes it
 * ready (the wait never sees it). Callbacks run on the loop thread. */
static void add_del_from_thread(void)
{
	struct evloop l;
	int p[2], q[2], w[2];
	struct thr t = { .l = &l };
	pthread_t th;
	uint64_t t0;

	hits = 0;
	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(pipe(q), 0);
	CHECK_EQ(pipe(w), 0);
	t.add_fd = p[0];
	t.del_fd = q[0];
	t.del_wfd = q[1];
	t.wake_wfd = w[1];
	t.loop_thread = pthread_self();
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_EQ(evloop_add(&l, q[0], on_read_thread, &t), 0);
	CHECK_EQ(evloop_add(&l, w[0], on_read_thread, &t), 0);
	CHECK_EQ(pthread_create(&th, NULL, thr_add_then_del, &t), 0);
	t0 = evloop_now_ms();
	CHECK_EQ(evloop_run_once(&l, 5000), 1);	/* p[0], once added */
	CHECK(evloop_now_ms() - t0 < 4000);
	CHECK_EQ(hits, 1);
	CHECK_EQ(evloop_run_once(&l, 5000), 1);	/* w[0] only */
	CHECK_EQ(hits, 2);
	pthread_join(th, NULL);
	CHECK_EQ(evloop_run_once(&l, 0), 0);	/* q[0] is ready but gone */
	CHECK(!atomic_load(&t.wrong_thread));
	evloop_destroy(&l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(w[0]);
	close(w[1]);
}

/* One thread adds and removes an always-ready fd in a tight loop while the
 * loop thread dispatches: the slots stay consistent under the lock (no
 * -EEXIST or -ENOENT, no sanitizer report) and the fd ends up unwatched. */
struct churn {
	struct evloop *l;
	int fd;
	atomic_int done;
	atomic_int bad;
};

static void on_churn(void *arg, int fd, uint32_t events)
{
	struct churn *c = arg;

	(void)events;
	if (fd != c->fd)
		atomic_store(&c->bad, 1);
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < 5000; i++) {
		if (evloop_add(c->l, c->fd, on_churn, c) != 0 || evloop_del(c->l, c->fd) != 0)
			atomic_store(&c->bad, 1);
	}
	atomic_store(&c->done, 1);
	return NULL;
}

static void add_del_churn_from_thread(void)
{
	struct evloop l;
	int p[2];
	struct churn c = { .l = &l };
	pthread_t th;

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK(write(p[1], "x", 1) == 1);	/* always ready, never read */
	c.fd = p[0];
	CHECK_EQ(pthread_create(&th, NULL, churn_thread, &c), 0);
	while (!atomic_load(&c.done))
		CHECK(evloop_run_once(&l, 1) >= 0);
	pthread_join(th, NULL);
	CHECK(!atomic_load(&c.bad));
	CHECK_EQ(evloop_del(&l, p[0]), -ENOENT);
	CHECK_EQ(evloop_run_once(&l, 0), 0);
	evloop_destroy(&l);
	close(p[0]);
	close(p[1]);
}

/* ---- timers ---- */

struct fired {
	int n;
	uint64_t at;
};

static void on_timer(void *arg)
{
	struct fired *f = arg;

	f->n++;
	f->at = evloop_now_ms();
}

/* Run the loop until f->n reaches n or ms pass. */
static void run_for(struct evloop *l, struct fired *f, int n, int ms)
{
	uint64_t end = evloop_now_ms() + (uint64_t)ms;

	while (f->n < n) {
		uint64_t now = evloop_now_ms();

		if (now >= end)
			break;
		CHECK(evloop_run_once(l, (int)(end - now)) >= 0);
	}
}

static void timer_fires_once(void)
{
	struct evloop l;
	struct evloop_timer t;
	struct fired f = { 0, 0 };
	uint64_t deadline;

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	/* Disarmed after init. */
	CHECK_EQ(evloop_run_once(&l, 50), 0);
	deadline = evloop_now_ms() + 60;
	CHECK_EQ(evloop_timer_at(&t, deadline), 0);
	run_for(&l, &f, 1, 5000);
	CHECK_EQ(f.n, 1);
	CHECK(f.at >= deadline);
	CHECK(f.at < deadline + 2000);
	/* One-shot. */
	run_for(&l, &f, 2, 200);
	CHECK_EQ(f.n, 1);
	/* A deadline in the past fires at the next run. */
	CHECK_EQ(evloop_timer_at(&t, 1), 0);
	CHECK_EQ(evloop_run_once(&l, 1000), 1);
	CHECK_EQ(f.n, 2);
	evloop_timer_release(&t);
	evloop_destroy(&l);
}

static void timer_rearm(void)
{
	struct evloop l;
	struct evloop_timer t;
	struct fired f = { 0, 0 };
	uint64_t now, deadline;

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	/* Earlier replaces later. */
	now = evloop_now_ms();
	CHECK_EQ(evloop_timer_at(&t, now + 10000), 0);
	deadline = now + 50;
	CHECK_EQ(evloop_timer_at(&t, deadline), 0);
	run_for(&l, &f, 1, 5000);
	CHECK_EQ(f.n, 1);
	CHECK(f.at >= deadline && f.at < now + 5000);
	/* Later replaces earlier. */
	now = evloop_now_ms();
	CHECK_EQ(evloop_timer_at(&t, now + 30), 0);
	deadline = now + 250;
	CHECK_EQ(evloop_timer_at(&t, deadline), 0);
	run_for(&l, &f, 2, 150);
	CHECK_EQ(f.n, 1);
	run_for(&l, &f, 2, 5000);
	CHECK_EQ(f.n, 2);
	CHECK(f.at >= deadline);
	/* Re-armed from its own callback's aftermath, as maitred does. */
	deadline = evloop_now_ms() + 20;
	CHECK_EQ(evloop_timer_at(&t, deadline), 0);
	run_for(&l, &f, 3, 5000);
	CHECK_EQ(f.n, 3);
	CHECK(f.at >= deadline);
	evloop_timer_release(&t);
	evloop_destroy(&l);
}

static void timer_disarm(void)
{
	struct evloop l;
	struct evloop_timer t;
	struct fired f = { 0, 0 };

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	CHECK_EQ(evloop_timer_at(&t, evloop_now_ms() + 30), 0);
	CHECK_EQ(evloop_timer_at(&t, 0), 0);
	run_for(&l, &f, 1, 200);
	CHECK_EQ(f.n, 0);
	/* Expired but not yet dispatched: disarming forgets it too. */
	CHECK_EQ(evloop_timer_at(&t, 1), 0);
	sleep_ms(10);
	CHECK_EQ(evloop_timer_at(&t, 0), 0);
	CHECK_EQ(evloop_run_once(&l, 100), 0);
	CHECK_EQ(f.n, 0);
	evloop_timer_release(&t);
	evloop_destroy(&l);
}

struct disarm_arg {
	struct evloop_timer *t;
	struct fired *f;
	int n_at_disarm;
};

static void on_read_disarm(void *arg, int fd, uint32_t events)
{
	struct disarm_arg *a = arg;

	(void)events;
	consume1(fd);
	a->n_at_disarm = a->f->n;
	CHECK_EQ(evloop_timer_at(a->t, 0), 0);
}

/* Disarmed by an fd callback of the batch that already holds the expiry:
 * the pipe became ready first, so epoll reports it first (its ready list
 * is in wake-up order) and the timer's event finds nothing to read. */
static void timer_disarm_in_batch(void)
{
	struct evloop l;
	struct evloop_timer t;
	struct fired f = { 0, 0 };
	struct disarm_arg a = { &t, &f, -1 };
	int p[2];

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(evloop_add(&l, p[0], on_read_disarm, &a), 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_EQ(evloop_timer_at(&t, 1), 0);
	sleep_ms(10);
	CHECK(evloop_run_once(&l, 1000) >= 1);
	CHECK_EQ(a.n_at_disarm, 0);
	CHECK_EQ(f.n, 0);
	CHECK_EQ(evloop_run_once(&l, 100), 0);
	CHECK_EQ(f.n, 0);
	evloop_del(&l, p[0]);
	close(p[0]);
	close(p[1]);
	evloop_timer_release(&t);
	evloop_destroy(&l);
}

/* An fd callback that releases the timer: with the timer's expiry in the
 * same batch, it must not fire afterwards. */
static void on_read_release(void *arg, int fd, uint32_t events)
{
	(void)events;
	consume1(fd);
	evloop_timer_release(arg);
}

static void timer_release(void)
{
	struct evloop l;
	struct evloop_timer t;
	struct fired f = { 0, 0 };
	int p[2];

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	CHECK_EQ(evloop_timer_at(&t, evloop_now_ms() + 30), 0);
	evloop_timer_release(&t);
	CHECK_EQ(t.fd, -1);
	CHECK_EQ(evloop_timer_at(&t, evloop_now_ms() + 30), -EBADF);
	evloop_timer_release(&t);	/* twice is harmless */
	CHECK_EQ(evloop_run_once(&l, 200), 0);
	CHECK_EQ(f.n, 0);

	/* Released from a callback of the batch that holds its expiry
	 * (whichever order epoll reports the two in). */
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, &f), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(evloop_add(&l, p[0], on_read_release, &t), 0);
	CHECK_EQ(evloop_timer_at(&t, 1), 0);
	CHECK(write(p[1], "x", 1) == 1);
	sleep_ms(10);
	CHECK(evloop_run_once(&l, 1000) >= 1);
	CHECK(f.n <= 1);	/* 1 only if the timer came first */
	f.n = 0;
	CHECK_EQ(t.fd, -1);
	CHECK_EQ(evloop_run_once(&l, 100), 0);
	CHECK_EQ(f.n, 0);
	evloop_del(&l, p[0]);
	close(p[0]);
	close(p[1]);
	evloop_destroy(&l);
}

/* A timer takes a slot like any fd: -ENOSPC on a full loop, nothing left
 * open. */
static void timer_init_full(void)
{
	struct evloop l;
	struct evloop_timer t;
	int p[2], fds[EVLOOP_MAX], one = 1;

	CHECK_EQ(evloop_init(&l), 0);
	CHECK_EQ(pipe(p), 0);
	for (int i = 0; i < EVLOOP_MAX; i++) {
		fds[i] = dup(p[0]);
		CHECK_EQ(evloop_add(&l, fds[i], on_read, &one), 0);
	}
	CHECK_EQ(evloop_timer_init(&l, &t, on_timer, NULL), -ENOSPC);
	CHECK_EQ(t.fd, -1);
	evloop_timer_release(&t);
	for (int i = 0; i < EVLOOP_MAX; i++)
		close(fds[i]);
	close(p[0]);
	close(p[1]);
	evloop_destroy(&l);
}

int main(void)
{
	t_suite = "evloop";
	RUN(add_del_errors);
	RUN(del_later_in_batch);
	RUN(del_readd_same_slot);
	RUN(set_events_out);
	RUN(add_del_from_thread);
	RUN(add_del_churn_from_thread);
	RUN(timer_fires_once);
	RUN(timer_rearm);
	RUN(timer_disarm);
	RUN(timer_disarm_in_batch);
	RUN(timer_release);
	RUN(timer_init_full);
	return t_done();
}
