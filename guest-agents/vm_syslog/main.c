/* vm_syslog: the guest's log agent (docs/AGENTS.md). Started by init as a
 * service when vmm announced appvm.syslog=; see vm_syslog.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-agents/common/agent.h"
#include "guest-agents/vm_syslog/vm_syslog.h"

static int main_usage(const char *why)
{
	fprintf(stderr,
		"vm_syslog: %s\n"
		"usage: vm_syslog [--buffer BYTES] [--socket PATH] [--kmsg PATH|none] [--flush-records N]\n"
		"                 [--flush-bytes BYTES] [--flush-ms MS] [--term-grace-ms MS] [--no-jail]\n",
		why);
	/* tini/s6 convention (HOUSE_STYLE.md): 100 for usage errors. */
	return 100;
}

int main(int argc, char **argv)
{
	static char cmdline[AGENT_CMDLINE_MAX];
	struct vsl_opts o;
	char why[160];
	int r;

	vsl_opts_default(&o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (!strcmp(a, "--no-jail")) {
			o.jail = false;
			continue;
		}
		if (!val) {
			snprintf(why, sizeof(why), "%s: missing value or unknown option", a);
			return main_usage(why);
		}
		i++;
		if (!strcmp(a, "--socket")) {
			o.socket_path = val;
		} else if (!strcmp(a, "--kmsg")) {
			o.kmsg_path = strcmp(val, "none") ? val : NULL;
		} else if (!strcmp(a, "--buffer") && !agent_parse_size(val, VSL_QUEUE_MIN, 1ull << 30, &n)) {
			o.buffer = (size_t)n;
		} else if (!strcmp(a, "--flush-records") && !agent_parse_size(val, 1, 16, &n)) {
			o.flush_records = (unsigned)n;
		} else if (!strcmp(a, "--flush-bytes") && !agent_parse_size(val, 1, 1u << 20, &n)) {
			o.flush_bytes = (size_t)n;
		} else if (!strcmp(a, "--flush-ms") && !agent_parse_size(val, 0, 60000, &n)) {
			o.flush_ms = (unsigned)n;
		} else if (!strcmp(a, "--term-grace-ms") && !agent_parse_size(val, 0, 600000, &n)) {
			o.term_grace_ms = (unsigned)n;
		} else {
			snprintf(why, sizeof(why), "%s '%s': unknown option or value out of range", a, val);
			return main_usage(why);
		}
	}
	r = (int)agent_cmdline_read(NULL, cmdline, sizeof(cmdline));
	if (r < 0 && !getenv("AGENT_UNIX")) {
		fprintf(stderr, "vm_syslog: /proc/cmdline: %s\n", strerror(-r));
		return 111;
	}
	o.cmdline = cmdline;
	r = vsl_run(&o);
	return r < 0 ? 111 : 0;
}
