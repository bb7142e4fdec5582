/* vmm's endpoints for the guest agents (hostsvc.h). */
#include "vmm/services/hostsvc.h"

#include <errno.h>
#include <stdlib.h>

#include "proto/agents.h"
#include "vmm/services/crashsvc.h"
#include "vmm/services/logsvc.h"
#include "vmm/services/svcdir.h"

struct hostsvc {
	struct svcdir *dir;
	struct logsvc *log;
	struct crashsvc *crash;
};

int hostsvc_open(struct hostsvc **out, const struct vmm_config *cfg, const char *vm_name)
{
	struct hostsvc *h;
	int e;

	*out = NULL;
	if (cfg->syslog == SYSLOG_NONE && !cfg->crash_dir)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (cfg->syslog != SYSLOG_NONE && (e = logsvc_open(&h->log, cfg, vm_name)) < 0)
		goto fail;
	if (cfg->crash_dir && (e = crashsvc_open(&h->crash, cfg->crash_dir, vm_name)) < 0)
		goto fail;
	if ((e = svcdir_open(&h->dir)) < 0)
		goto fail;
	if (h->log && (e = svcdir_listen(h->dir, PROTO_LOG_PORT, logsvc_serve, h->log)) < 0)
		goto fail;
	if (h->crash && (e = svcdir_listen(h->dir, PROTO_CRASH_PORT, crashsvc_serve, h->crash)) < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	hostsvc_close(h);
	return e;
}

const char *hostsvc_dir(const struct hostsvc *h)
{
	return h ? svcdir_path(h->dir) : NULL;
}

void hostsvc_close(struct hostsvc *h)
{
	if (!h)
		return;
	svcdir_close(h->dir);
	logsvc_close(h->log);
	crashsvc_close(h->crash);
	free(h);
}
