/* Guest agents as init services (docs/AGENTS.md): under vmm, init starts
 * each agent whose host endpoint vmm announced on the command line
 * (appvm.syslog= -> vm_syslog), and vshd when the image has /sbin/vshd
 * (it serves `vmm sh`). crash_collector is not a service: the
 * kernel runs it per core dump (core_pattern). */
#ifndef APPVM_INIT_AGENTS_H
#define APPVM_INIT_AGENTS_H
#include "guest-init/config.h"
#include "guest-init/svc.h"

/* The shell agent's program (guest-agents/vsh). */
#define INIT_AGENT_VSHD "/sbin/vshd"

/* Put the agents cfg asks for in front of svcs (they start before the
 * image's own services, so /dev/log exists when those start): respawning,
 * as root (each agent drops its privileges itself once its sockets are
 * open). An agent whose program is not executable is skipped with a
 * warning. Returns the number added, -ENOSPC when svcs is full. */
int init_agents_add(const struct init_config *cfg, struct init_svcs *svcs);
/* The vshd part of that (docs/AGENTS.md "vsh"), with its program at path:
 * added under vmm (appvm.exit_port= present) when path is executable; it
 * serves the host's `vmm sh`, so no endpoint needs announcing, and an image
 * without the program simply has no shell service. Returns 1 when added, 0
 * when not, -ENOSPC when svcs is full. */
int init_agents_add_vshd(const struct init_config *cfg, struct init_svcs *svcs, const char *path);
#endif
