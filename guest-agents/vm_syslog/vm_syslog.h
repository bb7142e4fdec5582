/* vm_syslog: the guest's log agent (docs/AGENTS.md). Binds /dev/log, reads
 * /dev/kmsg, and forwards every record to vmm's log endpoint (vsock port
 * 9002, proto/vmlog.proto) in batches with sequence numbers and acks,
 * keeping what the host has not acknowledged in a bounded buffer.
 *
 *   parse.c   one /dev/log datagram (RFC 5424 or RFC 3164) or one
 *             /dev/kmsg record (Documentation/ABI/testing/dev-kmsg) ->
 *             vmlog_Record; pure functions over hostile bytes
 *   queue.c   the bounded record buffer: drops the oldest when full and
 *             counts them
 *   main.c    sockets, privilege drop, the poll loop, batching and acks */
#ifndef APPVM_GUEST_AGENTS_VM_SYSLOG_H
#define APPVM_GUEST_AGENTS_VM_SYSLOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/agents.h"

/* RFC 5424 §6.1 asks receivers for at least 2048 octets; longer datagrams
 * are cut (vmlog.options bounds msg to 2048) and marked truncated. */
#define VSL_DGRAM_MAX 8192

/* Parse one /dev/log datagram of n bytes received at now_us (guest wall
 * clock, µs). Never fails: what does not parse becomes the message, with
 * RFC 3164 §4.3.3's default priority (user.notice). r is overwritten;
 * seq and source are left 0 (DEVLOG). */
void vsl_parse_devlog(const uint8_t *p, size_t n, int64_t now_us, vmlog_Record *r);

/* Parse one /dev/kmsg record ("PRI,SEQ,TS_US,FLAGS[,...];MESSAGE\n" then
 * continuation lines " KEY=VALUE\n", dev-kmsg ABI). boot_us is the kernel
 * timestamp; time_us becomes boot_to_wall_us + boot_us. *kseq receives the
 * kernel's sequence number (gaps mean the ring overwrote records).
 * Returns 0, or -EINVAL for a malformed prefix (r untouched then). */
int vsl_parse_kmsg(const char *p, size_t n, int64_t boot_to_wall_us, uint64_t *kseq, vmlog_Record *r);

/* RFC 3339 timestamp (RFC 5424 §6.2.3: "2003-10-11T22:14:15.003Z",
 * "...+02:00") of n bytes -> µs since the epoch. -EINVAL when malformed. */
int vsl_parse_rfc3339(const char *p, size_t n, int64_t *us);

/* ---- queue.c ---- */

/* Records waiting to be sent, oldest first, in a byte budget: each costs
 * its encoded fields plus a small header, so many short records fit. */
struct vsl_queue {
	uint8_t *buf;
	size_t cap, head, used;   /* ring of entries; used bytes from head */
	unsigned count;
	uint64_t dropped;         /* records dropped since the last take of a loss count */
};

/* Allocate cap bytes (at least VSL_QUEUE_MIN). 0 or -ENOMEM. */
#define VSL_QUEUE_MIN (16u << 10)
int vsl_queue_init(struct vsl_queue *q, size_t cap);
void vsl_queue_free(struct vsl_queue *q);
/* Append r (seq is not stored); the oldest records go while it does not
 * fit, each counted in q->dropped. */
void vsl_queue_push(struct vsl_queue *q, const vmlog_Record *r);
/* Copy the oldest record into r (seq 0) and remove it. 0, or -ENOENT when
 * empty. */
int vsl_queue_pop(struct vsl_queue *q, vmlog_Record *r);
/* Bytes the oldest record would occupy, 0 when empty. */
size_t vsl_queue_front_size(const struct vsl_queue *q);
#endif

/* ---- loop.c ---- */

struct vsl_opts {
	const char *socket_path;  /* /dev/log */
	const char *kmsg_path;    /* /dev/kmsg; NULL: no kernel messages */
	size_t buffer;            /* queue bytes (init.syslog_buffer) */
	unsigned flush_records;   /* send when this many wait (1..16) */
	size_t flush_bytes;       /* ... or this many bytes */
	unsigned flush_ms;        /* ... or the oldest waited this long */
	unsigned term_grace_ms;   /* SIGTERM: time to flush, then exit */
	bool jail;                /* drop privileges after opening (agent_jail) */
	const char *cmdline;      /* the kernel command line (appvm.syslog=) */
};

/* Defaults: /dev/log, /dev/kmsg, 1 MiB, 16 records, 16 KiB, 50 ms, 3 s, jail. */
void vsl_opts_default(struct vsl_opts *o);
/* Run until SIGTERM/SIGINT (blocked by the caller and taken via signalfd)
 * and everything is sent or the grace period ran out. Returns 0, or -errno
 * when setting up failed (with a line on stderr). */
int vsl_run(const struct vsl_opts *o);
