# vshd: the guest half of `vmm sh` (docs/AGENTS.md "vsh"), $(O)/guest/vshd.
# The session logic (vshd_session.c) is also a component, so unit tests can
# run sessions against a socketpair.
VSHD_SRCS := $(wildcard guest-agents/vsh/*.c)
$(eval $(call agent_bin,vshd,$(VSHD_SRCS)))
$(eval $(call component,vshd,$(filter-out guest-agents/vsh/main.c,$(VSHD_SRCS))))
