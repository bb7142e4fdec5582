/* libFuzzer target: vm_syslog's parsers over hostile bytes -- a /dev/log
 * datagram (RFC 5424 / RFC 3164), a /dev/kmsg record, an RFC 3339 time --
 * and the host's formatting of the result (logsvc, the line and RFC 5424
 * forms). Byte 0 selects (mod 3); the rest is the input. Invariants checked
 * besides ASan/UBSan: fields NUL-terminated inside their bounds, message
 * within its bound, facility 0..23 and severity 0..7, and the host's
 * formatted line holds no control byte but its final newline. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-agents/vm_syslog/vm_syslog.h"
#include "vmm/services/logsvc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check(const vmlog_Record *r)
{
	char line[12288];
	size_t n;

	if (memchr(r->app, 0, sizeof(r->app)) == NULL || memchr(r->msgid, 0, sizeof(r->msgid)) == NULL ||
	    memchr(r->sd, 0, sizeof(r->sd)) == NULL || r->msg.size > sizeof(r->msg.bytes) || r->facility > 23 ||
	    r->severity > 7)
		abort();
	n = logsvc_format_line(r, "vm", line, sizeof(line));
	if (n == 0 || n >= sizeof(line) || line[n - 1] != '\n' || strlen(line) != n)
		abort();
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
	n = logsvc_format_5424(r, "vm", line, sizeof(line));
	if (n >= sizeof(line) || strlen(line) != n || line[0] != '<')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vmlog_Record r;
	uint64_t kseq;
	int64_t us;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		vsl_parse_devlog(data + 1, size - 1, 1764675900000000LL, &r);
		fz_check(&r);
		break;
	case 1:
		if (vsl_parse_kmsg((const char *)data + 1, size - 1, 1000000, &kseq, &r) == 0)
			fz_check(&r);
		break;
	default:
		vsl_parse_rfc3339((const char *)data + 1, size - 1, &us);
		break;
	}
	return 0;
}
