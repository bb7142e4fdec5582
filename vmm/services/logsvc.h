/* The host log endpoint (docs/AGENTS.md, "Log"): vm_syslog's Write calls
 * (proto/vmlog.proto) become lines on stderr, lines in a file, or RFC 5424
 * messages to the host's syslog socket (--syslog stderr|file:PATH|syslog).
 *
 * Every record is tagged with the VM's name, the guest's timestamp,
 * facility.severity and app[pid]; bytes below 0x20, 0x7f and '\' in any
 * field are escaped (\n, \t, \xNN, \\) so a guest cannot forge lines.
 *
 * Nothing is lost while the sink is away: a record counts as stored only
 * once written; a failed write reopens the sink (the file is also reopened
 * when it was renamed or removed: rotation) and, failing that, the call is
 * answered UNAVAILABLE, so vm_syslog keeps the records and sends them again.
 * Records the endpoint already stored (seq <= acked of the same session) are
 * skipped, so a resent batch is never written twice.
 *
 * Thread-safe: every call takes the endpoint's mutex. */
#ifndef VMM_SERVICES_LOGSVC_H
#define VMM_SERVICES_LOGSVC_H
#include <stddef.h>
#include <stdint.h>

#include "proto/agents.h"
#include "vmm/config.h"

struct logsvc;

/* Open the sink of cfg->syslog (stderr, file: created 0640 and appended to,
 * syslog: a datagram socket to cfg->syslog_path or /dev/log; a host syslog
 * that is not running yet is not an error) for VM name. 0 or -errno with an
 * error line naming the option. */
int logsvc_open(struct logsvc **out, const struct vmm_config *cfg, const char *name);
void logsvc_close(struct logsvc *l);
/* svcdir_serve_fn: serve one vm_syslog connection (rpc_server_serve). */
void logsvc_serve(void *ctx, int fd);
/* The Write method's handler (exposed for tests): req is a
 * vmlog_WriteRequest, resp a vmlog_WriteResponse. */
uint32_t logsvc_write(void *ctx, const void *req, void *resp, struct rpc_status *st);

/* Format one record (exposed for tests). line: "GUEST-TIME VM FAC.SEV
 * APP[PID]: MSG\n" (the file and stderr sinks); rfc5424: "<PRI>1 GUEST-TIME
 * VM APP PROCID MSGID SD MSG" (RFC 5424 §6, no trailing newline). Returns the
 * length written (always NUL-terminated; cut to n - 1 bytes at most). */
size_t logsvc_format_line(const vmlog_Record *r, const char *vm, char *out, size_t n);
size_t logsvc_format_5424(const vmlog_Record *r, const char *vm, char *out, size_t n);
#endif
