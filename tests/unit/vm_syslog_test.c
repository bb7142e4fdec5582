/* guest-agents/vm_syslog: the /dev/log parser (RFC 5424, RFC 3164 with and
 * without timestamp/tag, truncated, binary, huge), the /dev/kmsg parser
 * (levels, timestamps, continuation lines, malformed), the bounded queue
 * (order, byte budget, drop-oldest counting, wrap-around), and the whole
 * agent loop against vmm's real log endpoint (logsvc) over a unix socket:
 * batching, acks, a host syslog that goes away and returns (every record
 * arrives, in order), overflow while it is away ("N records lost" with the
 * right N), and the flush on SIGTERM. */
#include "tests/unit/t.h"
#include "guest-agents/vm_syslog/vm_syslog.h"
#include "vmm/services/logsvc.h"
#include "vmm/services/svcdir.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1764675900000000LL  /* 2025-12-02T11:45:00Z */

static vmlog_Record r;

static void parse(const char *s)
{
	vsl_parse_devlog((const uint8_t *)s, strlen(s), NOW, &r);
}

static int msg_is(const char *s)
{
	return r.msg.size == strlen(s) && !memcmp(r.msg.bytes, s, r.msg.size);
}

static void test_rfc5424(void)
{
	/* RFC 5424 §6.5 example 1 and 3. */
	parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8");
	CHECK_EQ(r.facility, 4);
	CHECK_EQ(r.severity, 2);
	CHECK_EQ(r.time_us, 1065910455003000LL);
	CHECK(!strcmp(r.app, "su"));
	CHECK_EQ(r.pid, 0);
	CHECK(!strcmp(r.msgid, "ID47"));
	CHECK(!strcmp(r.sd, ""));
	CHECK(msg_is("'su root' failed for lonvick on /dev/pts/8"));
	parse("<165>1 2003-10-11T22:14:15.003000-07:00 host evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\]ication\"][x@1 a=\"b\"] An application event");
	CHECK_EQ(r.facility, 20);
	CHECK_EQ(r.severity, 5);
	CHECK_EQ(r.time_us, 1065910455003000LL + 7 * 3600 * 1000000LL);
	CHECK_EQ(r.pid, 1234);
	CHECK(!strcmp(r.sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\]ication\"][x@1 a=\"b\"]"));
	CHECK(msg_is("An application event"));
	/* NILVALUE timestamp: now; no MSG at all. */
	parse("<14>1 - - app - - -");
	CHECK_EQ(r.time_us, NOW);
	CHECK(!strcmp(r.app, "app"));
	CHECK_EQ(r.msg.size, 0);
	/* Malformed 5424 (bad SD, bad time) falls back to 3164: all text kept. */
	parse("<14>1 2003-13-11T22:14:15Z h a - - [unterminated msg");
	CHECK_EQ(r.time_us, NOW);
	CHECK(msg_is("1 2003-13-11T22:14:15Z h a - - [unterminated msg"));
	parse("<14>1 2003-10-11T22:14:15Z h a - - [x] msg");
	CHECK(msg_is("msg"));
	parse("<14>1 2003-10-11T22:14:15Z h a - - [x]junk msg");
	CHECK(msg_is("1 2003-10-11T22:14:15Z h a - - [x]junk msg"));
}

static void test_rfc3164(void)
{
	/* musl/glibc syslog(): "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG". */
	parse("<13>Dec  2 11:40:01 logger[123]: hello world\n");
	CHECK_EQ(r.facility, 1);
	CHECK_EQ(r.severity, 5);
	CHECK_EQ(r.time_us, NOW - 299 * 1000000LL);
	CHECK(!strcmp(r.app, "logger"));
	CHECK_EQ(r.pid, 123);
	CHECK(msg_is("hello world"));
	/* A date ahead of now is last year's. */
	parse("<13>Dec 31 23:59:59 cron: x");
	CHECK_EQ(r.time_us, 1735689599000000LL);  /* 2024-12-31T23:59:59Z */
	/* No timestamp, no pid. */
	parse("<30>sshd: Accepted key");
	CHECK_EQ(r.facility, 3);
	CHECK_EQ(r.severity, 6);
	CHECK(!strcmp(r.app, "sshd"));
	CHECK(msg_is("Accepted key"));
	/* No PRI at all: user.notice (RFC 3164 §4.3.3), the text as is. */
	parse("just text: with colon");
	CHECK_EQ(r.facility, 1);
	CHECK_EQ(r.severity, 5);
	CHECK(!strcmp(r.app, ""));  /* "just text:" is no tag: it has a space */
	CHECK(msg_is("just text: with colon"));
}

