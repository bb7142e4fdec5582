# evloop: the event loop (epoll callbacks with generation-tagged slots,
# one-shot deadline timers) that vmm's main thread and guest-init's PID 1
# both run. Unit tests link build/san/libevloop.a.
#
# For other components:
#   EVLOOP_REL_OBJS  release (musl) objects; add them to a binary's
#                    prerequisites (they are on its link line through $^)
# This file sorts before guest-init/ and vmm/ in the top-level Makefile's
# wildcard, so EVLOOP_REL_OBJS is set when their rules are read.
# Header: #include "evloop/evloop.h".
EVLOOP_SRCS := $(wildcard evloop/*.c)
EVLOOP_REL_OBJS := $(call rel_objs,$(EVLOOP_SRCS))

$(eval $(call component,evloop,$(EVLOOP_SRCS)))
