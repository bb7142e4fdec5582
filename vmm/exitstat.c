/* Exit accounting (exitstat.h). */
#include "vmm/exitstat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/kvm.h>

#include "vmm/log.h"

#define EXITSTAT_PROBES 8  /* linear probes before an access counts as "other" */
#define EXITSTAT_ADDR_MASK ((1ULL << 56) - 1)

uint64_t exitstat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Single writer: a relaxed load and store, no locked add. */
static void exitstat_bump(struct exitstat_cell *c, uint64_t ns)
{
	atomic_store_explicit(&c->n, atomic_load_explicit(&c->n, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&c->ns, atomic_load_explicit(&c->ns, memory_order_relaxed) + ns, memory_order_relaxed);
}

static uint64_t exitstat_key(enum exitstat_kind kind, uint64_t addr)
{
	return (uint64_t)kind << 56 | (addr & EXITSTAT_ADDR_MASK);
}

static unsigned exitstat_hash(uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ULL) >> 57) % EXITSTAT_SLOTS;
}

static struct exitstat_cell *exitstat_cell_for(struct exitstat *s, uint64_t key)
{
	unsigned h = exitstat_hash(key);

	for (unsigned i = 0; i < EXITSTAT_PROBES; i++) {
		unsigned j = (h + i) % EXITSTAT_SLOTS;
		uint64_t k = atomic_load_explicit(&s->key[j], memory_order_relaxed);
		if (k == key)
			return &s->at[j];
		if (k == 0) {
			/* Release: a reader that sees the key sees a zeroed cell. */
			atomic_store_explicit(&s->key[j], key, memory_order_release);
			return &s->at[j];
		}
	}
	return &s->other;
}

void exitstat_note(struct exitstat *s, const struct kvm_run *run, uint64_t guest_ns, uint64_t handle_ns)
{
	unsigned reason = run ? run->exit_reason : KVM_EXIT_INTR;

	atomic_store_explicit(&s->guest_ns, atomic_load_explicit(&s->guest_ns, memory_order_relaxed) + guest_ns,
			      memory_order_relaxed);
	exitstat_bump(&s->reason[reason < EXITSTAT_REASONS ? reason : EXITSTAT_REASONS - 1], handle_ns);
	if (!run)
		return;
	if (reason == KVM_EXIT_IO)
		exitstat_bump(exitstat_cell_for(s, exitstat_key(run->io.direction == KVM_EXIT_IO_OUT ?
									 EXITSTAT_PIO_OUT : EXITSTAT_PIO_IN,
								 run->io.port)),
			      handle_ns);
	else if (reason == KVM_EXIT_MMIO)
		exitstat_bump(exitstat_cell_for(s, exitstat_key(run->mmio.is_write ? EXITSTAT_MMIO_WRITE :
									    EXITSTAT_MMIO_READ,
								run->mmio.phys_addr)),
			      handle_ns);
}

static uint64_t ld(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

void exitstat_merge(struct exitstat_sum *sum, const struct exitstat *s)
{
	for (unsigned i = 0; i < EXITSTAT_REASONS; i++) {
		uint64_t n = ld(&s->reason[i].n);
		sum->reason_n[i] += n;
		sum->reason_ns[i] += ld(&s->reason[i].ns);
		sum->exits += n;
		sum->handle_ns += ld(&s->reason[i].ns);
	}
	sum->guest_ns += ld(&s->guest_ns);
	sum->other_n += ld(&s->other.n);
	sum->other_ns += ld(&s->other.ns);
	for (unsigned i = 0; i < EXITSTAT_SLOTS; i++) {
		uint64_t key = atomic_load_explicit(&s->key[i], memory_order_acquire);
		unsigned j;

		if (!key)
			continue;
		for (j = 0; j < sum->nat; j++)
			if (exitstat_key(sum->at[j].kind, sum->at[j].addr) == key)
				break;
		if (j == sum->nat) {
			if (sum->nat == EXITSTAT_SLOTS) {
				/* Different vCPUs touched more than a table's worth. */
				sum->other_n += ld(&s->at[i].n);
				sum->other_ns += ld(&s->at[i].ns);
				continue;
			}
			sum->at[sum->nat++] = (struct exitstat_entry){ .kind = (enum exitstat_kind)(key >> 56),
								       .addr = key & EXITSTAT_ADDR_MASK };
		}
		sum->at[j].n += ld(&s->at[i].n);
		sum->at[j].ns += ld(&s->at[i].ns);
	}
}

static int exitstat_cmp(const void *a, const void *b)
{
	const struct exitstat_entry *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void exitstat_sort(struct exitstat_sum *sum)
{
	qsort(sum->at, sum->nat, sizeof(sum->at[0]), exitstat_cmp);
}

const char *exitstat_reason_name(unsigned reason)
{
	/* api.rst "struct kvm_run": the exits a VMM with an in-kernel
	 * irqchip sees. */
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "unknown";
	case KVM_EXIT_EXCEPTION: return "exception";
	case KVM_EXIT_IO: return "io";
	case KVM_EXIT_HYPERCALL: return "hypercall";
	case KVM_EXIT_DEBUG: return "debug";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_MMIO: return "mmio";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "irq_window_open";
	case KVM_EXIT_SHUTDOWN: return "shutdown";
	case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
	case KVM_EXIT_INTR: return "intr";
	case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
	case KVM_EXIT_SYSTEM_EVENT: return "system_event";
	default: return NULL;
	}
}

static const char *exitstat_kind_name(enum exitstat_kind k)
{
	switch (k) {
	case EXITSTAT_PIO_IN: return "pio-in";
	case EXITSTAT_PIO_OUT: return "pio-out";
	case EXITSTAT_MMIO_READ: return "mmio-read";
	case EXITSTAT_MMIO_WRITE: return "mmio-write";
	}
	return "?";
}

/* Append to buf at *off; 0, or -ENOSPC leaving *off unchanged. */
static int __attribute__((format(printf, 4, 5))) exitstat_put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off) {
		buf[*off] = '\0';
		return -ENOSPC;
	}
	*off += (size_t)n;
	return 0;
}

