/* guest-init services: .conf parsing, name order and after=, and the
 * respawn policy (backoff, 10 restarts in 30 s cap) as a pure function. */
#include "tests/unit/t.h"
#include "guest-init/svc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct warns {
	int n;
	char all[4096];
};

static void rec(void *arg, const char *msg)
{
	struct warns *w = arg;
	size_t l = strlen(w->all);

	w->n++;
	snprintf(w->all + l, sizeof(w->all) - l, "%s\n", msg);
}

static void test_parse_all_keys(void)
{
	const char conf[] =
		"# a comment\n"
		"  exec = /usr/bin/daemon  \n"
		"args=--port 80 'a b'\n"
		"env=A=1 B=2\r\n"
		"user=daemon\n"
		"respawn=yes\n"
		"\n"
		"after=net\n";
	struct init_svc s;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };

	CHECK_EQ(init_svc_parse("web", conf, sizeof(conf) - 1, &s, &iw), 0);
	CHECK_EQ(w.n, 0);
	CHECK(!strcmp(s.name, "web"));
	CHECK(!strcmp(s.exec, "/usr/bin/daemon"));
	CHECK(!strcmp(s.args, "--port 80 'a b'"));
	CHECK(!strcmp(s.env, "A=1 B=2"));
	CHECK(!strcmp(s.user, "daemon"));
	CHECK(s.respawn);
	CHECK(!strcmp(s.after, "net"));
}

static void test_parse_warnings(void)
{
	const char conf[] = "exec=/bin/x\ncolour=blue\nrespawn=maybe\nnoequals\nafter=self\n";
	struct init_svc s;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };

	CHECK_EQ(init_svc_parse("self", conf, sizeof(conf) - 1, &s, &iw), 0);
	CHECK_EQ(w.n, 4);
	CHECK(strstr(w.all, "self.conf:2: unknown key 'colour'"));
	CHECK(strstr(w.all, "self.conf:3: respawn=maybe"));
	CHECK(strstr(w.all, "self.conf:4: expected key=value"));
	CHECK(strstr(w.all, "after= names itself"));
	CHECK(!s.respawn);
	CHECK(!strcmp(s.after, ""));
}

static void test_parse_rejects(void)
{
	struct init_svc s;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };

	CHECK_EQ(init_svc_parse("x", "args=1\n", 7, &s, &iw), -EINVAL);
	CHECK(strstr(w.all, "x.conf: exec= missing"));
	CHECK_EQ(init_svc_parse("x", "exec=bin/rel\n", 13, &s, &iw), -EINVAL);
	CHECK_EQ(init_svc_parse("../evil", "exec=/bin/x\n", 12, &s, &iw), -EINVAL);
	CHECK_EQ(init_svc_parse("nul", "exec=/bin/x\nargs=a\0b\n", 21, &s, &iw), 0);
	CHECK(strstr(w.all, "nul.conf:2: NUL byte"));
}

static void add(struct init_svcs *ss, const char *name, const char *after)
{
	struct init_svc *s = &ss->svc[ss->n++];

	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);
	strcpy(s->exec, "/bin/true");
	strcpy(s->after, after);
}

static void test_order_after(void)
{
	static struct init_svcs ss;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };

	ss.n = 0;
	add(&ss, "a", "c");
	add(&ss, "b", "");
	add(&ss, "c", "");
	add(&ss, "d", "a");
	add(&ss, "e", "ghost");
	init_svc_order(&ss, &iw);
	CHECK(!strcmp(ss.svc[0].name, "b"));
	CHECK(!strcmp(ss.svc[1].name, "c"));
	CHECK(!strcmp(ss.svc[2].name, "a"));
	CHECK(!strcmp(ss.svc[3].name, "d"));
	CHECK(!strcmp(ss.svc[4].name, "e"));
	CHECK_EQ(w.n, 1);
	CHECK(strstr(w.all, "after=ghost names no service"));
}

static void test_order_cycle(void)
{
	static struct init_svcs ss;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };

	ss.n = 0;
	add(&ss, "x", "y");
	add(&ss, "y", "x");
	add(&ss, "z", "");
	init_svc_order(&ss, &iw);
	CHECK_EQ(ss.n, 3);
	CHECK(!strcmp(ss.svc[0].name, "z"));
	CHECK(strstr(w.all, "cycle"));
}

