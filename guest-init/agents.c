/* Guest agents as init services (agents.h). */
#include "guest-init/agents.h"
#include "guest-init/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int agents_prepend(struct init_svcs *svcs, const struct init_svc *s)
{
	for (int i = 0; i < svcs->n; i++)
		if (!strcmp(svcs->svc[i].name, s->name)) {
			init_log(INIT_LOG_WARN, "agent %s: a service of that name exists, using the agent", s->name);
			svcs->svc[i] = *s;
			return 0;
		}
	if (svcs->n >= INIT_SVC_MAX)
		return -ENOSPC;
	memmove(&svcs->svc[1], &svcs->svc[0], (size_t)svcs->n * sizeof(svcs->svc[0]));
	svcs->svc[0] = *s;
	svcs->n++;
	return 1;
}

int init_agents_add_vshd(const struct init_config *cfg, struct init_svcs *svcs, const char *path)
{
	struct init_svc s;

	if (cfg->agents == 0 || cfg->exit_port < 0 || strlen(path) >= sizeof(s.exec) || access(path, X_OK) < 0)
		return 0;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "vshd");
	strcpy(s.exec, path);
	s.respawn = true;
	if (agents_prepend(svcs, &s) < 0) {
		init_log(INIT_LOG_WARN, "agent vshd: %d services already, not started", INIT_SVC_MAX);
		return -ENOSPC;
	}
	return 1;
}

int init_agents_add(const struct init_config *cfg, struct init_svcs *svcs)
{
	struct init_svc s;
	int r, n;

	if (cfg->agents == 0)
		return 0;
	n = init_agents_add_vshd(cfg, svcs, INIT_AGENT_VSHD);
	if (n < 0)
		return n;
	if (!cfg->syslog_port)
		return n;
	if (access(cfg->vm_syslog, X_OK) < 0) {
		init_log(INIT_LOG_WARN, "agent vm_syslog: %s: %s; host log endpoint unused", cfg->vm_syslog,
			 strerror(errno));
		return n;
	}
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "vm_syslog");
	strcpy(s.exec, cfg->vm_syslog);
	snprintf(s.args, sizeof(s.args), "--buffer %llu", (unsigned long long)cfg->syslog_buffer);
	s.respawn = true;
	r = agents_prepend(svcs, &s);
	if (r < 0) {
		init_log(INIT_LOG_WARN, "agent vm_syslog: %d services already, not started", INIT_SVC_MAX);
		return r;
	}
	return n + r;
}
