/* crash_collector: run by the kernel for every core dump (core(5): a
 * core_pattern starting with '|' pipes the core to the program, here
 * "|/sbin/crash_collector %P %s %e" set by init). Reads the core from
 * stdin, builds the JSON report and the minidump (crash.h) and sends both
 * to vmm's crash endpoint (appvm.crash=PORT, proto/vmcrash.proto).
 *
 * Loops: the kernel runs a core-pipe helper with RLIMIT_CORE 1, so a crash
 * of crash_collector itself never dumps into a new crash_collector
 * (fs/coredump.c, umh_pipe_setup); a core of a process named like us is
 * discarded as well. Crashes of the other agents are reported like any
 * other, and vmm's per-exe rate limit bounds a crash-looping one. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "guest-agents/common/agent.h"
#include "guest-agents/crash_collector/crash.h"
#include "proto/agents.h"

/* /dev/kmsg, opened before the jail: our lines reach the console and
 * vm_syslog. -1: stderr. */
struct cc {
	int kmsg;
	struct crash c;
	struct crash_buf json, dmp;
	vmcrash_ChunkRequest chunk;
};

static void cc_log(const struct cc *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cc_log(const struct cc *cc, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "<4>crash_collector: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(cc->kmsg >= 0 ? cc->kmsg : STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* A decimal argument (no strtol: its scanner is a kilobyte and a half);
 * junk or overflow gives 0. */
static uint32_t cc_num(const char *s)
{
	uint64_t v = 0;

	for (; *s >= '0' && *s <= '9' && v <= UINT32_MAX; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return *s || v > UINT32_MAX ? 0 : (uint32_t)v;
}

static void cc_drain(void)
{
	char buf[65536];

	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
}

static int cc_call(struct rpc_client *cl, int idx, const void *req, void *resp)
{
	struct rpc_status st;
	int r = rpc_client_call(cl, &proto_crash_methods[idx], req, resp, &st);

	if (r < 0)
		return r;
	return st.code == RPC_OK ? 0 : -(int)st.code - 1000;
}

/* Connect to the crash endpoint, a few tries (vmm may be busy with another
 * crash). A connected fd or -errno. */
static int cc_connect(const struct agent_endpoint *ep)
{
	struct agent_backoff bo;
	int fd = -ENOTCONN;

	agent_backoff_init(&bo, 200, 1000);
	for (int i = 0; i < 4 && fd < 0; i++) {
		fd = agent_connect(ep, 2000);
		if (fd < 0 && i < 3)
			usleep(agent_backoff_next(&bo) * 1000u);
	}
	return fd;
}

/* Begin, the two files in chunks, End over fd. 0 or a negative error. */
static int cc_send(struct cc *cc, int fd, char *name, size_t nlen)
{
	vmcrash_BeginRequest b = vmcrash_BeginRequest_init_zero;
	vmcrash_BeginResponse br;
	vmcrash_ChunkResponse cr;
	vmcrash_EndRequest e = vmcrash_EndRequest_init_zero;
	vmcrash_EndResponse er;
	struct rpc_client cl;
	int r;

	rpc_client_init(&cl, fd, 10000);
	snprintf(b.exe, sizeof(b.exe), "%s", cc->c.comm);
	b.pid = cc->c.pid;
	b.signal = (uint32_t)cc->c.signal;
	b.json_size = cc->json.len;
	b.dmp_size = cc->dmp.len;
	r = cc_call(&cl, PROTO_CRASH_BEGIN, &b, &br);
	for (int f = 0; f < 2 && r == 0; f++) {
		const struct crash_buf *src = f ? &cc->dmp : &cc->json;
		for (size_t off = 0; off < src->len && r == 0; off += sizeof(cc->chunk.data.bytes)) {
			size_t k = src->len - off;
			if (k > sizeof(cc->chunk.data.bytes))
				k = sizeof(cc->chunk.data.bytes);
			cc->chunk.file = f ? vmcrash_File_DMP : vmcrash_File_JSON;
			cc->chunk.offset = off;
			cc->chunk.data.size = (pb_size_t)k;
			memcpy(cc->chunk.data.bytes, src->data + off, k);
			r = cc_call(&cl, PROTO_CRASH_CHUNK, &cc->chunk, &cr);
		}
	}
	if (r == 0 && (r = cc_call(&cl, PROTO_CRASH_END, &e, &er)) == 0)
		snprintf(name, nlen, "%s", er.name);
	rpc_client_release(&cl);
	return r;
}

int main(int argc, char **argv)
{
	static char cmdline[AGENT_CMDLINE_MAX];
	static struct cc cc;
	struct agent_endpoint ep;
	struct crash_src src = { .fd = STDIN_FILENO };
	struct utsname u;
	char uname_s[256] = "", name[256] = "";
	int r, fd;

	cc.kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	/* %P %s %e: global pid, signal, comm (core(5)). */
	if (argc > 1)
		cc.c.pid = cc_num(argv[1]);
	if (argc > 2)
		cc.c.signal = (int32_t)cc_num(argv[2]);
	if (argc > 3)
		snprintf(cc.c.comm, sizeof(cc.c.comm), "%s", argv[3]);
	if (!strncmp(cc.c.comm, "crash_collecto", 14)) {
		cc_drain();
		return 0;
	}
	if (agent_cmdline_read(NULL, cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	if (agent_endpoint_get(cmdline, "crash", &ep) < 0) {
		/* No crash endpoint (vmm without --crash-dir): nothing to do. */
		cc_drain();
		return 0;
	}
	if (uname(&u) == 0)
		snprintf(uname_s, sizeof(uname_s), "%s %s %s", u.sysname, u.release, u.version);
	/* Everything opened before the jail (HOUSE_STYLE.md "Sandbox order"):
	 * the connection too, so a unix-socket endpoint (AGENT_UNIX, tests)
	 * works from the empty root as well as vsock does. */
	fd = cc_connect(&ep);
	if (fd < 0) {
		cc_log(&cc, "%s (pid %u, signal %d): crash endpoint unreachable: %s", cc.c.comm, cc.c.pid,
		       cc.c.signal, strerror(-fd));
		cc_drain();
		return 1;
	}
	{
		int keep[3] = { STDIN_FILENO, fd, cc.kmsg };
		agent_jail(AGENT_UID_CRASH, AGENT_UID_CRASH, keep, cc.kmsg >= 0 ? 3 : 2, NULL);
	}
	r = crash_parse(&cc.c, &src);
	if (r < 0) {
		cc_log(&cc, "%s (pid %u): not a usable core (%s)", cc.c.comm, cc.c.pid, strerror(-r));
		cc_drain();
	}
	if (crash_report_json(&cc.c, &cc.json) < 0 ||
	    crash_minidump(&cc.c, (uint32_t)time(NULL), uname_s, &cc.dmp) < 0) {
		cc_log(&cc, "%s (pid %u): out of memory", cc.c.comm, cc.c.pid);
		return 1;
	}
	r = cc_send(&cc, fd, name, sizeof(name));
	close(fd);
	if (r < 0)
		cc_log(&cc, "%s (pid %u, signal %d): not sent to the host: %s", cc.c.comm, cc.c.pid, cc.c.signal,
		       r <= -1000 ? rpc_code_name((uint32_t)(-r - 1000)) : strerror(-r));
	else
		cc_log(&cc, "%s (pid %u, signal %d): sent to the host as %s", cc.c.comm, cc.c.pid, cc.c.signal, name);
	crash_free(&cc.c);
	return r < 0 ? 1 : 0;
}
