/* Classic BPF interpreter and checker for seccomp programs, following the
 * kernel's rules (net/core/filter.c bpf_check_classic, kernel/seccomp.c
 * seccomp_check_filter): only absolute 32-bit loads inside seccomp_data, no
 * packet access, forward jumps only, last instruction a ret. */
#include "seccomp-bpf/scbpf_bpf.h"
#include <errno.h>
#include <string.h>

#define BPF_INTERP_MAXINSNS 4096

int scbpf_interp_check(const struct sock_filter *prog, size_t len, size_t *bad)
{
	if (len == 0 || len > BPF_INTERP_MAXINSNS) {
		*bad = 0;
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		const struct sock_filter *f = &prog[i];
		*bad = i;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k >= sizeof(struct seccomp_data) || (f->k & 3))
				return -EINVAL;
			break;
		case BPF_LD | BPF_W | BPF_LEN: case BPF_LDX | BPF_W | BPF_LEN:
		case BPF_LD | BPF_IMM: case BPF_LDX | BPF_IMM:
		case BPF_RET | BPF_K: case BPF_RET | BPF_A:
		case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
		case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
		case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
		case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
		case BPF_ALU | BPF_DIV | BPF_X: case BPF_ALU | BPF_MOD | BPF_X:
		case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
		case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
		case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
		case BPF_ALU | BPF_LSH | BPF_X: case BPF_ALU | BPF_RSH | BPF_X:
		case BPF_ALU | BPF_NEG:
			break;
		case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_MOD | BPF_K:
			if (f->k == 0)
				return -EINVAL;
			break;
		case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_K:
			if (f->k >= 32)
				return -EINVAL;
			break;
		case BPF_LD | BPF_MEM: case BPF_LDX | BPF_MEM: case BPF_ST: case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return -EINVAL;
			break;
		case BPF_JMP | BPF_JA:
			if (f->k >= len - i - 1)
				return -EINVAL;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
		case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
		case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
		case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
			if (i + 1 + f->jt >= len || i + 1 + f->jf >= len)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	*bad = len - 1;
	if (BPF_CLASS(prog[len - 1].code) != BPF_RET)
		return -EINVAL;
	return 0;
}

uint32_t scbpf_interp_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d,
			unsigned *steps)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 }, data[sizeof(*d) / 4];
	unsigned n = 0;

	memcpy(data, d, sizeof(data));
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;

		n++;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			switch (BPF_MODE(f->code)) {
			case BPF_ABS: v = data[(f->k / 4) % (sizeof(data) / 4)]; break;
			case BPF_LEN: v = sizeof(*d); break;
			case BPF_IMM: v = f->k; break;
			default: v = mem[f->k % BPF_MEMWORDS]; break;
			}
			if (BPF_CLASS(f->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST: mem[f->k % BPF_MEMWORDS] = a; break;
		case BPF_STX: mem[f->k % BPF_MEMWORDS] = x; break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV: a = src ? a / src : 0; break;
			case BPF_MOD: a = src ? a % src : 0; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = 0 - a; break;
			}
			break;
		case BPF_JMP: {
			int c;
			if (BPF_OP(f->code) == BPF_JA) {
				pc += f->k;
				break;
			}
			switch (BPF_OP(f->code)) {
			case BPF_JEQ: c = a == src; break;
			case BPF_JGT: c = a > src; break;
			case BPF_JGE: c = a >= src; break;
			default: c = (a & src) != 0; break;
			}
			pc += c ? f->jt : f->jf;
			break;
		}
		case BPF_RET:
			if (steps)
				*steps = n;
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	/* Unreachable for a checked program: it ends in ret. */
	if (steps)
		*steps = n;
	return SECCOMP_RET_KILL_PROCESS;
}
