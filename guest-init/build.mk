# guest-init: the guest's PID 1, static musl (build/guest/init). Library
# sources are everything but main.c, for unit tests and fuzz targets.
INIT_SRCS := $(wildcard guest-init/*.c)
INIT_LIB_SRCS := $(filter-out guest-init/main.c,$(INIT_SRCS))

# The Maitred RPC service (maitred*.c) links proto's framing library and
# Debian's static nanopb runtime. proto/build.mk is read after this file
# (wildcard order), so its PROTO_REL_OBJS is still empty here: name the same
# objects the way it does; PROTO_LDLIBS is used in the recipe, read late.
INIT_PROTO_OBJS := $(call rel_objs,$(wildcard proto/*.c) \
	$(patsubst proto/%.proto,$(O)/gen/proto/%.pb.c,$(wildcard proto/*.proto)))
# Its event loop is evloop/'s (EVLOOP_REL_OBJS, set: evloop/build.mk sorts
# first).
$(O)/guest/init: $(call rel_objs,$(INIT_SRCS)) $(EVLOOP_REL_OBJS) $(INIT_PROTO_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^ $(PROTO_LDLIBS)

BINS += $(O)/guest/init
$(eval $(call component,init,$(INIT_LIB_SRCS)))
