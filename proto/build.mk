# proto: the Maitred .proto files with their nanopb bounds, and the framed RPC
# library (rpc_*.c) both the guest server and the host client link.
#
# For other components:
#   PROTO_REL_OBJS   release (musl) objects of the library + generated code;
#                    add them to a binary's prerequisites / link line
#   PROTO_LDLIBS     Debian's static nanopb runtime, after the objects
#   PROTO_REL_CFLAGS include flags for <pb.h> under musl-gcc; already added
#                    to REL_CFLAGS below, listed for anyone building by hand
# e.g.  $(O)/vmm: ... $(PROTO_REL_OBJS)   and   VMM_LDLIBS += $(PROTO_LDLIBS)
# Headers: #include "proto/rpc.h", "proto/maitred.h" (which pulls in the
# generated "proto/maitred.pb.h" from $(O)/gen).

PROTO_FILES := $(wildcard proto/*.proto)
PROTO_GEN_C := $(patsubst proto/%.proto,$(O)/gen/proto/%.pb.c,$(PROTO_FILES))
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_SRCS := $(wildcard proto/*.c) $(PROTO_GEN_C)

NANOPB_LIB := /usr/lib/$(MULTIARCH)/libprotobuf-nanopb.a
NANOPB_GEN := nanopb_generator.py
# musl-gcc does not search /usr/include (on purpose); expose only nanopb's
# four headers through a directory of links, like $(UAPI) for the kernel's.
NANOPB_INC := $(O)/nanopb-include

PROTO_REL_OBJS := $(call rel_objs,$(PROTO_SRCS))
PROTO_LDLIBS := $(NANOPB_LIB)
PROTO_REL_CFLAGS := -isystem $(NANOPB_INC)
REL_CFLAGS += $(PROTO_REL_CFLAGS)
# Unit tests and fuzzers link every component library; nanopb's runtime
# comes last so proto's objects find it.
SAN_EXTRA_LDLIBS += $(NANOPB_LIB)

$(NANOPB_INC)/.stamp:
	$(call msg,NANOPB,$(NANOPB_INC))
	$(Q)mkdir -p $(NANOPB_INC)
	$(Q)for h in pb.h pb_common.h pb_encode.h pb_decode.h; do \
		ln -sfn /usr/include/$$h $(NANOPB_INC)/$$h || exit 1; done
	$(Q)touch $@

# Generated at build time by Debian's nanopb generator; --error-on-unmatched
# so a typo in a .options file fails the build instead of dropping a bound.
$(O)/gen/proto/%.pb.c $(O)/gen/proto/%.pb.h: proto/%.proto proto/%.options
	$(call msg,NANOPB,$<)
	$(Q)mkdir -p $(O)/gen/proto
	$(Q)$(NANOPB_GEN) -q --error-on-unmatched -I proto -D $(O)/gen/proto $(notdir $<)

GEN += $(PROTO_GEN_C) $(PROTO_GEN_H) $(NANOPB_INC)/.stamp
$(eval $(call component,proto,$(PROTO_SRCS)))

# Benchmark client/server (not a product binary): `make build/bench/rpc_bench`;
# scripts/bench/rpc.sh runs it next to the gRPC C++ equivalent, which that
# script builds itself (g++, Debian's libgrpc++-dev) outside this Makefile.
$(O)/bench/rpc_bench: $(call rel_objs,bench/rpc/rpc_bench.c) $(PROTO_REL_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ $(PROTO_LDLIBS)
