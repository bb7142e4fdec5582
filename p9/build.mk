# p9: the 9P2000.L server library (p9/p9.h), transport-independent. No
# binary of its own: the virtio-9p device links $(P9_REL_OBJS); unit tests
# and tests/fuzz/fuzz_p9.c link build/san/libp9.a / build/fuzzlib/libp9.a.
P9_SRCS := $(wildcard p9/*.c)
P9_REL_OBJS := $(call rel_objs,$(P9_SRCS))

# Release objects are built by `make` so the library stays musl-clean
# before any binary links it.
bins: $(P9_REL_OBJS)
$(eval $(call component,p9,$(P9_SRCS)))
