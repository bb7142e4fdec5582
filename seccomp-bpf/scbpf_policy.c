/* Parser for minijail policy files; grammar and semantics in policy.h. One
 * logical line (continuations joined) is tokenised and parsed at a time;
 * errors stop the parse with "file:line:col: message 'token'". */
#include "seccomp-bpf/scbpf_policy.h"
#include "seccomp-bpf/scbpf.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* x86-64 and arm64 syscall numbers are below 512; anything at or above this bound is
 * not a native syscall (x32 numbers have bit 30 set). */
#define SCBPF_POLICY_MAX_NR 1024
#define SCBPF_POLICY_MAX_SEGS 64

enum scbpf_policy_tok {
	TOK_END, TOK_IDENT, TOK_NUM, TOK_COLON, TOK_SEMI, TOK_COMMA, TOK_TILDE, TOK_LPAREN,
	TOK_RPAREN, TOK_LBRACE, TOK_RBRACE, TOK_LBRACKET, TOK_RBRACKET, TOK_OR, TOK_AND,
	TOK_BOR, TOK_OP, TOK_EQUAL, TOK_DIRECTIVE,
};

/* A filter while parsing, before filters are grouped per rule. */
struct scbpf_policy_pfilter {
	uint32_t rule;
	struct scbpf_policy_filter f;
};

struct scbpf_policy_ps {
	struct scbpf_policy *p;
	scbpf_policy_load_fn load;
	void *ctx;
	struct scbpf_policy_err *err;
	/* Current file and logical line. */
	const char *file;
	char line[SCBPF_POLICY_MAX_LINE + 1];
	size_t len;
	int seg_line[SCBPF_POLICY_MAX_SEGS];   /* physical line of each joined segment */
	size_t seg_off[SCBPF_POLICY_MAX_SEGS]; /* its offset in line[] */
	int nsegs;
	/* Lexer. */
	size_t pos;
	enum scbpf_policy_tok tok;
	size_t tstart, tlen;
	uint64_t tnum;
	int top;                          /* TOK_OP: enum scbpf_policy_op */
	/* Include stack for loop detection. */
	const char *stack[SCBPF_POLICY_MAX_INCLUDE_DEPTH + 1];
	int depth;
	size_t total;                     /* bytes parsed so far, all files */
	/* Rules by syscall number, filters before grouping. */
	int rule_of[SCBPF_POLICY_MAX_NR];
	size_t rule_cap;
	struct scbpf_policy_pfilter *pf;
	size_t npf, pf_cap;
	size_t atom_cap;
	uint32_t freq[SCBPF_POLICY_MAX_NR];
};

void scbpf_policy_init(struct scbpf_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->default_action = SECCOMP_RET_KILL_PROCESS;
}

void scbpf_policy_free(struct scbpf_policy *p)
{
	free(p->rules);
	free(p->filters);
	free(p->atoms);
	scbpf_policy_init(p);
}

int scbpf_policy_load_file(void *ctx, const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *b;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	(void)ctx;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((unsigned long long)st.st_size > SCBPF_POLICY_MAX_FILE_SIZE) {
		close(fd);
		return -EFBIG;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			free(b);
			close(fd);
			return e;
		}
		got += (size_t)n;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

/* Physical line and 1-based column of offset off in the logical line. */
static void scbpf_policy_where(const struct scbpf_policy_ps *s, size_t off, int *line, int *col)
{
	int i = 0;

	while (i + 1 < s->nsegs && s->seg_off[i + 1] <= off)
		i++;
	*line = s->nsegs ? s->seg_line[i] : 0;
	*col = (int)(off - (s->nsegs ? s->seg_off[i] : 0)) + 1;
}

/* Error at offset off with a printf message; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int scbpf_policy_fail_at(struct scbpf_policy_ps *s, size_t off, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scbpf_policy_where(s, off, &line, &col);
	snprintf(s->err->msg, sizeof(s->err->msg), "%s:%d:%d: %s", s->file, line, col, msg);
	return -EINVAL;
}

/* Error naming the current token. */
static int scbpf_policy_fail_tok(struct scbpf_policy_ps *s, const char *what)
{
	if (s->tok == TOK_END)
		return scbpf_policy_fail_at(s, s->tstart, "%s at end of line", what);
	return scbpf_policy_fail_at(s, s->tstart, "%s '%.*s'", what, (int)(s->tlen > 60 ? 60 : s->tlen),
			      s->line + s->tstart);
}

static int scbpf_policy_isident(int c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '@');
}

/* Parse a C-style number (decimal, 0x hex, 0 octal, optional '-') of
 * s->line[s->tstart, +tlen) into s->tnum (two's complement for negatives). */
