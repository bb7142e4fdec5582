# guest-init: the guest's PID 1, static musl (build/guest/init). Library
# sources are everything but main.c, for unit tests and fuzz targets.
INIT_SRCS := $(wildcard guest-init/*.c)
INIT_LIB_SRCS := $(filter-out guest-init/main.c,$(INIT_SRCS))

$(O)/guest/init: $(call rel_objs,$(INIT_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

BINS += $(O)/guest/init
$(eval $(call component,init,$(INIT_LIB_SRCS)))
