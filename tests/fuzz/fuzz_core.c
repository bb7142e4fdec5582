/* libFuzzer target: crash_collector's core parser (a core dump is hostile
 * input: its memory is the crashing program's, its layout the kernel's)
 * and what is built from the result -- the JSON report and the minidump.
 * Invariants besides ASan/UBSan: counts within their arrays, each stack
 * window no larger than its bound, every build-id within its bound, the
 * report a single line, the minidump's directory inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-agents/crash_collector/crash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct crash c;
	struct crash_src src = { .fd = -1, .mem = data, .len = size };
	struct crash_buf json = { 0 }, dmp = { 0 };

	memset(&c, 0, sizeof(c));
	c.pid = 1;
	if (crash_parse(&c, &src) == 0) {
		if (c.nthreads > CRASH_MAX_THREADS || c.nmodules > CRASH_MAX_MODULES || c.nmaps > CRASH_MAX_MAPS ||
		    c.nauxv > 64 || c.bytes_read != size)
			abort();
		for (unsigned i = 0; i < c.nthreads; i++)
			if (c.threads[i].stack_len > CRASH_STACK_CRASHING + CRASH_REDZONE ||
			    c.threads[i].stack_got > c.threads[i].stack_len)
				abort();
		for (unsigned i = 0; i < c.nmodules; i++)
			if (c.modules[i].build_id_len > CRASH_BUILD_ID_MAX || !memchr(c.modules[i].path, 0, CRASH_PATH_MAX))
				abort();
		if (crash_report_json(&c, &json) == 0 &&
		    (json.len == 0 || memchr(json.data, '\n', json.len) != json.data + json.len - 1))
			abort();
		if (crash_minidump(&c, 0, "fuzz", &dmp) == 0) {
			uint32_t dir, n;
			memcpy(&n, dmp.data + 8, 4);
			memcpy(&dir, dmp.data + 12, 4);
			if (dmp.len < 32 || (uint64_t)dir + 12ull * n > dmp.len)
				abort();
			for (uint32_t i = 0; i < n; i++) {
				uint32_t sz, rva;
				memcpy(&sz, dmp.data + dir + 12 * i + 4, 4);
				memcpy(&rva, dmp.data + dir + 12 * i + 8, 4);
				if ((uint64_t)rva + sz > dmp.len)
					abort();
			}
		}
	} else if (c.bytes_read != size && size < CRASH_READ_MAX) {
		/* Even a refused core is read to its end (the kernel waits). */
		if (c.bytes_read < 64 && size >= 64)
			abort();
	}
	crash_buf_free(&json);
	crash_buf_free(&dmp);
	crash_free(&c);
	return 0;
}
