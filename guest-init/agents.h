/* Guest agents as init services (docs/AGENTS.md): under vmm, init starts
 * each agent whose host endpoint vmm announced on the command line
 * (appvm.syslog= -> vm_syslog). crash_collector is not a service: the
 * kernel runs it per core dump (core_pattern). */
#ifndef APPVM_INIT_AGENTS_H
#define APPVM_INIT_AGENTS_H
#include "guest-init/config.h"
#include "guest-init/svc.h"

/* Put the agents cfg asks for in front of svcs (they start before the
 * image's own services, so /dev/log exists when those start): respawning,
 * as root (each agent drops its privileges itself once its sockets are
 * open). An agent whose program is not executable is skipped with a
 * warning. Returns the number added, -ENOSPC when svcs is full. */
int init_agents_add(const struct init_config *cfg, struct init_svcs *svcs);
#endif
