/* Classic BPF as seccomp uses it: a disassembler (golden files, --dump) and
 * an interpreter (tests and benchmarks run programs on synthetic
 * seccomp_data). Neither is used on the sandbox's hot path. */
#ifndef APPVM_SECCOMP_BPF_SCBPF_BPF_H
#define APPVM_SECCOMP_BPF_SCBPF_BPF_H
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>

/* Check prog like the kernel's seccomp checker does (seccomp_check_filter +
 * bpf_check_classic): 1..4096 insns, known opcodes, forward jumps in range,
 * loads aligned inside seccomp_data, ends in ret. 0 or -EINVAL with the
 * offending index in *bad. */
int scbpf_interp_check(const struct sock_filter *prog, size_t len, size_t *bad);
/* Run a checked program. Returns the filter's return value; *steps (if not
 * NULL) gets the number of instructions executed. */
uint32_t scbpf_interp_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d,
			unsigned *steps);
/* One line per instruction, syscall numbers and actions by name. */
void scbpf_dump(FILE *f, const struct sock_filter *prog, size_t len);
#endif