static void test_rfc3164_edges(void)
{
	static uint8_t huge[100000];
	const uint8_t bin[] = { '<', '1', '>', 0, 1, 2, 0xff, '\n', 'x' };

	parse("no tag here");
	CHECK(!strcmp(r.app, ""));
	CHECK(msg_is("no tag here"));
	/* Bad PRIs are text. */
	parse("<192>x");
	CHECK_EQ(r.severity, 5);
	CHECK(msg_is("<192>x"));
	parse("<013>x");
	CHECK(msg_is("<013>x"));
	parse("<13");
	CHECK(msg_is("<13"));
	parse("<>");
	CHECK(msg_is("<>"));
	parse("<0>");
	CHECK_EQ(r.facility, 0);
	CHECK_EQ(r.msg.size, 0);
	/* Truncated timestamp / tag. */
	parse("<13>Dec  2 11:4");
	CHECK(msg_is("Dec  2 11:4"));
	parse("<13>Dec  2 11:40:01 tag[12");
	CHECK(msg_is("tag[12"));
	/* Binary: kept byte for byte (the host escapes it). */
	vsl_parse_devlog(bin, sizeof(bin), NOW, &r);
	CHECK_EQ(r.severity, 1);
	CHECK_EQ(r.msg.size, 6);
	CHECK(!memcmp(r.msg.bytes, bin + 3, 6));
	/* Huge: cut to the bound and marked. */
	memset(huge, 'a', sizeof(huge));
	vsl_parse_devlog(huge, sizeof(huge), NOW, &r);
	CHECK_EQ(r.msg.size, sizeof(r.msg.bytes));
	CHECK(r.truncated);
	/* A tag longer than APP-NAME's 48 is text. */
	parse("<13>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: x");
	CHECK(!strcmp(r.app, ""));
}

static void test_rfc3339(void)
{
	int64_t us;

	CHECK_EQ(vsl_parse_rfc3339("1970-01-01T00:00:00Z", 20, &us), 0);
	CHECK_EQ(us, 0);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T12:00:00.5+01:30", 27, &us), 0);
	CHECK_EQ(us, (951825600LL - 5400) * 1000000 + 500000);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T12:00:00.1234567Z", 28, &us), -EINVAL);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T12:00:00", 19, &us), -EINVAL);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29 12:00:00Z", 20, &us), -EINVAL);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T12:00:00Zx", 21, &us), -EINVAL);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T12:00:00+0100", 24, &us), -EINVAL);
	CHECK_EQ(vsl_parse_rfc3339("2000-02-29T24:00:00Z", 20, &us), -EINVAL);
}

static int kmsg(const char *s, uint64_t *seq)
{
	return vsl_parse_kmsg(s, strlen(s), 1000000000000000LL, seq, &r);
}

static void test_kmsg(void)
{
	uint64_t seq = 0;

	CHECK_EQ(kmsg("6,339,5140900,-;NET: Registered protocol family 10\n", &seq), 0);
	CHECK_EQ(seq, 339);
	CHECK_EQ(r.source, vmlog_Source_KMSG);
	CHECK_EQ(r.facility, 0);
	CHECK_EQ(r.severity, 6);
	CHECK_EQ(r.boot_us, 5140900);
	CHECK_EQ(r.time_us, 1000000000000000LL + 5140900);
	CHECK(!strcmp(r.app, "kernel"));
	CHECK(msg_is("NET: Registered protocol family 10"));
	/* Continuation lines (dev-kmsg ABI: " KEY=VALUE") become SD. */
	CHECK_EQ(kmsg("3,1,2,c,extra;pci 0000:00:01.0: BAR 0\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:01.0\n", &seq), 0);
	CHECK_EQ(r.severity, 3);
	CHECK(msg_is("pci 0000:00:01.0: BAR 0"));
	CHECK(!strcmp(r.sd, "[kmsg SUBSYSTEM=\"pci\" DEVICE=\"+pci:0000:00:01.0\"]"));
	/* Userspace (facility user) writing "<14>init: ..." to /dev/kmsg. */
	CHECK_EQ(kmsg("14,7,9,-;init: service vm_syslog: started\n", &seq), 0);
	CHECK_EQ(r.facility, 1);
	CHECK(!strcmp(r.app, "init"));
	CHECK(msg_is("service vm_syslog: started"));
	/* Malformed prefixes. */
	CHECK_EQ(kmsg("6,339,5140900;x\n", &seq), -EINVAL);
	CHECK_EQ(kmsg("6,339,5140900,-", &seq), -EINVAL);
	CHECK_EQ(kmsg("x,1,2,-;m", &seq), -EINVAL);
	CHECK_EQ(kmsg("99999,1,2,-;m", &seq), -EINVAL);
	CHECK_EQ(kmsg("6,99999999999999999999999,2,-;m", &seq), -EINVAL);
	CHECK_EQ(kmsg("", &seq), -EINVAL);
	/* Without a trailing newline; a dictionary line without '='. */
	CHECK_EQ(kmsg("4,2,3,-;warn\n junk\n", &seq), 0);
	CHECK(msg_is("warn"));
	CHECK(!strcmp(r.sd, ""));
}

