/* The JSON report of a crash (crash.h): one object, every string escaped
 * (RFC 8259 §7; bytes outside ASCII as \u00XX so the text stays valid
 * whatever the crashing program put in its name or arguments). */
#include "guest-agents/crash_collector/crash.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void crash_buf_put(struct crash_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *d;
		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void rep_printf(struct crash_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rep_printf(struct crash_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		crash_buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void rep_str(struct crash_buf *b, const char *s)
{
	crash_buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			rep_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			rep_printf(b, "\\u%04x", ch);
		else
			crash_buf_put(b, s, 1);
	}
	crash_buf_put(b, "\"", 1);
}

static const char *rep_signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGTRAP: return "SIGTRAP";
	case SIGSYS: return "SIGSYS";
	case SIGQUIT: return "SIGQUIT";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	default: return "";
	}
}

int crash_report_json(const struct crash *c, struct crash_buf *b)
{
	static const char *const names[CR_NREGS] = {
		"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
		"rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
	};

	b->len = 0;
	rep_printf(b, "{\"pid\":%u,\"tid\":%u,\"signal\":%d,\"signal_name\":\"%s\",\"si_code\":%d,"
		      "\"fault_address\":\"0x%llx\",\"uid\":%u,\"exe\":",
		   c->pid, c->nthreads ? c->threads[0].tid : 0, c->signal, rep_signame(c->signal), c->si_code,
		   (unsigned long long)c->fault_addr, c->uid);
	rep_str(b, c->exe);
	crash_buf_put(b, ",\"comm\":", 8);
	rep_str(b, c->comm);
	crash_buf_put(b, ",\"cmdline\":", 11);
	rep_str(b, c->cmdline);
	rep_printf(b, ",\"threads\":%u,\"modules\":[", c->nthreads);
	for (unsigned i = 0; i < c->nmodules; i++) {
		const struct crash_module *m = &c->modules[i];
		rep_printf(b, "%s{\"path\":", i ? "," : "");
		rep_str(b, m->path);
		rep_printf(b, ",\"base\":\"0x%llx\",\"size\":%llu,\"build_id\":\"", (unsigned long long)m->base,
			   (unsigned long long)(m->end - m->base));
		for (unsigned k = 0; k < m->build_id_len; k++)
			rep_printf(b, "%02x", m->build_id[k]);
		crash_buf_put(b, "\"}", 2);
	}
	crash_buf_put(b, "],\"registers\":{", 15);
	for (int i = 0; c->nthreads && i < CR_NREGS; i++)
		rep_printf(b, "%s\"%s\":\"0x%llx\"", i ? "," : "", names[i], (unsigned long long)c->threads[0].regs[i]);
	crash_buf_put(b, "},\"parse_error\":", 16);
	rep_str(b, c->error);
	crash_buf_put(b, "}\n", 2);
	return b->oom ? -ENOMEM : 0;
}
