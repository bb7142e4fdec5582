/* vmm's endpoints for the guest agents (docs/AGENTS.md): the log endpoint
 * (--syslog) and the crash endpoint (--crash-dir), each a unix socket in
 * svcdir's private directory that the vsock device forwards host ports
 * 9002 and 9003 to. */
#ifndef VMM_SERVICES_HOSTSVC_H
#define VMM_SERVICES_HOSTSVC_H
#include "vmm/config.h"

struct hostsvc;

/* Open the sinks cfg asks for, then the directory and its listeners.
 * *out stays NULL when cfg asks for none. 0, or -errno with an error line
 * naming the option (-ENOENT/-EACCES/-ENOTDIR/-ENAMETOOLONG: bad input). */
int hostsvc_open(struct hostsvc **out, const struct vmm_config *cfg, const char *vm_name);
/* The directory for vsock_set_svc_dir (dev_env.svc_dir); NULL for NULL. */
const char *hostsvc_dir(const struct hostsvc *h);
/* Stop the endpoints (after the vsock device is gone, so every record the
 * guest sent has been written), remove the directory. NULL ok. */
void hostsvc_close(struct hostsvc *h);
#endif