int exitstat_json(const struct exitstat_sum *sum, unsigned max_top, char *buf, size_t len)
{
	size_t off = 0, mark;
	int first = 1;

	/* Room is kept for the closing "]}" (2 bytes) throughout. */
	if (len < 3)
		return -ENOSPC;
	len -= 2;
	if (exitstat_put(buf, len, &off, "{\"exits\":%llu,\"guest_ms\":%.3f,\"handle_ms\":%.3f,\"other\":[%llu,%llu],",
			 (unsigned long long)sum->exits, sum->guest_ns / 1e6, sum->handle_ns / 1e6,
			 (unsigned long long)sum->other_n, (unsigned long long)(sum->other_ns / 1000)) ||
	    exitstat_put(buf, len, &off, "\"reasons\":{"))
		return -ENOSPC;
	for (unsigned i = 0; i < EXITSTAT_REASONS; i++) {
		const char *name = exitstat_reason_name(i);
		char num[16];

		if (!sum->reason_n[i])
			continue;
		if (!name) {
			snprintf(num, sizeof(num), "%u", i);
			name = num;
		}
		if (exitstat_put(buf, len, &off, "%s\"%s\":[%llu,%llu]", first ? "" : ",", name,
				 (unsigned long long)sum->reason_n[i], (unsigned long long)(sum->reason_ns[i] / 1000)))
			return -ENOSPC;
		first = 0;
	}
	if (exitstat_put(buf, len, &off, "},\"top\":["))
		return -ENOSPC;
	for (unsigned i = 0; i < sum->nat && i < max_top; i++) {
		const struct exitstat_entry *e = &sum->at[i];

		mark = off;
		if (exitstat_put(buf, len, &off, "%s[\"%s\",\"0x%llx\",%llu,%llu]", i ? "," : "",
				 exitstat_kind_name(e->kind), (unsigned long long)e->addr, (unsigned long long)e->n,
				 (unsigned long long)(e->ns / 1000))) {
			/* Out of room: fewer entries, still valid JSON. */
			off = mark;
			buf[off] = '\0';
			break;
		}
	}
	memcpy(buf + off, "]}", 3);
	return (int)(off + 2);
}

void exitstat_log(const struct exitstat_sum *sum, unsigned max_top)
{
	log_debug("exits: %llu, %.3f ms handling them in vmm, %.3f ms in the guest",
		 (unsigned long long)sum->exits, sum->handle_ns / 1e6, sum->guest_ns / 1e6);
	for (unsigned i = 0; i < EXITSTAT_REASONS; i++) {
		const char *name = exitstat_reason_name(i);

		if (sum->reason_n[i])
			log_debug("exits:   %-14s %8llu  %10.3f ms", name ? name : "(other)",
				 (unsigned long long)sum->reason_n[i], sum->reason_ns[i] / 1e6);
	}
	for (unsigned i = 0; i < sum->nat && i < max_top; i++)
		log_debug("exits:   %-10s 0x%-8llx %8llu  %10.3f ms", exitstat_kind_name(sum->at[i].kind),
			 (unsigned long long)sum->at[i].addr, (unsigned long long)sum->at[i].n, sum->at[i].ns / 1e6);
	if (sum->other_n)
		log_debug("exits:   (other addresses)   %8llu  %10.3f ms", (unsigned long long)sum->other_n,
			 sum->other_ns / 1e6);
}