static int scbpf_policy_number(struct scbpf_policy_ps *s)
{
	const char *q = s->line + s->tstart, *end = q + s->tlen;
	int neg = 0;
	unsigned base = 10;
	uint64_t v = 0;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	if (end - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		base = 16;
		q += 2;
	} else if (end - q > 1 && q[0] == '0') {
		base = 8;
		q++;
	}
	if (q == end)
		return scbpf_policy_fail_tok(s, "invalid number");
	for (; q < end; q++) {
		unsigned d;

		if (*q >= '0' && *q <= '9')
			d = (unsigned)(*q - '0');
		else if (*q >= 'a' && *q <= 'f')
			d = (unsigned)(*q - 'a' + 10);
		else if (*q >= 'A' && *q <= 'F')
			d = (unsigned)(*q - 'A' + 10);
		else
			return scbpf_policy_fail_tok(s, "invalid number");
		if (d >= base)
			return scbpf_policy_fail_tok(s, "invalid number");
		if (v > (UINT64_MAX - d) / base)
			return scbpf_policy_fail_tok(s, "number out of 64-bit range");
		v = v * base + d;
	}
	if (neg && v > (1ull << 63))
		return scbpf_policy_fail_tok(s, "number out of 64-bit range");
	s->tnum = neg ? (uint64_t)0 - v : v;
	return 0;
}

/* Advance to the next token. Returns 0 or -EINVAL for a character that
 * starts no token. */
