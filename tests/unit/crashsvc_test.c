/* vmm/services/crashsvc.c: a crash arriving as Begin/Chunk/End through
 * svcdir's socket is stored as <vm>-<time>-<exe>.json/.dmp with the bytes
 * sent; size caps, chunk order, the per-exe rate limit, an aborted upload
 * leaving nothing, and exe names made safe for file names. */
#include "tests/unit/t.h"
#include "vmm/services/crashsvc.h"
#include "vmm/services/svcdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char tmp[64], store[96];
static struct svcdir *d;
static struct crashsvc *cs;

static int conn(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/9003", svcdir_path(d));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int call(struct rpc_client *c, int idx, const void *req, void *resp, struct rpc_status *st)
{
	return rpc_client_call(c, &proto_crash_methods[idx], req, resp, st);
}

/* Upload json + dmp (sizes as given) in 32000-byte chunks; returns the
 * first non-OK status code, or RPC_OK with the stored name in name. */
static uint32_t upload(const char *exe, const uint8_t *json, size_t jn, const uint8_t *dmp, size_t dn, char *name)
{
	vmcrash_BeginRequest b = vmcrash_BeginRequest_init_zero;
	vmcrash_BeginResponse br;
	vmcrash_ChunkRequest *ch = calloc(1, sizeof(*ch));
	vmcrash_ChunkResponse cr;
	vmcrash_EndRequest e = vmcrash_EndRequest_init_zero;
	vmcrash_EndResponse er;
	struct rpc_status st = { 0 };
	struct rpc_client c;
	int fd = conn();
	uint32_t code = RPC_INTERNAL;

	rpc_client_init(&c, fd, 5000);
	snprintf(b.exe, sizeof(b.exe), "%s", exe);
	b.pid = 7;
	b.signal = 11;
	b.json_size = jn;
	b.dmp_size = dn;
	if (call(&c, PROTO_CRASH_BEGIN, &b, &br, &st) || st.code)
		goto out;
	for (int f = 0; f < 2; f++) {
		const uint8_t *p = f ? dmp : json;
		size_t n = f ? dn : jn;
		for (size_t off = 0; off < n; off += 32000) {
			size_t k = n - off < 32000 ? n - off : 32000;
			ch->file = f ? vmcrash_File_DMP : vmcrash_File_JSON;
			ch->offset = off;
			ch->data.size = (pb_size_t)k;
			memcpy(ch->data.bytes, p + off, k);
			if (call(&c, PROTO_CRASH_CHUNK, ch, &cr, &st) || st.code)
				goto out;
		}
	}
	if (call(&c, PROTO_CRASH_END, &e, &er, &st) || st.code)
		goto out;
	snprintf(name, 256, "%s", er.name);
out:
	code = st.code;
	rpc_client_release(&c);
	close(fd);
	free(ch);
	return code;
}

static unsigned files_in_store(const char *suffix)
{
	DIR *dp = opendir(store);
	struct dirent *e;
	unsigned n = 0;

	while (dp && (e = readdir(dp))) {
		size_t l = strlen(e->d_name), s = strlen(suffix);
		n += l > s && !strcmp(e->d_name + l - s, suffix);
	}
	if (dp)
		closedir(dp);
	return n;
}

static void test_store(void)
{
	static uint8_t dmp[100000];
	const char json[] = "{\"pid\":7}";
	char name[256] = "", path[512];
	struct stat st;
	int fd;

	for (size_t i = 0; i < sizeof(dmp); i++)
		dmp[i] = (uint8_t)(i * 7);
	CHECK_EQ(upload("segv", (const uint8_t *)json, strlen(json), dmp, sizeof(dmp), name), RPC_OK);
	CHECK(!strncmp(name, "web-", 4));
	CHECK(strstr(name, "-segv") != NULL);
	snprintf(path, sizeof(path), "%s/%s.dmp", store, name);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)sizeof(dmp));
	fd = open(path, O_RDONLY);
	{
		static uint8_t back[100000];
		CHECK_EQ(read(fd, back, sizeof(back)), (long)sizeof(back));
		CHECK(!memcmp(back, dmp, sizeof(dmp)));
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/%s.json", store, name);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)strlen(json));
	CHECK_EQ(files_in_store(".part"), 0);
}

