/* The VM's control socket (-s PATH, crosvm's --socket): a unix stream socket
 * speaking the framed RPC of proto/README.md. VmControl requests (stop,
 * status) are answered by vmm; Maitred requests are relayed to the guest's
 * service on vsock port 8888, so the host needs no vsock of its own: each
 * relay opens a stream by handing one socketpair end to the guest-stream
 * connector a virtio device offered (protocol in vmm/virtio.h).
 *
 * Threads: the listening socket is watched on the event loop; each accepted
 * connection is served by a thread of its own (blocking I/O), so a slow
 * client or guest never stalls the loop. */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H
#include <stddef.h>
#include <stdint.h>

#include "evloop/evloop.h"

#define CTL_MAX_CONNS 128

struct ctl_hooks {
	void *vm;
	/* End the VM now (guest not notified). */
	void (*stop)(void *vm);
	/* Write the VM's state as one JSON object; returns its length or -errno. */
	int (*status_json)(void *vm, char *buf, size_t len);
	/* Hand a control message (and fd, -1 or a directory the control
	 * socket opened, kept by the caller) to the virtio device type named
	 * device (struct virtio_device control). 0 or -errno; -ENODEV when no
	 * instance of that type takes it. NULL: DeviceControl unimplemented. */
	int (*device_control)(void *vm, const char *device, const void *msg, size_t len, int fd);
	/* The guest-stream connector (SOCK_SEQPACKET, not owned), or -1. */
	int guest_streams;
};

struct ctl;

/* Bind and listen on path (an existing socket file is replaced only if no
 * one answers on it) and watch it on ev. dev_input_error(-EADDRINUSE) when
 * a live VM owns path, dev_input_error(-errno) when path is unusable,
 * -errno otherwise (one error line logged naming path). */
int ctl_open(struct ctl **out, const char *path, struct evloop *ev, const struct ctl_hooks *hooks);
/* Stop accepting, shut down every connection, wait (bounded) for their
 * threads, unlink the socket. */
void ctl_close(struct ctl *c);
#endif
