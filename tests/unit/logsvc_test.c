/* vmm/services/logsvc.c + svcdir.c: record formatting (tags, escaping,
 * RFC 5424), the Write handler's acknowledgements (resends skipped, a new
 * session restarts), a rotated file reopened, a host syslog that is down
 * answered UNAVAILABLE and nothing lost once it is back, and the endpoint
 * reached through svcdir's unix socket with the RPC client. */
#include "tests/unit/t.h"
#include "vmm/services/logsvc.h"
#include "vmm/services/svcdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char tmp[64];

static vmlog_Record rec(uint64_t seq, const char *app, const char *msg)
{
	vmlog_Record r = vmlog_Record_init_zero;

	r.seq = seq;
	r.time_us = 1764675900123456LL;  /* 2025-12-02T11:45:00.123456Z */
	r.facility = 1;
	r.severity = 6;
	snprintf(r.app, sizeof(r.app), "%s", app);
	r.pid = 42;
	r.msg.size = (pb_size_t)strlen(msg);
	memcpy(r.msg.bytes, msg, r.msg.size);
	return r;
}

static void test_format_line(void)
{
	char out[512];
	vmlog_Record r = rec(1, "logger", "hello\nforged 2025 line\x1b[2J\\");

	CHECK_EQ(logsvc_format_line(&r, "web1", out, sizeof(out)), strlen(out));
	CHECK(!strcmp(out, "2025-12-02T11:45:00.123456Z web1 user.info logger[42]: hello\\nforged 2025 line\\x1b[2J\\\\\n"));
	r = rec(2, "kernel", "virtio_net: probe");
	r.source = vmlog_Source_KMSG;
	r.facility = 0;
	r.severity = 3;
	r.pid = 0;
	r.boot_us = 12345678;
	logsvc_format_line(&r, "web1", out, sizeof(out));
	CHECK(!strcmp(out, "2025-12-02T11:45:00.123456Z web1 kern.err kernel: [   12.345678] virtio_net: probe\n"));
	/* Out-of-range facility and an empty app are clamped, not trusted. */
	r = rec(3, "", "x");
	r.facility = 99;
	r.severity = 15;
	r.truncated = true;
	logsvc_format_line(&r, "v", out, sizeof(out));
	CHECK(!strcmp(out, "2025-12-02T11:45:00.123456Z v user.debug -[42]: x [truncated]\n"));
	/* A small buffer still ends in a newline. */
	CHECK_EQ(logsvc_format_line(&r, "v", out, 10), 9);
	CHECK_EQ(out[8], '\n');
}