static void test_no_respawn(void)
{
	struct init_svc s = { .respawn = false };

	CHECK_EQ(init_svc_on_exit(&s, 1000), INIT_SVC_DONE);
	CHECK_EQ(s.next_start_ms, 0);
}

static void test_crash_loop_capped(void)
{
	struct init_svc s = { .respawn = true };
	uint64_t now = 100000;
	int restarts = 0;
	enum init_svc_action a;

	s.started_ms = now;
	/* Crash right after every start. */
	for (;;) {
		now += 5;
		a = init_svc_on_exit(&s, now);
		if (a != INIT_SVC_RESTART)
			break;
		restarts++;
		CHECK(s.next_start_ms > now);
		now = s.next_start_ms;
		s.started_ms = now;
		if (restarts > 100)
			break;
	}
	CHECK_EQ(a, INIT_SVC_GIVE_UP);
	CHECK_EQ(restarts, INIT_SVC_BURST);
	CHECK(s.given_up);
	CHECK_EQ(init_svc_on_exit(&s, now + 100000), INIT_SVC_DONE);
}

static void test_backoff_doubles_and_caps(void)
{
	struct init_svc s = { .respawn = true };
	unsigned want[] = { 100, 200, 400, 800, 1000, 1000 };

	for (int i = 0; i < 6; i++) {
		uint64_t now = 1000 + (uint64_t)i * 10;

		s.started_ms = now - 1;
		CHECK_EQ(init_svc_on_exit(&s, now), INIT_SVC_RESTART);
		CHECK_EQ(s.backoff_ms, want[i]);
		CHECK_EQ(s.next_start_ms, now + want[i]);
	}
	/* A run longer than INIT_SVC_STABLE_MS starts over. */
	s.started_ms = 5000;
	CHECK_EQ(init_svc_on_exit(&s, 5000 + INIT_SVC_STABLE_MS), INIT_SVC_RESTART);
	CHECK_EQ(s.backoff_ms, INIT_SVC_BACKOFF_MIN_MS);
}

static void test_slow_crashes_not_capped(void)
{
	struct init_svc s = { .respawn = true };
	uint64_t now = 0;

	/* One crash every 4 s: never 10 within 30 s. */
	for (int i = 0; i < 50; i++) {
		now += 4000;
		s.started_ms = now - 3000;
		CHECK_EQ(init_svc_on_exit(&s, now), INIT_SVC_RESTART);
	}
	CHECK(!s.given_up);
}

static void test_load_dir(void)
{
	char dir[] = "/tmp/init_svc_test.XXXXXX", p[128];
	static struct init_svcs ss;
	struct warns w = { 0 };
	struct init_warn iw = { rec, &w };
	const char *files[][2] = {
		{ "20-b.conf", "exec=/bin/b\n" },
		{ "10-a.conf", "exec=/bin/a\nafter=30-c\n" },
		{ "30-c.conf", "exec=/bin/c\n" },
		{ "README", "not a service\n" },
		{ "bad.conf", "args=x\n" },
	};
	char big[INIT_SVC_FILE_MAX + 10];
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
		fd = open(p, O_WRONLY | O_CREAT, 0644);
		CHECK(write(fd, files[i][1], strlen(files[i][1])) > 0);
		close(fd);
	}
	memset(big, '#', sizeof(big));
	snprintf(p, sizeof(p), "%s/big.conf", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK(write(fd, big, sizeof(big)) > 0);
	close(fd);
	CHECK_EQ(init_svc_load_dir(dir, &ss, &iw), 3);
	CHECK(!strcmp(ss.svc[0].name, "20-b"));
	CHECK(!strcmp(ss.svc[1].name, "30-c"));
	CHECK(!strcmp(ss.svc[2].name, "10-a"));
	CHECK(strstr(w.all, "bad.conf: exec= missing"));
	CHECK(strstr(w.all, "big.conf: larger than"));
	CHECK_EQ(init_svc_load_dir("/nonexistent/dir", &ss, &iw), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/big.conf", dir);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	t_suite = "init_svc";
	RUN(test_parse_all_keys);
	RUN(test_parse_warnings);
	RUN(test_parse_rejects);
	RUN(test_order_after);
	RUN(test_order_cycle);
	RUN(test_no_respawn);
	RUN(test_crash_loop_capped);
	RUN(test_backoff_doubles_and_caps);
	RUN(test_slow_crashes_not_capped);
	RUN(test_load_dir);
	return t_done();
}
