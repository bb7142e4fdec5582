/* Exit accounting: how many KVM_RUN exits each vCPU took, why (the KVM exit
 * reason, api.rst "struct kvm_run"), at which port or MMIO address, and the
 * time vmm spent handling them. Under nesting every exit to userspace costs
 * tens of microseconds, so these counts are what the boot path spends.
 *
 * Each vCPU thread owns one struct exitstat and is its only writer (relaxed
 * atomic loads and stores, no locked instructions); any thread may merge
 * them into a struct exitstat_sum at any time, e.g. for `vmm status`. */
#ifndef VMM_EXITSTAT_H
#define VMM_EXITSTAT_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_run;

#define EXITSTAT_REASONS 64   /* KVM_EXIT_* values; larger ones count as the last */
#define EXITSTAT_SLOTS   128  /* distinct (kind, address) pairs; more go to "other" */

/* What an exit touched. */
enum exitstat_kind {
	EXITSTAT_PIO_IN = 1,
	EXITSTAT_PIO_OUT,
	EXITSTAT_MMIO_READ,
	EXITSTAT_MMIO_WRITE,
};

struct exitstat_cell {
	_Atomic uint64_t n;   /* exits */
	_Atomic uint64_t ns;  /* time in vmm handling them */
};

struct exitstat {
	struct exitstat_cell reason[EXITSTAT_REASONS];
	_Atomic uint64_t key[EXITSTAT_SLOTS];  /* 0: free; else exitstat_key() */
	struct exitstat_cell at[EXITSTAT_SLOTS];
	struct exitstat_cell other;            /* accesses that found no free slot */
	_Atomic uint64_t guest_ns;             /* time inside KVM_RUN */
};

/* A merged, plain copy; entries sorted by count, highest first. */
struct exitstat_entry {
	enum exitstat_kind kind;
	uint64_t addr;
	uint64_t n, ns;
};

struct exitstat_sum {
	uint64_t reason_n[EXITSTAT_REASONS], reason_ns[EXITSTAT_REASONS];
	struct exitstat_entry at[EXITSTAT_SLOTS];
	unsigned nat;
	uint64_t other_n, other_ns;
	uint64_t exits, handle_ns, guest_ns;
};

/* CLOCK_MONOTONIC in ns (vDSO: no system call). */
uint64_t exitstat_now(void);

/* Account one return from KVM_RUN on the owning vCPU thread. run is the
 * vCPU's kvm_run after a successful KVM_RUN, or NULL when KVM_RUN failed
 * (EINTR: counted as KVM_EXIT_INTR). guest_ns: time inside KVM_RUN;
 * handle_ns: time from its return until the next entry. */
void exitstat_note(struct exitstat *s, const struct kvm_run *run, uint64_t guest_ns, uint64_t handle_ns);

/* Add one vCPU's counters to sum (zero it first: memset). */
void exitstat_merge(struct exitstat_sum *sum, const struct exitstat *s);
/* Sort sum's entries by count; call once after the last merge. */
void exitstat_sort(struct exitstat_sum *sum);

/* The KVM exit reason's name ("io", "mmio", "hlt", ...) or NULL. */
const char *exitstat_reason_name(unsigned reason);

/* sum as one JSON object {"exits":N,"guest_ms":..,"handle_ms":..,
 * "reasons":{"io":[n,us],...},"top":[["pio-out","0x3f8",n,us],...]} with at
 * most max_top entries, fewer if buf is short. Returns the length, or
 * -ENOSPC when not even the totals fit. */
int exitstat_json(const struct exitstat_sum *sum, unsigned max_top, char *buf, size_t len);

/* Log sum at LOG_DEBUG (vmm -v): totals, each reason, the max_top busiest addresses. */
void exitstat_log(const struct exitstat_sum *sum, unsigned max_top);
#endif