static vmlog_Record mk(unsigned i, size_t len)
{
	vmlog_Record x = vmlog_Record_init_zero;

	snprintf(x.app, sizeof(x.app), "a%u", i);
	x.pid = i;
	x.msg.size = (pb_size_t)len;
	memset(x.msg.bytes, 'a' + i % 26, len);
	return x;
}

static void test_queue(void)
{
	struct vsl_queue q;
	vmlog_Record x;
	unsigned next = 0, pushed = 0;

	CHECK_EQ(vsl_queue_init(&q, 16384), 0);
	CHECK_EQ(vsl_queue_pop(&q, &x), -ENOENT);
	/* Many rounds of pushes and pops of mixed sizes: FIFO order across
	 * the ring's end, nothing dropped while it fits. */
	for (unsigned round = 0; round < 200; round++) {
		for (unsigned k = 0; k < 3; k++) {
			vmlog_Record y = mk(pushed, (pushed * 37) % 2000);
			vsl_queue_push(&q, &y);
			pushed++;
		}
		for (unsigned k = 0; k < 3; k++) {
			CHECK_EQ(vsl_queue_pop(&q, &x), 0);
			CHECK_EQ(x.pid, next);
			CHECK_EQ(x.msg.size, (next * 37) % 2000);
			next++;
		}
	}
	CHECK_EQ(q.dropped, 0);
	CHECK_EQ(q.count, 0);
	/* Overflow: the oldest go, counted. 16 KiB holds 6 records of ~2 KiB. */
	for (unsigned i = 0; i < 20; i++) {
		vmlog_Record y = mk(1000 + i, 2000);
		vsl_queue_push(&q, &y);
	}
	CHECK(q.used <= q.cap);
	CHECK_EQ(q.count + q.dropped, 20);
	CHECK(q.count >= 6);
	CHECK_EQ(vsl_queue_pop(&q, &x), 0);
	CHECK_EQ(x.pid, 1000 + q.dropped);
	/* Small records: far more of them fit than of big ones. */
	while (vsl_queue_pop(&q, &x) == 0)
		;
	q.dropped = 0;
	for (unsigned i = 0; i < 150; i++) {
		vmlog_Record y = mk(i, 10);
		vsl_queue_push(&q, &y);
	}
	CHECK_EQ(q.dropped, 0);
	CHECK_EQ(q.count, 150);
	vsl_queue_free(&q);
}

/* ---- the agent loop against vmm's log endpoint ---- */

static char tmp[64], devlog[128], hostlog[128], ep[128];

static int dgram_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	int sz = 4 << 20;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

static pid_t start_agent(size_t buffer)
{
	pid_t pid;

	/* The previous agent's socket file would take sends meant for this one. */
	unlink(devlog);
	pid = fork();
	if (pid == 0) {
		struct vsl_opts o;
		sigset_t ss;
		/* Nothing of the parent's (the fake host syslog socket above
		 * all): a guest holds none of the host's fds. */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		vsl_opts_default(&o);
		o.socket_path = devlog;
		o.kmsg_path = NULL;
		o.jail = false;
		o.buffer = buffer;
		o.flush_ms = 10;
		setenv("AGENT_UNIX", ep, 1);
		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigprocmask(SIG_BLOCK, &ss, NULL);
		_exit(vsl_run(&o) < 0 ? 1 : 0);
	}
	for (int i = 0; i < 200 && access(devlog, F_OK) < 0; i++)
		usleep(10000);
	return pid;
}

static void log_line(int i)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char m[64];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	int n = snprintf(m, sizeof(m), "<14>test[1]: line-%05d", i);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", devlog);
	/* Blocking send: the agent's socket may be full for a moment. */
	CHECK_EQ(sendto(fd, m, (size_t)n, 0, (struct sockaddr *)&sa, sizeof(sa)), n);
	close(fd);
}