static void test_bounds(void)
{
	vmcrash_BeginRequest b = vmcrash_BeginRequest_init_zero;
	vmcrash_BeginResponse br;
	vmcrash_ChunkRequest *ch = calloc(1, sizeof(*ch));
	vmcrash_ChunkResponse cr;
	vmcrash_EndRequest e = vmcrash_EndRequest_init_zero;
	vmcrash_EndResponse er;
	struct rpc_status st;
	struct rpc_client c;
	int fd = conn();
	unsigned before = files_in_store(".dmp");

	rpc_client_init(&c, fd, 5000);
	snprintf(b.exe, sizeof(b.exe), "big");
	b.dmp_size = CRASHSVC_DMP_MAX + 1ull;
	CHECK_EQ(call(&c, PROTO_CRASH_BEGIN, &b, &br, &st), 0);
	CHECK_EQ(st.code, RPC_RESOURCE_EXHAUSTED);
	/* Chunk before a Begin that succeeded. */
	ch->data.size = 1;
	CHECK_EQ(call(&c, PROTO_CRASH_CHUNK, ch, &cr, &st), 0);
	CHECK_EQ(st.code, RPC_FAILED_PRECONDITION);
	b.dmp_size = 10;
	b.json_size = 2;
	snprintf(b.exe, sizeof(b.exe), "order");
	CHECK_EQ(call(&c, PROTO_CRASH_BEGIN, &b, &br, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(files_in_store(".part"), 2);
	/* A chunk past the announced size aborts the crash. */
	ch->file = vmcrash_File_DMP;
	ch->data.size = 11;
	CHECK_EQ(call(&c, PROTO_CRASH_CHUNK, ch, &cr, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK_EQ(files_in_store(".part"), 0);
	/* Every Begin counts against its exe's rate: a new name each time. */
	snprintf(b.exe, sizeof(b.exe), "order2");
	CHECK_EQ(call(&c, PROTO_CRASH_BEGIN, &b, &br, &st), 0);
	/* Out of order. */
	ch->offset = 5;
	ch->data.size = 5;
	CHECK_EQ(call(&c, PROTO_CRASH_CHUNK, ch, &cr, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	snprintf(b.exe, sizeof(b.exe), "order3");
	CHECK_EQ(call(&c, PROTO_CRASH_BEGIN, &b, &br, &st), 0);
	/* End before every byte. */
	CHECK_EQ(call(&c, PROTO_CRASH_END, &e, &er, &st), 0);
	CHECK_EQ(st.code, RPC_FAILED_PRECONDITION);
	CHECK_EQ(files_in_store(".part"), 0);
	/* A Begin and then the connection goes: nothing left behind. */
	snprintf(b.exe, sizeof(b.exe), "order4");
	CHECK_EQ(call(&c, PROTO_CRASH_BEGIN, &b, &br, &st), 0);
	CHECK_EQ(files_in_store(".part"), 2);
	rpc_client_release(&c);
	close(fd);
	for (int i = 0; i < 100 && files_in_store(".part"); i++)
		usleep(10000);
	CHECK_EQ(files_in_store(".part"), 0);
	CHECK_EQ(files_in_store(".dmp"), before);
	free(ch);
}

static void test_rate_limit(void)
{
	char name[256];
	uint8_t x = 1;

	/* "segv" used one of its three already (test_store). */
	CHECK_EQ(upload("segv", &x, 1, &x, 1, name), RPC_OK);
	CHECK_EQ(upload("segv", &x, 1, &x, 1, name), RPC_OK);
	CHECK_EQ(upload("segv", &x, 1, &x, 1, name), RPC_RESOURCE_EXHAUSTED);
	/* Another exe is not affected; same-second crashes get numbered. */
	CHECK_EQ(upload("other", &x, 1, &x, 1, name), RPC_OK);
	CHECK_EQ(upload("other", &x, 1, &x, 1, name), RPC_OK);
	CHECK(strstr(name, "-other") != NULL);
}

static void test_name_part(void)
{
	char o[64];

	crashsvc_name_part("../../etc/passwd", o, sizeof(o));
	CHECK(!strcmp(o, "_._.._etc_passwd"));
	crashsvc_name_part("", o, sizeof(o));
	CHECK(!strcmp(o, "unknown"));
	crashsvc_name_part("a b\n", o, sizeof(o));
	CHECK(!strcmp(o, "a_b_"));
	crashsvc_name_part("0123456789012345678901234567890123456789", o, sizeof(o));
	CHECK_EQ(strlen(o), 32);
}

static void test_open_checks(void)
{
	struct crashsvc *x;
	char f[128];
	int fd;

	CHECK_EQ(crashsvc_open(&x, "/nonexistent/crash", "v"), -ENOENT);
	snprintf(f, sizeof(f), "%s/file", tmp);
	fd = open(f, O_WRONLY | O_CREAT, 0600);
	close(fd);
	CHECK_EQ(crashsvc_open(&x, f, "v"), -ENOTDIR);
	unlink(f);
}

int main(void)
{
	t_suite = "crashsvc";
	snprintf(tmp, sizeof(tmp), "/tmp/crashsvc_test_XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(store, sizeof(store), "%s/store", tmp);
	mkdir(store, 0700);
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	if (crashsvc_open(&cs, store, "web") || svcdir_open(&d) || svcdir_listen(d, 9003, crashsvc_serve, cs))
		return 1;
	RUN(test_store);
	RUN(test_bounds);
	RUN(test_rate_limit);
	RUN(test_name_part);
	RUN(test_open_checks);
	svcdir_close(d);
	crashsvc_close(cs);
	if (system("rm -rf /tmp/crashsvc_test_*") != 0)
		return 1;
	return t_done();
}
