/* Exit accounting: counts per reason and per (kind, address), merging of
 * per-vCPU tables, the overflow bucket and the JSON shape. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "tests/unit/t.h"
#include "vmm/exitstat.h"
#include "vmm/log.h"

static struct kvm_run run;

static void pio(struct exitstat *s, uint16_t port, int out, uint64_t ns)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IO;
	run.io.port = port;
	run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run.io.size = 1;
	run.io.count = 1;
	exitstat_note(s, &run, 1000, ns);
}

static void mmio(struct exitstat *s, uint64_t addr, int write, uint64_t ns)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = addr;
	run.mmio.is_write = (uint8_t)write;
	run.mmio.len = 4;
	exitstat_note(s, &run, 1000, ns);
}

static const struct exitstat_entry *find(const struct exitstat_sum *sum, enum exitstat_kind k, uint64_t addr)
{
	for (unsigned i = 0; i < sum->nat; i++)
		if (sum->at[i].kind == k && sum->at[i].addr == addr)
			return &sum->at[i];
	return NULL;
}

static void counts_by_reason_and_address(void)
{
	struct exitstat *s = calloc(1, sizeof(*s));
	struct exitstat_sum *sum = calloc(1, sizeof(*sum));
	const struct exitstat_entry *e;

	for (int i = 0; i < 5; i++)
		pio(s, 0x3f8, 1, 100);
	pio(s, 0x3fd, 0, 7);
	pio(s, 0x3fd, 0, 7);
	pio(s, 0x3f8, 0, 3);  /* same port, other direction: its own entry */
	mmio(s, 0xd0000050, 1, 50);
	exitstat_note(s, NULL, 500, 9);  /* KVM_RUN returned EINTR */
	exitstat_merge(sum, s);
	exitstat_sort(sum);

	CHECK_EQ(sum->exits, 10);
	CHECK_EQ(sum->reason_n[KVM_EXIT_IO], 8);
	CHECK_EQ(sum->reason_ns[KVM_EXIT_IO], 5 * 100 + 2 * 7 + 3);
	CHECK_EQ(sum->reason_n[KVM_EXIT_MMIO], 1);
	CHECK_EQ(sum->reason_n[KVM_EXIT_INTR], 1);
	CHECK_EQ(sum->handle_ns, 5 * 100 + 2 * 7 + 3 + 50 + 9);
	CHECK_EQ(sum->guest_ns, 9 * 1000 + 500);
	CHECK_EQ(sum->nat, 4);
	/* Sorted by count: the THR writes first. */
	CHECK_EQ(sum->at[0].kind, EXITSTAT_PIO_OUT);
	CHECK_EQ(sum->at[0].addr, 0x3f8);
	CHECK_EQ(sum->at[0].n, 5);
	CHECK_EQ(sum->at[0].ns, 500);
	e = find(sum, EXITSTAT_PIO_IN, 0x3fd);
	CHECK(e && e->n == 2 && e->ns == 14);
	e = find(sum, EXITSTAT_PIO_IN, 0x3f8);
	CHECK(e && e->n == 1);
	e = find(sum, EXITSTAT_MMIO_WRITE, 0xd0000050);
	CHECK(e && e->n == 1 && e->ns == 50);
	CHECK_EQ(sum->other_n, 0);
	free(s);
	free(sum);
}

static void vcpus_merge(void)
{
	struct exitstat *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct exitstat_sum *sum = calloc(1, sizeof(*sum));
	const struct exitstat_entry *e;

	pio(a, 0x70, 1, 10);
	pio(b, 0x70, 1, 20);
	pio(b, 0x71, 0, 1);
	exitstat_merge(sum, a);
	exitstat_merge(sum, b);
	exitstat_sort(sum);
	CHECK_EQ(sum->exits, 3);
	CHECK_EQ(sum->nat, 2);
	e = find(sum, EXITSTAT_PIO_OUT, 0x70);
	CHECK(e && e->n == 2 && e->ns == 30);
	free(a);
	free(b);
	free(sum);
}

/* More distinct addresses than slots, and reasons beyond the table: all
 * still counted, none lost, nothing written out of bounds (ASan). */
static void overflow_counted(void)
{
	struct exitstat *s = calloc(1, sizeof(*s));
	struct exitstat_sum *sum = calloc(1, sizeof(*sum));
	uint64_t in_slots = 0;

	for (unsigned i = 0; i < 3 * EXITSTAT_SLOTS; i++)
		mmio(s, 0xd0000000 + 4 * i, 0, 1);
	memset(&run, 0, sizeof(run));
	run.exit_reason = 1000;
	exitstat_note(s, &run, 0, 1);
	exitstat_merge(sum, s);
	exitstat_sort(sum);
	for (unsigned i = 0; i < sum->nat; i++)
		in_slots += sum->at[i].n;
	CHECK(sum->nat <= EXITSTAT_SLOTS);
	CHECK(sum->other_n > 0);
	CHECK_EQ(in_slots + sum->other_n, 3 * EXITSTAT_SLOTS);
	CHECK_EQ(sum->reason_n[EXITSTAT_REASONS - 1], 1);
	CHECK_EQ(sum->exits, 3 * EXITSTAT_SLOTS + 1);
	free(s);
	free(sum);
}

static void json_shape_and_truncation(void)
{
	struct exitstat *s = calloc(1, sizeof(*s));
	struct exitstat_sum *sum = calloc(1, sizeof(*sum));
	char buf[2048];
	int n, m;

	for (int i = 0; i < 3; i++)
		pio(s, 0x3f8, 1, 2000);
	mmio(s, 0xd0000070, 1, 1000);
	exitstat_merge(sum, s);
	exitstat_sort(sum);
	n = exitstat_json(sum, 16, buf, sizeof(buf));
	CHECK_EQ(n, (long long)strlen(buf));
	CHECK(strstr(buf, "\"exits\":4,") != NULL);
	CHECK(strstr(buf, "\"io\":[3,6]") != NULL);
	CHECK(strstr(buf, "\"mmio\":[1,1]") != NULL);
	CHECK(strstr(buf, "[\"pio-out\",\"0x3f8\",3,6],[\"mmio-write\",\"0xd0000070\",1,1]]}") != NULL);
	CHECK(buf[0] == '{' && buf[n - 1] == '}');
	/* max_top limits the list. */
	m = exitstat_json(sum, 1, buf, sizeof(buf));
	CHECK(m > 0 && strstr(buf, "0xd0000070") == NULL && strstr(buf, "0x3f8") != NULL);
	/* A buffer with room for the totals only: fewer entries, still closed. */
	m = exitstat_json(sum, 16, buf, (size_t)n - 10);
	CHECK(m > 0 && m < n);
	CHECK_EQ(m, (long long)strlen(buf));
	CHECK(strcmp(buf + m - 2, "]}") == 0);
	CHECK(strstr(buf, "0xd0000070") == NULL);
	/* Not even the totals. */
	CHECK_EQ(exitstat_json(sum, 16, buf, 20), -ENOSPC);
	CHECK_EQ(exitstat_json(sum, 16, buf, 2), -ENOSPC);
	free(s);
	free(sum);
}

int main(void)
{
	t_suite = "exitstat";
	log_level = -1;
	RUN(counts_by_reason_and_address);
	RUN(vcpus_merge);
	RUN(overflow_counted);
	RUN(json_shape_and_truncation);
	return t_done();
}
