/* The virtio device host: the core-owned half of every virtio device.
 *
 * For each instance a device's options ask for (struct virtio_device
 * instances), the host runs the device's privileged open() in the VMM
 * process, then creates what the device must not own: the transport
 * (virtio-mmio now; PCI or an FDT announcement later), the struct
 * virtio_signal and its irqfd, one notify eventfd per queue, and whatever
 * serves the queues:
 *
 * - By default (the sandbox, docs/SANDBOX.md) a device process:
 *   virtio_host_start() forks it through sandbox_spawn() (jailed, the
 *   device's seccomp policy <name with '-' as '_'>.policy last). It keeps
 *   only the guest RAM mapping, its notify eventfds, the irqfd, the fds the
 *   device's open() acquired (found by comparing the open fds before and
 *   after open(): a device lists none) and one end of a SOCK_SEQPACKET
 *   socketpair (proc.sock). The data path never touches vmm: KVM signals
 *   a notify eventfd (ioeventfd), the device process serves the queue in
 *   guest memory and writes the irqfd. struct virtio_signal lives in a
 *   MAP_SHARED page made before the fork, so InterruptStatus, NEEDS_RESET
 *   and requeue bits are seen live on both sides. vmm watches proc.pidfd
 *   in its event loop: a device process that dies is logged in one line
 *   ("device virtio-blk vda (pid 812) died: seccomp violation: openat")
 *   and ends the VM with exit code 1.
 * - With --disable-sandbox a worker thread per instance, running the same
 *   serve ops under the host's lock.
 *
 * Either way the worker loop waits on the notify eventfds and the device's
 * poll_fd and calls the serve ops -- never under the transport's register
 * lock, so a slow disk never blocks a vCPU reading InterruptStatus, nor
 * the serial port or the control socket on the main loop. A device that
 * stopped with chains left (virtio_signal_requeue) is called again after
 * the worker served everything else that was ready.
 *
 * The message layer on proc.sock (vmm/virtio_host.c). Config-space reads,
 * feature and status registers never reach the device: the transport
 * answers them from struct virtio_dev_info. What does cross is the
 * transport's calls into the device, as fixed-size datagrams (struct
 * vh_msg: type, sequence number, then plain data), each answered by a
 * fixed-size struct vh_reply (type, sequence, int32 result) unless noted:
 *   VH_MSG_ACTIVATE  features, nq, nq struct virtq_config -> activate()
 *   VH_MSG_RESET     -> reset(); answered once the device let go of its queues
 *   VH_MSG_DUMP      -> dump() (SIGUSR2), not answered
 *   VH_MSG_CONTROL   len, data[len] (at most VIRTIO_CONTROL_MAX) and at most
 *                    one fd as SCM_RIGHTS -> control(); answered with its
 *                    result, a -errno in -4095..-1 passed back as it is
 * vmm sends one request at a time (host lock) and waits at most 5 s for its
 * answer: the answer is hostile input, used only if it is exactly a reply's
 * size and matches the request's type and sequence number; anything else,
 * or no answer, fails the request (activate -> NEEDS_RESET) and is logged.
 * The device process trusts vmm's requests but still ends on a malformed
 * one instead of using part of it.
 * The device process receives with MSG_CMSG_CLOEXEC, takes exactly one fd
 * for VH_MSG_CONTROL (closing any other, and any fd on another type, which
 * ends it as malformed), closes it after the op and needs an RLIMIT_NOFILE
 * above 0 for it (virtio_dev_info nofile). With --disable-sandbox the host
 * calls the op directly under its lock.
 *
 * Ownership: the host owns the transport, the signal page, the eventfds,
 * the worker or device process, and the device instance (closed through
 * the device's close, in vmm, after the device process is gone). */
#ifndef VMM_VIRTIO_HOST_H
#define VMM_VIRTIO_HOST_H
#include "vmm/device.h"
#include "vmm/virtio.h"

struct virtio_host;

/* Create every instance of vd that cfg (its parsed options) asks for, in
 * index order. Returns 0 (*state set), 1 (no instance configured) or an
 * error in the dev_input_error model (logged once, naming the input). */
int virtio_host_create(void **state, const struct dev_env *env, const struct virtio_device *vd,
		       const void *cfg);
/* Start each instance's device process (default; from the thread that
 * lives as long as the VM, before vCPU threads exist) or worker thread
 * (cfg->disable_sandbox). 0, -errno (logged), or dev_input_error() for a
 * --seccomp-policy-dir that lacks or breaks the device's policy. */
int virtio_host_start(void *state);
/* Stop the device processes (their socket closes; killed after 1 s) or
 * join the workers, then close devices, transports and fds. Call after
 * vCPUs have stopped. NULL is ok. */
void virtio_host_destroy(void *state);
/* SIGUSR2: each transport's registers and each device's own dump. */
void virtio_host_dump(void *state);
/* A control message for this device type (struct virtio_device control):
 * offered to each instance in index order, under its lock, until one
 * answers anything but -ENODEV. Returns that answer, -ENODEV when no
 * instance takes it (or the type has no control op), -EMSGSIZE when len
 * exceeds VIRTIO_CONTROL_MAX. fd stays the caller's. */
int virtio_host_control(void *state, const void *msg, size_t len, int fd);

/* The device type's counters for `vmm status` (struct virtio_device
 * stats_key and stats_json): `"KEY":[{"name":"...","counters":...},...]`,
 * one object per instance in index order, read from each instance's
 * shared struct virtio_signal (live in either layout; no request reaches
 * a device process, so a stuck or hostile one cannot delay or corrupt the
 * answer). Returns the length (NUL written), 0 and nothing written when
 * the type has no counters, -ENOSPC when len is too small. */
int virtio_host_status_json(void *state, char *buf, size_t len);

/* Each instance's health for `vmm status`: `{"name":"...","pid":P,
 * "rounds":R}` objects, comma-separated, in index order; pid is the
 * device process's (0 for a worker thread, --disable-sandbox) and rounds
 * its worker's wake-ups (struct virtio_signal rounds, clamped like the
 * counters). Returns the length written (NUL included in len), -ENOSPC. */
int virtio_host_health_json(void *state, char *buf, size_t len);

/* For tests, which drive a host without threads. */
unsigned virtio_host_count(void *state);
struct virtio_host *virtio_host_instance(void *state, unsigned i);
void *virtio_host_dev(struct virtio_host *h);
/* The instance's device process (jailed, after start), or -1. */
int virtio_host_pid(struct virtio_host *h);
/* The instance's irqfd (the transport's), or -1. */
int virtio_host_irqfd(struct virtio_host *h);
/* One round of the worker: wait up to timeout_ms for ready notify
 * eventfds or poll_fd and serve them. Returns the number served, or
 * -ESHUTDOWN once stopped. */
int virtio_host_run(struct virtio_host *h, int timeout_ms);
#endif