/* Read datagrams from the fake host syslog until "line-<last>" arrived
 * or 10 s passed; check order, collect the lost notices. */
static int collect(int s, int last, int *seen, unsigned long *lost_total, int *in_order)
{
	char buf[4096];
	int prev = -1;
	struct timeval tv = { .tv_sec = 10 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*in_order = 1;
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		char *p;
		if (n <= 0) {
			printf("  collect: nothing for 10 s after line %d (waiting for %d)\n", prev, last);
			return -1;
		}
		buf[n] = 0;
		if ((p = strstr(buf, "line-"))) {
			int i = atoi(p + 5);
			if (i <= prev || seen[i])
				*in_order = 0;  /* out of order, or twice */
			prev = i;
			seen[i] = 1;
			if (i == last)
				return 0;
		} else if (strstr(buf, " vm_syslog ") && (p = strstr(buf, " records lost"))) {
			while (p > buf && p[-1] >= '0' && p[-1] <= '9')
				p--;
			*lost_total += strtoul(p, NULL, 10);
		}
	}
}

static void test_loop_outage_and_overflow(void)
{
	struct vmm_config cfg = { .syslog = SYSLOG_HOST };
	struct svcdir *d;
	struct logsvc *l;
	static int seen[3000];
	unsigned long lost = 0;
	int s, in_order, status, missing = 0;
	pid_t pid;

	cfg.syslog_path = hostlog;
	s = dgram_server(hostlog);
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	CHECK_EQ(logsvc_open(&l, &cfg, "vm9"), 0);
	CHECK_EQ(svcdir_open(&d), 0);
	CHECK_EQ(svcdir_listen(d, 9002, logsvc_serve, l), 0);
	snprintf(ep, sizeof(ep), "%s/9002", svcdir_path(d));
	pid = start_agent(1 << 20);
	/* 1. Normal: 100 records arrive in order. */
	for (int i = 0; i < 100; i++)
		log_line(i);
	CHECK_EQ(collect(s, 99, seen, &lost, &in_order), 0);
	CHECK(in_order);
	/* 2. The host syslog goes away while the guest logs 500 records,
	 * then comes back: every one arrives afterwards, in order. */
	close(s);
	unlink(hostlog);
	for (int i = 100; i < 600; i++)
		log_line(i);
	usleep(300000);
	s = dgram_server(hostlog);
	CHECK_EQ(collect(s, 599, seen, &lost, &in_order), 0);
	CHECK(in_order);
	for (int i = 0; i < 600; i++)
		missing += !seen[i];
	CHECK_EQ(missing, 0);
	CHECK_EQ(lost, 0);
	/* 3. SIGTERM flushes what is queued. */
	close(s);
	unlink(hostlog);
	for (int i = 600; i < 650; i++)
		log_line(i);
	s = dgram_server(hostlog);
	kill(pid, SIGTERM);
	CHECK_EQ(collect(s, 649, seen, &lost, &in_order), 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(s);
	unlink(hostlog);
	/* 4. Overflow: a 16 KiB buffer, the host away for 2000 records: the
	 * oldest go, and the notice counts exactly the ones that never came. */
	memset(seen, 0, sizeof(seen));
	pid = start_agent(16384);
	for (int i = 0; i < 2000; i++)
		log_line(i);
	usleep(300000);
	s = dgram_server(hostlog);
	lost = 0;
	CHECK_EQ(collect(s, 1999, seen, &lost, &in_order), 0);
	CHECK(in_order);
	missing = 0;
	for (int i = 0; i < 2000; i++)
		missing += !seen[i];
	CHECK(missing > 0);
	CHECK_EQ(lost, (unsigned long)missing);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(s);
	unlink(hostlog);
	svcdir_close(d);
	logsvc_close(l);
	unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
	t_suite = "vm_syslog";
	RUN(test_rfc5424);
	RUN(test_rfc3164);
	RUN(test_rfc3164_edges);
	RUN(test_rfc3339);
	RUN(test_kmsg);
	RUN(test_queue);
	snprintf(tmp, sizeof(tmp), "/tmp/vsl_test_XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(devlog, sizeof(devlog), "%s/log", tmp);
	snprintf(hostlog, sizeof(hostlog), "%s/hostlog", tmp);
	RUN(test_loop_outage_and_overflow);
	unlink(devlog);
	rmdir(tmp);
	return t_done();
}
