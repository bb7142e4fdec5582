/* vm_syslog's bounded record buffer (vm_syslog.h): a byte ring of
 * variable-size entries that never straddle the end (the bytes left at the
 * end are skipped, marked by a zero size). */
#include "guest-agents/vm_syslog/vm_syslog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vsl_ent {
	uint32_t size;            /* whole entry, 8-aligned; 0 marks the skipped end */
	uint32_t msg_len;
	uint16_t sd_len;
	uint8_t app_len, msgid_len;
	uint8_t source, facility, severity, truncated;
	uint32_t pid, lost;
	int64_t time_us;
	uint64_t boot_us;
};

int vsl_queue_init(struct vsl_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	if (cap < VSL_QUEUE_MIN)
		cap = VSL_QUEUE_MIN;
	cap &= ~(size_t)7;
	q->buf = malloc(cap);
	if (!q->buf)
		return -ENOMEM;
	q->cap = cap;
	return 0;
}

void vsl_queue_free(struct vsl_queue *q)
{
	free(q->buf);
	q->buf = NULL;
}

/* Skip the marked end of the ring when head sits there. */
static void vsl_queue_skip(struct vsl_queue *q)
{
	if (q->used && (q->cap - q->head < sizeof(struct vsl_ent) ||
			((struct vsl_ent *)(q->buf + q->head))->size == 0)) {
		q->used -= q->cap - q->head;
		q->head = 0;
	}
	if (!q->used)
		q->head = 0;
}

static void vsl_queue_drop(struct vsl_queue *q)
{
	struct vsl_ent *e;

	vsl_queue_skip(q);
	if (!q->count)
		return;
	e = (struct vsl_ent *)(q->buf + q->head);
	q->head = (q->head + e->size) % q->cap;
	q->used -= e->size;
	q->count--;
	vsl_queue_skip(q);
}

void vsl_queue_push(struct vsl_queue *q, const vmlog_Record *r)
{
	struct vsl_ent e = {
		.msg_len = r->msg.size, .sd_len = (uint16_t)strnlen(r->sd, sizeof(r->sd) - 1),
		.app_len = (uint8_t)strnlen(r->app, sizeof(r->app) - 1),
		.msgid_len = (uint8_t)strnlen(r->msgid, sizeof(r->msgid) - 1), .source = (uint8_t)r->source,
		.facility = (uint8_t)r->facility, .severity = (uint8_t)r->severity, .truncated = r->truncated,
		.pid = r->pid, .lost = r->lost, .time_us = r->time_us, .boot_us = r->boot_us,
	};
	size_t need = (sizeof(e) + e.msg_len + e.sd_len + e.app_len + e.msgid_len + 7) & ~(size_t)7;
	size_t tail;
	uint8_t *p;

	if (e.msg_len > sizeof(r->msg.bytes))
		return;
	e.size = (uint32_t)need;
	for (;;) {
		tail = (q->head + q->used) % q->cap;
		if (q->used && tail <= q->head) {
			/* Tail behind head: room is what lies between. */
			if (q->head - tail >= need)
				break;
		} else if (q->cap - tail >= need) {
			break;
		} else if (q->used == 0 || q->head >= need) {
			/* Mark the end unused and go on at the start. */
			if (q->cap - tail >= sizeof(uint32_t))
				memset(q->buf + tail, 0, sizeof(uint32_t));
			q->used += q->cap - tail;
			if (q->used == q->cap - tail)
				q->head = tail;  /* nothing else queued: the marker is the head */
			vsl_queue_skip(q);
			continue;
		}
		q->dropped++;
		vsl_queue_drop(q);
	}
	p = q->buf + tail;
	memcpy(p, &e, sizeof(e));
	p += sizeof(e);
	memcpy(p, r->app, e.app_len);
	p += e.app_len;
	memcpy(p, r->msgid, e.msgid_len);
	p += e.msgid_len;
	memcpy(p, r->sd, e.sd_len);
	p += e.sd_len;
	memcpy(p, r->msg.bytes, e.msg_len);
	q->used += need;
	q->count++;
}

size_t vsl_queue_front_size(const struct vsl_queue *q)
{
	size_t h = q->head;

	if (!q->count)
		return 0;
	if (q->cap - h < sizeof(struct vsl_ent) || ((struct vsl_ent *)(q->buf + h))->size == 0)
		h = 0;
	return ((struct vsl_ent *)(q->buf + h))->size;
}

int vsl_queue_pop(struct vsl_queue *q, vmlog_Record *r)
{
	struct vsl_ent e;
	const uint8_t *p;

	vsl_queue_skip(q);
	if (!q->count)
		return -ENOENT;
	p = q->buf + q->head;
	memcpy(&e, p, sizeof(e));
	p += sizeof(e);
	memset(r, 0, sizeof(*r));
	memcpy(r->app, p, e.app_len);
	p += e.app_len;
	memcpy(r->msgid, p, e.msgid_len);
	p += e.msgid_len;
	memcpy(r->sd, p, e.sd_len);
	p += e.sd_len;
	memcpy(r->msg.bytes, p, e.msg_len);
	r->msg.size = (pb_size_t)e.msg_len;
	r->source = (vmlog_Source)e.source;
	r->facility = e.facility;
	r->severity = e.severity;
	r->truncated = e.truncated;
	r->pid = e.pid;
	r->lost = e.lost;
	r->time_us = e.time_us;
	r->boot_us = e.boot_us;
	vsl_queue_drop(q);
	return 0;
}
