/* The host crash endpoint (docs/AGENTS.md, "Crash"): crash_collector sends
 * one crash per connection (Begin, Chunk..., End, proto/vmcrash.proto) and
 * vmm stores DIR/<vm>-<time>-<exe>.json and .dmp (--crash-dir DIR).
 *
 * Bounds (guest input is hostile): the report at most CRASHSVC_JSON_MAX
 * and the minidump at most CRASHSVC_DMP_MAX bytes (announced in Begin,
 * enforced per chunk), chunks in order, at most CRASHSVC_RATE crashes per
 * exe name within CRASHSVC_RATE_WINDOW_S seconds (more are refused with
 * RESOURCE_EXHAUSTED), and at most CRASHSVC_KEEP crash pairs kept per VM
 * run. Files are written as ".part" and renamed at End, so a reader never
 * sees half a crash; an aborted connection leaves nothing behind.
 *
 * Thread-safe: the rate table takes the endpoint's mutex. */
#ifndef VMM_SERVICES_CRASHSVC_H
#define VMM_SERVICES_CRASHSVC_H
#include <stdint.h>

#include "proto/agents.h"

#define CRASHSVC_JSON_MAX (256u << 10)
#define CRASHSVC_DMP_MAX (32u << 20)
#define CRASHSVC_RATE 3
#define CRASHSVC_RATE_WINDOW_S 60
#define CRASHSVC_KEEP 100

struct crashsvc;

/* dir must be an existing, writable directory: 0, or -ENOTDIR/-EACCES/
 * -ENOENT with an error line naming --crash-dir. */
int crashsvc_open(struct crashsvc **out, const char *dir, const char *vm_name);
void crashsvc_close(struct crashsvc *c);
/* svcdir_serve_fn: one crash_collector connection. */
void crashsvc_serve(void *ctx, int fd);
/* Turn an exe name into a file-name part: [A-Za-z0-9._-], others '_',
 * leading dots too, at most 32 bytes, "unknown" when empty. */
void crashsvc_name_part(const char *in, char *out, size_t n);
#endif
