# The ASan+UBSan vmm for tests/native/hostile.sh, and the glibc pieces it
# needs inside the nested L1 machine (whose userland is static busybox).
#
#   make -f tests/native/hostile.mk O=build native-hostile
#
# Output: $(O)/native/hostile/vmm (clang, -fsanitize=address,undefined, the same
# sources as the release vmm) and $(O)/native/hostile/root/, a tree of the shared
# libraries it loads (from ldd), which tests/e2e/run copies into L1's root,
# cases.list, the scenario table (tests/guests/hostile_cases.h), and
# hostile-net (tests/native/hostile_net.c), the net scenarios' host side.
# ASan cannot link statically, hence the tree.
include Makefile

HOSTILE_VMM := $(O)/native/hostile/vmm
HOSTILE_NET := $(O)/native/hostile/hostile-net
.PHONY: native-hostile
native-hostile: $(HOSTILE_VMM) $(O)/native/hostile/root/.stamp $(O)/native/hostile/cases.list $(HOSTILE_NET)

# The net scenarios' host side (a namespace for vmm, a bounded flood):
# static musl like the e2e helpers, so it runs in L1's busybox userland.
$(HOSTILE_NET): $(call rel_objs,tests/native/hostile_net.c)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(MUSL_CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $^

# The scenario table as "NAME CLASS FLAGS" lines, for the runner (inside L1
# there is no source tree to read it from).
$(O)/native/hostile/cases.list: tests/guests/hostile_cases.h
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -n 's/^H(\([a-z0-9_]*\), *\([A-Z]*\), *\([a-z0-9-]*\),.*/\1 \2 \3/p' $< >$@.tmp && mv $@.tmp $@

$(HOSTILE_VMM): $(O)/san/obj/vmm/main.o $(SAN_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -o $@ $< -Wl,--start-group $(SAN_LIBS) -Wl,--end-group -lpthread $(SAN_EXTRA_LDLIBS)

# Every library ldd names, at the same absolute path under root/.
$(O)/native/hostile/root/.stamp: $(HOSTILE_VMM)
	$(call msg,LIBS,$(@D))
	$(Q)rm -rf $(@D) && mkdir -p $(@D)
	$(Q)for l in $$(ldd $< | grep -o '/[^ ]*'); do \
		mkdir -p $(@D)$$(dirname $$l) && cp -L $$l $(@D)$$l || exit 1; done
	$(Q)touch $@