static void test_format_5424(void)
{
	char out[512];
	vmlog_Record r = rec(1, "my app", "m\x01");

	snprintf(r.msgid, sizeof(r.msgid), "ID47");
	snprintf(r.sd, sizeof(r.sd), "[ex@1 a=\"b\"]");
	logsvc_format_5424(&r, "web1", out, sizeof(out));
	/* RFC 5424 §6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
	 * PROCID SP MSGID SP STRUCTURED-DATA SP MSG; PRI = 1*8+6. */
	CHECK(!strcmp(out, "<14>1 2025-12-02T11:45:00.123456Z web1 my_app 42 ID47 [ex@1 a=\"b\"] m\\x01"));
	r = rec(2, "", "");
	r.pid = 0;
	logsvc_format_5424(&r, "web1", out, sizeof(out));
	CHECK(!strcmp(out, "<14>1 2025-12-02T11:45:00.123456Z web1 - - - - "));
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static unsigned count(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static uint32_t write_batch(struct logsvc *l, uint64_t session, uint64_t first, unsigned n, uint64_t *acked)
{
	vmlog_WriteRequest *q = calloc(1, sizeof(*q));
	vmlog_WriteResponse o = vmlog_WriteResponse_init_zero;
	struct rpc_status st = { 0 };
	uint32_t code;

	q->session = session;
	q->records_count = (pb_size_t)n;
	for (unsigned i = 0; i < n; i++) {
		char m[32];
		snprintf(m, sizeof(m), "record-%llu", (unsigned long long)(first + i));
		q->records[i] = rec(first + i, "t", m);
	}
	code = logsvc_write(l, q, &o, &st);
	*acked = o.acked;
	free(q);
	return code;
}

static void test_file_acks_and_rotation(void)
{
	struct vmm_config cfg = { .syslog = SYSLOG_FILE };
	char path[128], rotated[140];
	struct logsvc *l;
	uint64_t acked;

	snprintf(path, sizeof(path), "%s/guest.log", tmp);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	cfg.syslog_path = path;
	CHECK_EQ(logsvc_open(&l, &cfg, "vm1"), 0);
	CHECK_EQ(write_batch(l, 7, 1, 3, &acked), RPC_OK);
	CHECK_EQ(acked, 3);
	/* The same batch again (its ack was lost): nothing written twice. */
	CHECK_EQ(write_batch(l, 7, 2, 4, &acked), RPC_OK);
	CHECK_EQ(acked, 5);
	CHECK_EQ(count(slurp(path), "record-"), 5);
	CHECK_EQ(count(slurp(path), "record-3\n"), 1);
	/* logrotate: rename, then the next batch goes to a new file. */
	CHECK(rename(path, rotated) == 0);
	CHECK_EQ(write_batch(l, 7, 6, 2, &acked), RPC_OK);
	CHECK_EQ(acked, 7);
	CHECK_EQ(count(slurp(rotated), "record-"), 5);
	CHECK_EQ(count(slurp(path), "record-"), 2);
	CHECK(strstr(slurp(path), "vm1 user.info t[42]: record-6\n") != NULL);
	/* A new session (vm_syslog restarted) numbers from 1 again. */
	CHECK_EQ(write_batch(l, 8, 1, 1, &acked), RPC_OK);
	CHECK_EQ(acked, 1);
	CHECK_EQ(count(slurp(path), "record-"), 3);
	logsvc_close(l);
	unlink(path);
	unlink(rotated);
	/* A file that cannot be created is bad input. */
	cfg.syslog_path = "/nonexistent/dir/log";
	CHECK_EQ(logsvc_open(&l, &cfg, "vm1"), -ENOENT);
	CHECK(l == NULL);
}

static int dgram_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_host_syslog_restart(void)
{
	struct vmm_config cfg = { .syslog = SYSLOG_HOST };
	char path[128], buf[4096];
	struct logsvc *l;
	uint64_t acked;
	int s;

	snprintf(path, sizeof(path), "%s/log.sock", tmp);
	cfg.syslog_path = path;
	/* Not running at start: not an error, records wait. */
	CHECK_EQ(logsvc_open(&l, &cfg, "vm1"), 0);
	CHECK_EQ(write_batch(l, 1, 1, 2, &acked), RPC_UNAVAILABLE);
	CHECK_EQ(acked, 0);
	s = dgram_server(path);
	CHECK(s >= 0);
	CHECK_EQ(write_batch(l, 1, 1, 2, &acked), RPC_OK);
	CHECK_EQ(acked, 2);
	CHECK(recv(s, buf, sizeof(buf), 0) > 0);
	CHECK(!strncmp(buf, "<14>1 2025-12-02T11:45:00.123456Z vm1 t 42 - - record-1", 55));
	CHECK(recv(s, buf, sizeof(buf), 0) > 0);
	/* The host syslog restarts (a new socket at the same path). */
	close(s);
	unlink(path);
	CHECK_EQ(write_batch(l, 1, 3, 2, &acked), RPC_UNAVAILABLE);
	CHECK_EQ(acked, 2);
	s = dgram_server(path);
	CHECK_EQ(write_batch(l, 1, 3, 2, &acked), RPC_OK);
	CHECK_EQ(acked, 4);
	memset(buf, 0, sizeof(buf));
	CHECK(recv(s, buf, sizeof(buf) - 1, 0) > 0);
	CHECK(strstr(buf, "record-3") != NULL);
	CHECK(recv(s, buf, sizeof(buf) - 1, 0) > 0);
	CHECK(strstr(buf, "record-4") != NULL);
	CHECK(recv(s, buf, sizeof(buf) - 1, 0) < 0);
	close(s);
	unlink(path);
	logsvc_close(l);
}

/* Through the directory's socket with the real RPC client. */
static void test_endpoint_rpc(void)
{
	struct vmm_config cfg = { .syslog = SYSLOG_FILE };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	vmlog_WriteRequest *q = calloc(1, sizeof(*q));
	vmlog_WriteResponse o;
	struct rpc_status st;
	struct rpc_client c;
	struct svcdir *d;
	struct logsvc *l;
	char path[128], dir[128];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/rpc.log", tmp);
	cfg.syslog_path = path;
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	CHECK_EQ(logsvc_open(&l, &cfg, "vm2"), 0);
	CHECK_EQ(svcdir_open(&d), 0);
	snprintf(dir, sizeof(dir), "%s", svcdir_path(d));
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK_EQ(svcdir_listen(d, 9002, logsvc_serve, l), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/9002", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	rpc_client_init(&c, fd, 5000);
	q->session = 5;
	q->records_count = 2;
	q->records[0] = rec(1, "a", "one");
	q->records[1] = rec(2, "b", "two");
	CHECK_EQ(rpc_client_call(&c, &proto_log_write, q, &o, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(o.acked, 2);
	CHECK_EQ(count(slurp(path), "vm2 user.info"), 2);
	/* svcdir_close ends the live connection and removes the directory. */
	svcdir_close(d);
	CHECK(stat(dir, &sb) < 0 && errno == ENOENT);
	CHECK(rpc_client_call(&c, &proto_log_write, q, &o, &st) < 0);
	rpc_client_release(&c);
	close(fd);
	logsvc_close(l);
	unlink(path);
	free(q);
	unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
	t_suite = "logsvc";
	snprintf(tmp, sizeof(tmp), "/tmp/logsvc_test_XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_format_line);
	RUN(test_format_5424);
	RUN(test_file_acks_and_rotation);
	RUN(test_host_syslog_restart);
	RUN(test_endpoint_rpc);
	rmdir(tmp);
	return t_done();
}
