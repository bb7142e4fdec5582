/* libFuzzer target: the p9 server fed a hostile 9P2000.L message stream.
 *
 * Each input runs against a fresh temporary tree (tmpfs when /dev/shm
 * exists) holding a writable share "sh" (file, dir, FIFO, and symlinks
 * up -> ../outside, abs -> TMP/outside, root-ish ones), a read-only share
 * "ro", and TMP/outside, which is never granted. Before the input the
 * harness sends Tversion and attaches fid 0 (synthetic root), 1 ("sh") and
 * 2 ("ro"), so the fuzzer reaches the file handlers at once. The input is
 * then cut into messages by their own size fields (clamped to what is
 * left, so lying sizes are exercised), each answered into a buffer whose
 * size the next input byte picks.
 *
 * Checked after every message: a reply is formed (or -EINVAL/-ENOBUFS
 * exactly when the request or buffer is too small), it fits the buffer and
 * the msize, its size field is its length, its tag is the request's, its
 * type is the request's + 1 or Rlerror. Checked after the input: nothing
 * outside the shares changed (TMP/outside still holds exactly "secret"
 * with its text, the canary file "sentinel" beside the shares still
 * has its text). Corpus: tests/fuzz/corpus/p9/ (message streams without
 * the harness's preamble). */
#include "p9/p9.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_MSIZE 16384
#define FUZZ_MAX_MSGS 512

static void fuzz_put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static int fuzz_same(const char *path, const char *text)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

static int fuzz_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	/* The fuzzer may chmod directories to 0: make them removable. */
	if (flag == FTW_DP)
		chmod(p, 0700);
	remove(p);
	return 0;
}

static void fuzz_check_reply(const uint8_t *req, size_t n, const uint8_t *rep, long r, size_t cap)
{
	if (r < 0) {
		if (!((r == -EINVAL && n < 7) || (r == -ENOBUFS && cap < P9_REPLY_MIN)))
			__builtin_trap();
		return;
	}
	uint32_t size = (uint32_t)rep[0] | (uint32_t)rep[1] << 8 | (uint32_t)rep[2] << 16 |
			(uint32_t)rep[3] << 24;
	if (r < 7 || (size_t)r > cap || r > FUZZ_MSIZE || size != (uint32_t)r)
		__builtin_trap();
	if (rep[5] != req[5] || rep[6] != req[6])
		__builtin_trap();
	if (rep[4] != 7 && rep[4] != (uint8_t)(req[4] + 1))
		__builtin_trap();
	if (rep[4] == 7 && r != 11)
		__builtin_trap();
}

/* Tiny encoder for the preamble: d (u32), s (string). */
static size_t fuzz_msg(uint8_t *m, uint8_t type, const char *fmt, ...)
{
	va_list ap;
	size_t n = 7;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt == 'd') {
			uint32_t v = va_arg(ap, uint32_t);
			for (int i = 0; i < 4; i++)
				m[n++] = (uint8_t)(v >> (8 * i));
		} else {
			const char *s = va_arg(ap, const char *);
			size_t l = strlen(s);
			m[n++] = (uint8_t)l;
			m[n++] = (uint8_t)(l >> 8);
			memcpy(m + n, s, l);
			n += l;
		}
	}
	va_end(ap);
	for (int i = 0; i < 4; i++)
		m[i] = (uint8_t)(n >> (8 * i));
	m[4] = type;
	m[5] = m[6] = 0;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rep[FUZZ_MSIZE + 64];
	char tmp[64], p[256], sh[128], ro[128], out[128];
	uint8_t m[128];

	snprintf(tmp, sizeof(tmp), "%s/fuzzp9.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(tmp))
		abort();
	snprintf(sh, sizeof(sh), "%s/share", tmp);
	snprintf(ro, sizeof(ro), "%s/ro", tmp);
	snprintf(out, sizeof(out), "%s/outside", tmp);
	if (mkdir(sh, 0755) || mkdir(ro, 0755) || mkdir(out, 0755))
		abort();
	snprintf(p, sizeof(p), "%s/secret", out);
	fuzz_put(p, "SECRET");
	snprintf(p, sizeof(p), "%s/sentinel", tmp);
	fuzz_put(p, "SENTINEL");
	snprintf(p, sizeof(p), "%s/hello", sh);
	fuzz_put(p, "hello world");
	snprintf(p, sizeof(p), "%s/r", ro);
	fuzz_put(p, "read only");
	snprintf(p, sizeof(p), "%s/dir", sh);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir/f", sh);
	fuzz_put(p, "f");
	snprintf(p, sizeof(p), "%s/fifo", sh);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/up", sh);
	if (symlink("../outside", p))
		abort();
	snprintf(p, sizeof(p), "%s/abs", sh);
	if (symlink(out, p))
		abort();
	snprintf(p, sizeof(p), "%s/top", sh);
	if (symlink("..", p))
		abort();

	struct p9_share_config shares[2] = {
		{ .name = "sh", .path = sh, .dirfd = -1 },
		{ .name = "ro", .path = ro, .dirfd = -1, .ro = 1 },
	};
	struct p9_config cfg = {
		.shares = shares, .n_shares = 2, .msize_max = FUZZ_MSIZE, .fid_limit = 32,
		.guest_uid = 1000, .guest_gid = 1000,
	};
	struct p9_server *s = p9_server_new(&cfg);
	if (!s)
		abort();
	size_t n = fuzz_msg(m, 100, "ds", (uint32_t)FUZZ_MSIZE, "9P2000.L");
	if (p9_handle(s, m, n, rep, sizeof(rep)) <= 0)
		abort();
	const char *anames[3] = { "", "sh", "ro" };
	for (uint32_t i = 0; i < 3; i++) {
		n = fuzz_msg(m, 104, "ddssd", i, 0xffffffffu, "u", anames[i], 0u);
		if (p9_handle(s, m, n, rep, sizeof(rep)) <= 0 || rep[4] != 105)
			abort();
	}

	for (int k = 0; k < FUZZ_MAX_MSGS && size > 0; k++) {
		/* First byte: the reply buffer the transport offers. */
		size_t cap = data[0] < 8 ? (size_t)data[0] * 3 : sizeof(rep);
		data++;
		size--;
		size_t len = size;
		if (size >= 4) {
			uint32_t want = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
					(uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
			if (want >= 7 && want < len)
				len = want;
		}
		long r = p9_handle(s, data, len, rep, cap);
		fuzz_check_reply(data, len, rep, r, cap);
		data += len;
		size -= len;
	}
	p9_server_free(s);

	snprintf(p, sizeof(p), "%s/secret", out);
	int ok = fuzz_same(p, "SECRET");
	snprintf(p, sizeof(p), "%s/sentinel", tmp);
	ok = ok && fuzz_same(p, "SENTINEL");
	int entries = 0;
	DIR *d = opendir(out);
	for (struct dirent *e; d && (e = readdir(d));)
		entries++;
	if (d)
		closedir(d);
	d = opendir(tmp);
	int top = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		top++;
	if (d)
		closedir(d);
	nftw(tmp, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
	/* ".", "..", "secret"; and ".", "..", share, ro, outside, sentinel */
	if (!ok || entries != 3 || top != 6)
		__builtin_trap();
	return 0;
}
