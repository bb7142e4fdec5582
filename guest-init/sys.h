/* The few hardware/kernel actions of PID 1: the vmm's I/O ports (only when
 * the vmm announced them on the command line) and the final reboot(2). */
#ifndef APPVM_INIT_SYS_H
#define APPVM_INIT_SYS_H
#include <stdbool.h>
#include <stdint.h>

/* Status reported through the exit port when init itself fails (s6's
 * "system failure" code), distinct from any app status init knows. */
#define INIT_STATUS_FAILURE 111

/* 8-bit write of value to the vmm's port: an I/O port after ioperm(2) on
 * x86; on arm64, where the vmm's port space is the first 64 KiB of the
 * physical address space (docs/ARM64.md), a store to that MMIO address
 * through /dev/mem. Returns 0 or -errno (-ENOSYS on other architectures). */
int init_sys_outb(int port, uint8_t value);
/* An absolute path without "." or ".." components, so a command line or an
 * RPC request cannot aim a mount at something like /proc/../.. */
bool init_sys_path_ok(const char *p);

enum init_final {
	INIT_FINAL_POWEROFF,
	INIT_FINAL_REBOOT,
};

/* reboot(2). In a child PID namespace this ends the namespace's init by
 * SIGINT (power off) or SIGHUP (restart) (kernel/pid_namespace.c). Returns
 * -errno when the call fails. */
int init_sys_reboot(enum init_final how);
#endif
