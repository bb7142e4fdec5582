/* virtio-vsock (virtio 1.2 §5.10) served by the VMM itself, without vhost:
 * the guest reaches only the host endpoints its own vmm exposes.
 *
 * Host side (Firecracker's hybrid vsock convention):
 *  - host-initiated: a client connects to the unix socket PATH (--vsock),
 *    writes "CONNECT <port>\n", gets "OK <hostport>\n" once the guest
 *    accepted, then the bytes flow; refused or timed out: the client's
 *    connection is closed.
 *  - guest-initiated to host port P: forwarded to the unix socket "PATH_P";
 *    when it does not exist (or there is no PATH) the guest gets OP_RST.
 *    vmm's own endpoints (vsock_set_svc_dir) come first: "SVC_DIR/P".
 *  - from the VMM: a SOCK_SEQPACKET connector (struct virtio_dev_info's
 *    stream_fd, protocol in vmm/virtio.h) takes "CONNECT <port>\n" with a
 *    stream fd over SCM_RIGHTS and wires that fd to the guest port: the
 *    control socket reaches the guest RPC service so, by fd handover and
 *    never by calling into the device.
 *
 * Threads: the device host serialises every serve op on the device's worker
 * (and activate/reset from vCPU threads); a mutex in struct vsock_dev
 * guards direct callers (tests) too. Host sockets and the connector sit in
 * a private epoll set (edge-triggered, EPOLLIN and EPOLLOUT) whose fd is the
 * device's poll_fd, so any number of connections costs one slot.
 *
 * Ownership: struct vsock_dev owns its host fds (listener, connections,
 * epoll, timerfd) and per-connection buffers; vsock_close releases all. */
#ifndef VMM_DEVICES_VIRTIO_VSOCK_H
#define VMM_DEVICES_VIRTIO_VSOCK_H
#include <stdint.h>

#include "vmm/gm.h"
#include "vmm/virtio.h"

#define VIRTIO_ID_VSOCK 19

/* §5.10.6 struct virtio_vsock_hdr: 44 bytes, little-endian. */
#define VSOCK_HDR_SIZE 44
#define VSOCK_TYPE_STREAM 1
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2
/* §5.10.4: CID 2 is the host. */
#define VSOCK_HOST_CID 2

/* Queues (§5.10.2). */
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

/* Limits: connections at once, and what each connection may hold of the
 * guest's bytes the host socket has not taken yet (our buf_alloc). */
#define VSOCK_MAX_CONNS 1024
#define VSOCK_BUF_ALLOC (256u << 10)
/* Largest payload we put in one rx packet (the guest's buffer may cap it
 * further; Linux posts 4 KiB buffers). */
#define VSOCK_MAX_PKT (64u << 10)
/* Chains taken from each queue per notification (or host event): a guest
 * refilling its rings as fast as we serve them must not keep the
 * event-loop thread, which also serves every other device, signals and
 * the control socket. Leftover work is requeued (vhost's
 * VHOST_VSOCK_PKT_WEIGHT plays the same part). */
#define VSOCK_BUDGET 64
/* Host ports we hand out for host-initiated connections. */
#define VSOCK_LOCAL_PORT_BASE 0x40000000u
/* A host-initiated connection must send its CONNECT line and the guest must
 * answer the request within this. */
#define VSOCK_CONNECT_TIMEOUT_MS 2000

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* Encode/decode the wire header (exposed for tests). */
void vsock_hdr_put(uint8_t out[VSOCK_HDR_SIZE], const struct vsock_hdr *h);
void vsock_hdr_get(struct vsock_hdr *h, const uint8_t in[VSOCK_HDR_SIZE]);

/* Parsed options: --cid N (default 3), --vsock PATH. */
struct vsock_opts {
	uint32_t cid;
	const char *path;
};

struct vsock_dev;

/* Create the device model for guest CID cid, reporting back through sig
 * (owned by the caller). path, when not NULL, is the host listening socket
 * (created here; a stale socket is replaced, one a live process listens on
 * is an error). streams, when not NULL, receives the VMM's end of the
 * guest-stream connector (owned by the caller). Returns 0, or
 * dev_input_error(-errno) for a bad CID or path, or -errno (with an error
 * line naming the input). */
int vsock_open(struct vsock_dev **out, const struct gm *gm, uint32_t cid, const char *path,
	       struct virtio_signal *sig, int *streams);
/* Guest connections to host port P go to the unix socket DIR/P when it
 * exists (vmm's own endpoints: the log and crash services, docs/AGENTS.md),
 * before PATH_P. dir is copied; NULL turns it off. 0 or -ENOMEM. */
int vsock_set_svc_dir(struct vsock_dev *d, const char *dir);
/* Close every connection and fd; unlink the listening socket. NULL ok. */
void vsock_close(struct vsock_dev *d);
struct virtio_signal *vsock_signal(struct vsock_dev *d);
/* The device's epoll fd: readable when host sockets have events. */
int vsock_event_fd(const struct vsock_dev *d);
/* Handle pending host-socket events (what the event loop calls when
 * vsock_event_fd is readable). Never blocks. */
void vsock_poll(struct vsock_dev *d);
/* Connection to guest port from the device's own thread (tests; the VMM
 * uses the connector): returns our socketpair end's peer (blocking,
 * CLOEXEC, owned by the caller) or -errno (-ENOTCONN: the driver is not
 * up). The guest's answer comes later: a refusal closes the stream. */
int vsock_connect(void *dev, uint32_t port);
/* Live connections (tests). */
unsigned vsock_conn_count(const struct vsock_dev *d);
/* Log the device's queues and connections (SIGUSR2 on vmm). */
void vsock_dump(struct vsock_dev *d);

extern const struct virtio_device vsock_virtio_ops;
#endif