static int scbpf_policy_next(struct scbpf_policy_ps *s)
{
	const char *l = s->line;
	size_t i = s->pos;

	while (i < s->len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r' || l[i] == '\v' || l[i] == '\f'))
		i++;
	s->tstart = i;
	s->tlen = 1;
	if (i >= s->len || l[i] == '#') {
		s->tok = TOK_END;
		s->tlen = 0;
		s->pos = s->len;
		return 0;
	}
	char c = l[i], d = i + 1 < s->len ? l[i + 1] : 0;
	switch (c) {
	case ':': s->tok = TOK_COLON; break;
	case ';': s->tok = TOK_SEMI; break;
	case ',': s->tok = TOK_COMMA; break;
	case '~': s->tok = TOK_TILDE; break;
	case '(': s->tok = TOK_LPAREN; break;
	case ')': s->tok = TOK_RPAREN; break;
	case '{': s->tok = TOK_LBRACE; break;
	case '}': s->tok = TOK_RBRACE; break;
	case '[': s->tok = TOK_LBRACKET; break;
	case ']': s->tok = TOK_RBRACKET; break;
	case '|':
		s->tok = d == '|' ? TOK_OR : TOK_BOR;
		s->tlen = d == '|' ? 2 : 1;
		break;
	case '&':
		if (d == '&') {
			s->tok = TOK_AND;
			s->tlen = 2;
		} else {
			s->tok = TOK_OP;
			s->top = SCBPF_POLICY_OP_SET;
		}
		break;
	case '=':
		if (d == '=') {
			s->tok = TOK_OP;
			s->top = SCBPF_POLICY_OP_EQ;
			s->tlen = 2;
		} else {
			s->tok = TOK_EQUAL;
		}
		break;
	case '!':
		if (d != '=') {
			s->pos = i + 1;
			return scbpf_policy_fail_tok(s, "invalid token");
		}
		s->tok = TOK_OP;
		s->top = SCBPF_POLICY_OP_NE;
		s->tlen = 2;
		break;
	case '<':
	case '>':
		s->tok = TOK_OP;
		s->tlen = d == '=' ? 2 : 1;
		s->top = c == '<' ? (d == '=' ? SCBPF_POLICY_OP_LE : SCBPF_POLICY_OP_LT)
				  : (d == '=' ? SCBPF_POLICY_OP_GE : SCBPF_POLICY_OP_GT);
		break;
	default:
		if (c == '@' || scbpf_policy_isident((unsigned char)c, 1)) {
			size_t j = i + 1;
			while (j < s->len && scbpf_policy_isident((unsigned char)l[j], 0))
				j++;
			s->tok = c == '@' ? TOK_DIRECTIVE : TOK_IDENT;
			s->tlen = j - i;
		} else if ((c >= '0' && c <= '9') || (c == '-' && d >= '0' && d <= '9')) {
			size_t j = i + 1;
			while (j < s->len && (scbpf_policy_isident((unsigned char)l[j], 0)))
				j++;
			s->tok = TOK_NUM;
			s->tlen = j - i;
			s->pos = j;
			return scbpf_policy_number(s);
		} else {
			return scbpf_policy_fail_tok(s, "invalid token");
		}
	}
	s->pos = i + s->tlen;
	return 0;
}

static int scbpf_policy_tok_is(const struct scbpf_policy_ps *s, const char *word)
{
	return s->tok == TOK_IDENT && s->tlen == strlen(word) && !memcmp(s->line + s->tstart, word, s->tlen);
}

/* The current identifier as a C string (truncated to 127 bytes). */
static const char *scbpf_policy_tok_str(const struct scbpf_policy_ps *s, char *buf, size_t len)
{
	size_t n = s->tlen < len - 1 ? s->tlen : len - 1;

	memcpy(buf, s->line + s->tstart, n);
	buf[n] = 0;
	return buf;
}

static int scbpf_policy_value(struct scbpf_policy_ps *s, uint64_t *out);

/* constant := ['~'] ( '(' value ')' | NUMBER | IDENT ) */
static int scbpf_policy_constant(struct scbpf_policy_ps *s, uint64_t *out)
{
	int neg = 0, r;
	uint64_t v;

	if (s->tok == TOK_TILDE) {
		neg = 1;
		if ((r = scbpf_policy_next(s)))
			return r;
		if (s->tok == TOK_TILDE)
			return scbpf_policy_fail_tok(s, "invalid double complement");
	}
	if (s->tok == TOK_LPAREN) {
		size_t open = s->tstart;
		if ((r = scbpf_policy_next(s)) || (r = scbpf_policy_value(s, &v)))
			return r;
		if (s->tok != TOK_RPAREN)
			return scbpf_policy_fail_at(s, open, "unclosed parenthesis");
	} else if (s->tok == TOK_NUM) {
		v = s->tnum;
	} else if (s->tok == TOK_IDENT) {
		char name[128];
		if (s->tlen >= sizeof(name) || scbpf_const(scbpf_policy_tok_str(s, name, sizeof(name)), &v))
			return scbpf_policy_fail_tok(s, "unknown constant");
	} else {
		return scbpf_policy_fail_tok(s, "expected a constant, got");
	}
	*out = neg ? ~v : v;
	return scbpf_policy_next(s);
}

/* value := constant { '|' constant } */
static int scbpf_policy_value(struct scbpf_policy_ps *s, uint64_t *out)
{
	uint64_t v = 0, c;
	int r;

	for (;;) {
		if ((r = scbpf_policy_constant(s, &c)))
			return r;
		v |= c;
		if (s->tok != TOK_BOR)
			break;
		if ((r = scbpf_policy_next(s)))
			return r;
	}
	*out = v;
	return 0;
}

static int scbpf_policy_add_atom(struct scbpf_policy_ps *s, const struct scbpf_policy_atom *a)
{
	struct scbpf_policy *p = s->p;

	if (p->natoms >= SCBPF_POLICY_MAX_ATOMS)
		return scbpf_policy_fail_at(s, s->tstart, "too many argument comparisons (limit %d)",
				      SCBPF_POLICY_MAX_ATOMS);
	if (p->natoms == s->atom_cap) {
		size_t cap = s->atom_cap ? s->atom_cap * 2 : 64;
		struct scbpf_policy_atom *n = realloc(p->atoms, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->atoms = n;
		s->atom_cap = cap;
	}
	p->atoms[p->natoms++] = *a;
	return 0;
}

/* EXPR := clause { '||' clause }; clause := atom { '&&' atom };
 * atom := argN OP value. Appends atoms; first and n get their range. */
static int scbpf_policy_expr(struct scbpf_policy_ps *s, uint32_t *first, uint32_t *n)
{
	int r;

	*first = (uint32_t)s->p->natoms;
	for (;;) {
		struct scbpf_policy_atom a = { 0 };
		char name[16];

		if (s->tok != TOK_IDENT || s->tlen < 4 || s->tlen > 5 || memcmp(s->line + s->tstart, "arg", 3))
			return scbpf_policy_fail_tok(s, "expected argN, got");
		scbpf_policy_tok_str(s, name, sizeof(name));
		if (name[3] < '0' || name[3] > '9' || name[4] || name[3] - '0' >= SCBPF_POLICY_NARGS)
			return scbpf_policy_fail_tok(s, "invalid argument (arg0..arg5)");
		a.arg = (uint8_t)(name[3] - '0');
		if ((r = scbpf_policy_next(s)))
			return r;
		if (s->tok == TOK_OP)
			a.op = (uint8_t)s->top;
		else if (scbpf_policy_tok_is(s, "in"))
			a.op = SCBPF_POLICY_OP_IN;
		else
			return scbpf_policy_fail_tok(s, "invalid operator");
		if ((r = scbpf_policy_next(s)) || (r = scbpf_policy_value(s, &a.val)))
			return r;
		a.last = s->tok != TOK_AND;
		if ((r = scbpf_policy_add_atom(s, &a)))
			return r;
		if (s->tok == TOK_AND || s->tok == TOK_OR) {
			if ((r = scbpf_policy_next(s)))
				return r;
			continue;
		}
		break;
	}
	*n = (uint32_t)s->p->natoms - *first;
	return 0;
}

/* action := allow | 1 | kill | kill-process | kill-thread | trap | trace |
 *           log | user-notify | return CONSTANT */
static int scbpf_policy_action(struct scbpf_policy_ps *s, uint32_t *out)
{
	static const struct { const char *name; uint32_t act; } acts[] = {
		{ "allow", SECCOMP_RET_ALLOW }, { "kill", SECCOMP_RET_KILL_PROCESS },
		{ "kill-process", SECCOMP_RET_KILL_PROCESS }, { "kill-thread", SECCOMP_RET_KILL_THREAD },
		{ "trap", SECCOMP_RET_TRAP }, { "trace", SECCOMP_RET_TRACE }, { "log", SECCOMP_RET_LOG },
		{ "user-notify", SECCOMP_RET_USER_NOTIF },
	};
	int r;

	if (s->tok == TOK_NUM) {
		if (s->tnum != 1)
			return scbpf_policy_fail_tok(s, "invalid action (a bare number must be 1)");
		*out = SECCOMP_RET_ALLOW;
		return scbpf_policy_next(s);
	}
	if (scbpf_policy_tok_is(s, "return")) {
		uint64_t v;
		if ((r = scbpf_policy_next(s)))
			return r;
		size_t at = s->tstart;
		if (s->tok != TOK_NUM && s->tok != TOK_IDENT)
			return scbpf_policy_fail_tok(s, "missing errno after return, got");
		if ((r = scbpf_policy_constant(s, &v)))
			return r;
		/* The kernel returns at most MAX_ERRNO (4095) as an error value. */
		if (v > 4095)
			return scbpf_policy_fail_at(s, at, "errno %llu out of range (0..4095)", (unsigned long long)v);
		*out = SECCOMP_RET_ERRNO | (uint32_t)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (scbpf_policy_tok_is(s, acts[i].name)) {
			*out = acts[i].act;
			return scbpf_policy_next(s);
		}
	return scbpf_policy_fail_tok(s, "invalid action");
}

/* Rule index for syscall nr, created on first use. */
static int scbpf_policy_rule(struct scbpf_policy_ps *s, int nr, size_t at)
{
	struct scbpf_policy *p = s->p;
	int line, col;

	if (s->rule_of[nr] >= 0)
		return s->rule_of[nr];
	if (p->nrules == s->rule_cap) {
		size_t cap = s->rule_cap ? s->rule_cap * 2 : 32;
		struct scbpf_policy_rule *n = realloc(p->rules, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->rules = n;
		s->rule_cap = cap;
	}
	struct scbpf_policy_rule *r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	r->nr = nr;
	scbpf_policy_where(s, at, &line, &col);
	snprintf(r->where, sizeof(r->where), "%s:%d", s->file, line);
	s->rule_of[nr] = (int)p->nrules;
	return (int)p->nrules++;
}

static int scbpf_policy_add_filter(struct scbpf_policy_ps *s, int rule, const struct scbpf_policy_filter *f, size_t at)
{
	struct scbpf_policy_rule *r = &s->p->rules[rule];

	if (r->has_fallthrough) {
		const char *name = scbpf_syscall_name(r->nr);
		return scbpf_policy_fail_at(s, at, "syscall '%s' already has an unconditional action (%s)",
				      name ? name : "?", r->where);
	}
	if (s->npf == s->pf_cap) {
		size_t cap = s->pf_cap ? s->pf_cap * 2 : 64;
		struct scbpf_policy_pfilter *n = realloc(s->pf, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->pf = n;
		s->pf_cap = cap;
	}
	s->pf[s->npf].rule = (uint32_t)rule;
	s->pf[s->npf].f = *f;
	s->npf++;
	r->nfilters++;
	if (f->natoms == 0)
		r->has_fallthrough = 1;
	return 0;
}

/* Syscall descriptor: NAME or NUMBER, optionally followed by
 * "[arch=a,b]" metadata. *nr = -1 when the metadata excludes the target
 * (SCBPF_ARCH_NAME). */
static int scbpf_policy_syscall(struct scbpf_policy_ps *s, int *nr)
{
	int r;

	if (s->tok == TOK_NUM) {
		if (s->tnum >= SCBPF_POLICY_MAX_NR || !scbpf_syscall_name((int)s->tnum))
			return scbpf_policy_fail_tok(s, "unknown syscall number");
		*nr = (int)s->tnum;
	} else if (s->tok == TOK_IDENT) {
		char name[64];
		if (memchr(s->line + s->tstart, '@', s->tlen))
			return scbpf_policy_fail_tok(s, "syscall groups are not supported");
		if (s->tlen >= sizeof(name) || (*nr = scbpf_syscall_nr(scbpf_policy_tok_str(s, name, sizeof(name)))) < 0)
			return scbpf_policy_fail_tok(s, "unknown syscall");
	} else {
		return scbpf_policy_fail_tok(s, "expected a syscall name, got");
	}
	if ((r = scbpf_policy_next(s)))
		return r;
	if (s->tok == TOK_LBRACKET) {
		int ours = 0, saw_arch = 0;
		size_t open = s->tstart;
		if ((r = scbpf_policy_next(s)))
			return r;
		while (s->tok == TOK_IDENT) {
			int is_arch = scbpf_policy_tok_is(s, "arch");
			if ((r = scbpf_policy_next(s)))
				return r;
			if (s->tok != TOK_EQUAL)
				return scbpf_policy_fail_tok(s, "expected '=' in metadata, got");
			do {
				if ((r = scbpf_policy_next(s)))
					return r;
				if (s->tok != TOK_IDENT)
					return scbpf_policy_fail_tok(s, "invalid metadata value");
				if (is_arch) {
					saw_arch = 1;
					ours |= scbpf_policy_tok_is(s, SCBPF_ARCH_NAME) ||
						scbpf_policy_tok_is(s, SCBPF_ARCH_ALIAS);
				}
				if ((r = scbpf_policy_next(s)))
					return r;
			} while (s->tok == TOK_COMMA);
			if (s->tok != TOK_SEMI)
				break;
			if ((r = scbpf_policy_next(s)))
				return r;
		}
		if (s->tok != TOK_RBRACKET)
			return scbpf_policy_fail_at(s, open, "unclosed bracket");
		if ((r = scbpf_policy_next(s)))
			return r;
		if (saw_arch && !ours)
			*nr = -1;
	}
	return 0;
}

/* single-filter := action | EXPR [';' action]. In a brace list (listed) an
 * "EXPR; ACTION" is one filter; alone it is minijail0(5)'s "allow when EXPR,
 * else ACTION". Filters are appended for every syscall in nrs. */
static int scbpf_policy_single_filter(struct scbpf_policy_ps *s, const int *nrs, int n, int listed, size_t at)
{
	struct scbpf_policy_filter f = { 0 }, tail = { 0 };
	int has_tail = 0, r;

	if (s->tok == TOK_IDENT && s->tlen >= 4 && !memcmp(s->line + s->tstart, "arg", 3) &&
	    s->line[s->tstart + 3] >= '0' && s->line[s->tstart + 3] <= '9') {
		if ((r = scbpf_policy_expr(s, &f.first, &f.natoms)))
			return r;
		f.action = SECCOMP_RET_ALLOW;
		if (s->tok == TOK_SEMI) {
			uint32_t act;
			if ((r = scbpf_policy_next(s)) || (r = scbpf_policy_action(s, &act)))
				return r;
			if (listed) {
				f.action = act;
			} else {
				tail.action = act;
				has_tail = 1;
			}
		}
	} else {
		if ((r = scbpf_policy_action(s, &f.action)))
			return r;
	}
	for (int i = 0; i < n; i++) {
		if (nrs[i] < 0)
			continue;
		int rule = scbpf_policy_rule(s, nrs[i], at);
		if (rule < 0)
			return rule;
		if ((r = scbpf_policy_add_filter(s, rule, &f, at)))
			return r;
		if (has_tail && (r = scbpf_policy_add_filter(s, rule, &tail, at)))
			return r;
	}
	return 0;
}

/* statement := ( '{' syscall {',' syscall} '}' | syscall ) ':' filter
 * filter := '{' single-filter {',' single-filter} '}' | single-filter */
static int scbpf_policy_statement(struct scbpf_policy_ps *s)
{
	int nrs[64], n = 0, r;
	size_t at = s->tstart;

	if (s->tok == TOK_LBRACE) {
		size_t open = s->tstart;
		do {
			if ((r = scbpf_policy_next(s)))
				return r;
			if (n == (int)(sizeof(nrs) / sizeof(nrs[0])))
				return scbpf_policy_fail_tok(s, "too many syscalls in one statement at");
			if ((r = scbpf_policy_syscall(s, &nrs[n++])))
				return r;
		} while (s->tok == TOK_COMMA);
		if (s->tok != TOK_RBRACE)
			return scbpf_policy_fail_at(s, open, "unclosed brace");
		if ((r = scbpf_policy_next(s)))
			return r;
	} else if ((r = scbpf_policy_syscall(s, &nrs[n++]))) {
		return r;
	}
	if (s->tok != TOK_COLON)
		return scbpf_policy_fail_tok(s, "expected ':' after the syscall, got");
	if ((r = scbpf_policy_next(s)))
		return r;
	if (s->tok == TOK_END)
		return scbpf_policy_fail_tok(s, "missing filter");
	if (s->tok == TOK_LBRACE) {
		size_t open = s->tstart;
		do {
			if ((r = scbpf_policy_next(s)) || (r = scbpf_policy_single_filter(s, nrs, n, 1, at)))
				return r;
		} while (s->tok == TOK_COMMA);
		if (s->tok != TOK_RBRACE)
			return scbpf_policy_fail_at(s, open, "unclosed brace");
		return scbpf_policy_next(s);
	}
	return scbpf_policy_single_filter(s, nrs, n, 0, at);
}

/* Drop "." segments, empty segments and "dir/.." pairs so one file always
 * has one name on the include stack (loop detection compares names). */
static void scbpf_policy_normalize(char *path)
{
	char *seg[128];
	int n = 0, abs = path[0] == '/', up = 0;
	char *save = NULL, out[512], tmp[512];
	size_t o = 0;

	if (strlen(path) >= sizeof(tmp))
		return;
	strcpy(tmp, path);
	for (char *t = strtok_r(tmp, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..") && n > up) {
			n--;
			continue;
		}
		if (!strcmp(t, ".."))
			up++;
		if (n == 128)
			return;
		seg[n++] = t;
	}
	if (abs)
		out[o++] = '/';
	for (int i = 0; i < n; i++) {
		size_t l = strlen(seg[i]);
		if (o + l + 2 > sizeof(out))
			return;
		memcpy(out + o, seg[i], l);
		o += l;
		if (i + 1 < n)
			out[o++] = '/';
	}
	out[o] = 0;
	memcpy(path, out, o + 1);
}

/* The rest of the line after a directive, trimmed, as a path into buf. */
static int scbpf_policy_path(struct scbpf_policy_ps *s, char *buf, size_t len, const char *what)
{
	size_t i = s->pos, j;

	while (i < s->len && (s->line[i] == ' ' || s->line[i] == '\t'))
		i++;
	j = i;
	while (j < s->len && s->line[j] != ' ' && s->line[j] != '\t' && s->line[j] != '#' && s->line[j] != '\r')
		j++;
	s->tstart = i;
	s->tlen = j - i;
	if (i == j)
		return scbpf_policy_fail_at(s, i, "missing %s path", what);
	/* Relative paths resolve against the including file's directory
	 * (minijail's parser.py does the same). */
	const char *slash = strrchr(s->file, '/');
	size_t dl = s->line[i] == '/' || !slash ? 0 : (size_t)(slash - s->file) + 1;
	if (dl + (j - i) >= len)
		return scbpf_policy_fail_at(s, i, "%s path too long", what);
	memcpy(buf, s->file, dl);
	memcpy(buf + dl, s->line + i, j - i);
	buf[dl + j - i] = 0;
	scbpf_policy_normalize(buf);
	s->pos = j;
	return scbpf_policy_next(s);
}

static int scbpf_policy_parse_text(struct scbpf_policy_ps *s, const char *name, const char *buf, size_t len, int freq);

static int scbpf_policy_load_and_parse(struct scbpf_policy_ps *s, const char *path, size_t at, int freq)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	for (int i = 0; i < s->depth; i++)
		if (!strcmp(s->stack[i], path))
			return scbpf_policy_fail_at(s, at, "@include loop: '%s' is already being parsed", path);
	if (s->depth >= SCBPF_POLICY_MAX_INCLUDE_DEPTH)
		return scbpf_policy_fail_at(s, at, "@include nested too deep (limit %d)", SCBPF_POLICY_MAX_INCLUDE_DEPTH);
	r = s->load(s->ctx, path, &buf, &len);
	if (r == -EFBIG)
		return scbpf_policy_fail_at(s, at, "'%s' is larger than %u bytes", path, SCBPF_POLICY_MAX_FILE_SIZE);
	if (r < 0)
		return scbpf_policy_fail_at(s, at, "cannot read '%s': %s", path, strerror(-r));
	/* Includes may repeat (not nest: that is a loop); bound the sum so
	 * a file of @include lines cannot multiply the work level by level. */
	if (len > SCBPF_POLICY_MAX_TOTAL - s->total) {
		free(buf);
		return scbpf_policy_fail_at(s, at, "policy text over all @include files exceeds %u bytes at '%s'",
					    SCBPF_POLICY_MAX_TOTAL, path);
	}
	s->total += len;
	r = scbpf_policy_parse_text(s, path, buf, len, freq);
	free(buf);
	return r;
}

/* frequency line := syscall ':' NUMBER */
static int scbpf_policy_freq_line(struct scbpf_policy_ps *s)
{
	int nr, r;

	if ((r = scbpf_policy_syscall(s, &nr)))
		return r;
	if (s->tok != TOK_COLON)
		return scbpf_policy_fail_tok(s, "expected ':' after the syscall, got");
	if ((r = scbpf_policy_next(s)))
		return r;
	if (s->tok != TOK_NUM || s->tnum > UINT32_MAX)
		return scbpf_policy_fail_tok(s, "invalid frequency count");
	if (nr >= 0) {
		uint64_t f = (uint64_t)s->freq[nr] + s->tnum;
		s->freq[nr] = f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
		s->p->has_freq = 1;
	}
	return scbpf_policy_next(s);
}

static int scbpf_policy_line(struct scbpf_policy_ps *s, int freq)
{
	int r;

	s->pos = 0;
	if ((r = scbpf_policy_next(s)))
		return r;
	if (s->tok == TOK_END)
		return 0;
	if (freq) {
		r = scbpf_policy_freq_line(s);
	} else if (s->tok == TOK_DIRECTIVE) {
		char word[16], path[512];
		size_t at = s->tstart;
		scbpf_policy_tok_str(s, word, sizeof(word));
		if (!strcmp(word, "@include") || !strcmp(word, "@frequency")) {
			int is_freq = word[1] == 'f';
			if ((r = scbpf_policy_path(s, path, sizeof(path), word)))
				return r;
			if (s->tok != TOK_END)
				return scbpf_policy_fail_tok(s, "extra token");
			/* The nested parse reuses line[]: keep nothing of ours. */
			const char *file = s->file;
			r = scbpf_policy_load_and_parse(s, path, at, is_freq);
			s->file = file;
			return r;
		} else if (!strcmp(word, "@default")) {
			uint32_t act;
			if ((r = scbpf_policy_next(s)))
				return r;
			at = s->tstart;
			if ((r = scbpf_policy_action(s, &act)))
				return r;
			if (act == SECCOMP_RET_ALLOW)
				return scbpf_policy_fail_at(s, at, "@default allow would permit every syscall");
			s->p->default_action = act;
		} else {
			return scbpf_policy_fail_tok(s, "unknown directive");
		}
	} else {
		r = scbpf_policy_statement(s);
	}
	if (r)
		return r;
	if (s->tok != TOK_END)
		return scbpf_policy_fail_tok(s, "extra token");
	return 0;
}

static int scbpf_policy_parse_text(struct scbpf_policy_ps *s, const char *name, const char *buf, size_t len, int freq)
{
	size_t i = 0;
	int lineno = 0, r;

	s->file = name;
	if (len > SCBPF_POLICY_MAX_FILE_SIZE) {
		s->nsegs = 1;
		s->seg_off[0] = 0;
		s->seg_line[0] = 1;
		return scbpf_policy_fail_at(s, 0, "file is larger than %u bytes", SCBPF_POLICY_MAX_FILE_SIZE);
	}
	if (memchr(buf, 0, len)) {
		int l = 1;
		for (const char *q = buf; *q; q++)
			l += *q == '\n';
		s->nsegs = 1;
		s->seg_off[0] = 0;
		s->seg_line[0] = l;
		return scbpf_policy_fail_at(s, 0, "NUL byte in policy text");
	}
	s->stack[s->depth++] = name;
	while (i < len) {
		s->len = 0;
		s->nsegs = 0;
		for (;;) {
			const char *nl = memchr(buf + i, '\n', len - i);
			size_t end = nl ? (size_t)(nl - buf) : len, n = end - i;
			lineno++;
			if (s->nsegs == SCBPF_POLICY_MAX_SEGS) {
				s->depth--;
				return scbpf_policy_fail_at(s, s->len, "too many continuation lines (limit %d)", SCBPF_POLICY_MAX_SEGS);
			}
			s->seg_line[s->nsegs] = lineno;
			s->seg_off[s->nsegs++] = s->len;
			if (s->len + n > SCBPF_POLICY_MAX_LINE) {
				s->depth--;
				return scbpf_policy_fail_at(s, s->len, "line longer than %d bytes", SCBPF_POLICY_MAX_LINE);
			}
			memcpy(s->line + s->len, buf + i, n);
			s->len += n;
			i = nl ? end + 1 : len;
			/* A trailing backslash (before an optional \r) continues the line. */
			size_t t = s->len;
			if (t && s->line[t - 1] == '\r')
				t--;
			if (t && s->line[t - 1] == '\\' && i < len) {
				s->len = t - 1;
				continue;
			}
			if (t && s->line[t - 1] == '\\')
				s->len = t - 1;
			break;
		}
		s->line[s->len] = 0;
		if ((r = scbpf_policy_line(s, freq))) {
			s->depth--;
			return r;
		}
		s->file = name;
	}
	s->depth--;
	return 0;
}

static int scbpf_policy_rule_cmp(const void *a, const void *b)
{
	const struct scbpf_policy_rule *x = a, *y = b;

	return (x->nr > y->nr) - (x->nr < y->nr);
}

/* Group the parsed filters per rule (in statement order) and sort rules by
 * syscall number. */
static int scbpf_policy_finish(struct scbpf_policy_ps *s)
{
	struct scbpf_policy *p = s->p;
	size_t off = 0;

	p->filters = malloc((s->npf ? s->npf : 1) * sizeof(*p->filters));
	if (!p->filters)
		return -ENOMEM;
	for (size_t r = 0; r < p->nrules; r++) {
		p->rules[r].first = (uint32_t)off;
		p->rules[r].freq = s->freq[p->rules[r].nr];
		off += p->rules[r].nfilters;
		p->rules[r].nfilters = 0;
	}
	for (size_t i = 0; i < s->npf; i++) {
		struct scbpf_policy_rule *r = &p->rules[s->pf[i].rule];
		p->filters[r->first + r->nfilters++] = s->pf[i].f;
	}
	p->nfilters = s->npf;
	qsort(p->rules, p->nrules, sizeof(*p->rules), scbpf_policy_rule_cmp);
	return 0;
}

int scbpf_policy_parse_buf(struct scbpf_policy *p, const char *name, const char *buf, size_t len,
		     scbpf_policy_load_fn load, void *ctx, struct scbpf_policy_err *err)
{
	struct scbpf_policy_ps *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	scbpf_policy_free(p);
	err->msg[0] = 0;
	s->p = p;
	s->load = load ? load : scbpf_policy_load_file;
	s->ctx = ctx;
	s->err = err;
	for (int i = 0; i < SCBPF_POLICY_MAX_NR; i++)
		s->rule_of[i] = -1;
	s->total = len;
	r = scbpf_policy_parse_text(s, name, buf, len, 0);
	if (r == 0)
		r = scbpf_policy_finish(s);
	if (r == -ENOMEM && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
	free(s->pf);
	free(s);
	if (r)
		scbpf_policy_free(p);
	return r;
}

int scbpf_policy_parse_file(struct scbpf_policy *p, const char *path, scbpf_policy_load_fn load, void *ctx,
		      struct scbpf_policy_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!load)
		load = scbpf_policy_load_file;
	r = load(ctx, path, &buf, &len);
	if (r < 0) {
		if (r == -EFBIG)
			snprintf(err->msg, sizeof(err->msg), "%s:1:1: file is larger than %u bytes", path,
				 SCBPF_POLICY_MAX_FILE_SIZE);
		else
			snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(-r));
		return r == -EFBIG ? -EINVAL : r;
	}
	r = scbpf_policy_parse_buf(p, path, buf, len, load, ctx, err);
	free(buf);
	return r;
}

const struct scbpf_policy_rule *scbpf_policy_find(const struct scbpf_policy *p, int nr)
{
	size_t lo = 0, hi = p->nrules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->rules[mid].nr == nr)
			return &p->rules[mid];
		if (p->rules[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int scbpf_policy_atom_true(const struct scbpf_policy_atom *a, uint64_t v)
{
	switch (a->op) {
	case SCBPF_POLICY_OP_EQ: return v == a->val;
	case SCBPF_POLICY_OP_NE: return v != a->val;
	case SCBPF_POLICY_OP_LT: return v < a->val;
	case SCBPF_POLICY_OP_LE: return v <= a->val;
	case SCBPF_POLICY_OP_GT: return v > a->val;
	case SCBPF_POLICY_OP_GE: return v >= a->val;
	case SCBPF_POLICY_OP_SET: return (v & a->val) != 0;
	case SCBPF_POLICY_OP_IN: return (v & ~a->val) == 0;
	}
	return 0;
}

uint32_t scbpf_policy_eval(const struct scbpf_policy *p, uint32_t arch, int nr, const uint64_t args[6])
{
	const struct scbpf_policy_rule *r;

	if (arch != SCBPF_AUDIT_ARCH || (SCBPF_ARCH_X32 && (uint32_t)nr >= 0x40000000u))
		return SECCOMP_RET_KILL_PROCESS;
	r = scbpf_policy_find(p, nr);
	if (!r)
		return p->default_action;
	for (uint32_t i = 0; i < r->nfilters; i++) {
		const struct scbpf_policy_filter *f = &p->filters[r->first + i];
		int expr = f->natoms == 0, clause = 1;

		for (uint32_t k = 0; k < f->natoms && !expr; k++) {
			const struct scbpf_policy_atom *a = &p->atoms[f->first + k];
			clause = clause && scbpf_policy_atom_true(a, args[a->arg]);
			if (a->last) {
				expr = clause;
				clause = 1;
			}
		}
		if (expr)
			return f->action;
	}
	return p->default_action;
}
