/* Readable disassembly of a seccomp BPF program: one instruction per line,
 * jump targets as absolute indexes, syscall numbers and actions by name. The
 * format is what the golden files in tests/golden/seccomp/ hold. */
#include "seccomp-bpf/scbpf_bpf.h"
#include "seccomp-bpf/scbpf.h"
#include <stddef.h>

static void scbpf_dump_ld(FILE *f, uint32_t k)
{
	fprintf(f, "ld   [%u]", k);
	if (k == offsetof(struct seccomp_data, nr))
		fprintf(f, "\t\t; nr");
	else if (k == offsetof(struct seccomp_data, arch))
		fprintf(f, "\t\t; arch");
	else if (k == offsetof(struct seccomp_data, instruction_pointer) ||
		 k == offsetof(struct seccomp_data, instruction_pointer) + 4)
		fprintf(f, "\t\t; ip %s", k & 4 ? "hi" : "lo");
	else if (k >= offsetof(struct seccomp_data, args) && k < sizeof(struct seccomp_data))
		fprintf(f, "\t\t; arg%u %s", (unsigned)((k - offsetof(struct seccomp_data, args)) / 8),
			k & 4 ? "hi" : "lo");
	fputc('\n', f);
}

void scbpf_dump(FILE *f, const struct sock_filter *prog, size_t len)
{
	int a_is_nr = 0;
	char buf[32];

	for (size_t i = 0; i < len; i++) {
		const struct sock_filter *p = &prog[i];
		const char *op = NULL;

		fprintf(f, "%04zu: ", i);
		switch (p->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a_is_nr = p->k == offsetof(struct seccomp_data, nr);
			scbpf_dump_ld(f, p->k);
			continue;
		case BPF_RET | BPF_K:
			fprintf(f, "ret  %s\n", scbpf_action_name(p->k, buf, sizeof(buf)));
			continue;
		case BPF_JMP | BPF_JA:
			fprintf(f, "ja   %04zu\n", i + 1 + p->k);
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K: op = "jeq "; break;
		case BPF_JMP | BPF_JGT | BPF_K: op = "jgt "; break;
		case BPF_JMP | BPF_JGE | BPF_K: op = "jge "; break;
		case BPF_JMP | BPF_JSET | BPF_K: op = "jset"; break;
		default:
			a_is_nr = 0;
			fprintf(f, "op 0x%04x jt %u jf %u k 0x%08x\n", p->code, p->jt, p->jf, p->k);
			continue;
		}
		fprintf(f, "%s #0x%x, %04zu, %04zu", op, p->k, i + 1 + p->jt, i + 1 + p->jf);
		const char *name = a_is_nr ? scbpf_syscall_name((int)p->k) : NULL;
		if (name)
			fprintf(f, "\t; %s", name);
		fputc('\n', f);
	}
}
