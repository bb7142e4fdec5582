/* One virtual machine: KVM fds, guest memory, buses, devices, vCPU threads
 * and the event loop. vm_run owns the whole lifetime. */
#ifndef VMM_VM_H
#define VMM_VM_H
#include <stdint.h>

#include "vmm/config.h"

/* Exit codes of `vmm run` (README "Exit codes"). */
#define VMM_EXIT_OK      0
#define VMM_EXIT_FAILURE 1
#define VMM_EXIT_USAGE   2

/* Build the VM from cfg, run it until the guest or a signal ends it, tear it
 * down. Returns the process exit code: the guest's exit-port status, 0 for
 * reset/power-off/SIGTERM/SIGINT, 1 for a runtime failure, 2 for bad input
 * (kernel, initrd or disk image refused: one error line already printed).
 * start_ns: CLOCK_MONOTONIC at exec, for the boot-time port. */
int vm_run(const struct vmm_config *cfg, uint64_t start_ns);
#endif
