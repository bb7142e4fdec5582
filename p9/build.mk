# p9: the 9P2000.L server library (p9/p9.h), transport-independent. The
# virtio-9p device links $(P9_REL_OBJS); unit tests and tests/fuzz/fuzz_p9.c
# link build/san/libp9.a / build/fuzzlib/libp9.a.
P9_SRCS := $(wildcard p9/*.c)
P9_REL_OBJS := $(call rel_objs,$(P9_SRCS))

$(eval $(call component,p9,$(P9_SRCS)))

# p9serve: the library over a unix socket (Linux trans=unix), for the e2e
# client test (tests/e2e/scenarios/p9_client.sh) and debugging.
$(O)/p9serve: $(call rel_objs,p9/serve/p9serve.c) $(P9_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

BINS += $(O)/p9serve

# Benchmark for scripts/bench/p9.sh (not part of `make bins`).
$(O)/bench/p9_bench: $(call rel_objs,bench/p9/p9_bench.c) $(P9_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^
