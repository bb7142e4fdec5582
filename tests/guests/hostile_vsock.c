/* Category V: virtio-vsock (virtio 1.2 §5.10) packets a well-behaved
 * driver never sends. The host side is tests/e2e/l1/vsockpeer.c, which the
 * runner starts on the --vsock PATH's ports (docs/HOSTILE.md):
 *   5000 sink (reads and discards), 5001 source (writes 256 KiB, then
 *   reads), 5002 closes every connection at once, 5003 never reads.
 * Nothing listens on port 9. */
#include "hostile_target.h"

#define P_SINK 5000
#define P_SOURCE 5001
#define P_CLOSE 5002
#define P_HOLD 5003
#define P_NONE 9
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define TX_HDRS (DATA + 0x600000ull)  /* 8 headers, 64 bytes apart */
#define PAYLOAD (DATA + 0x800000ull)  /* up to 4 MiB */
#define POLLS 6000u

struct pkt {
	uint16_t op;
	uint32_t sport, dport, len, flags, buf_alloc, fwd_cnt;
};

static unsigned txn;

static bool vs_up(struct target *t)
{
	txn = 0;
	return tgt_up(t, DEV_VSOCK, 0);
}

/* Send one packet (header + len bytes of payload at PAYLOAD when len);
 * the header may be edited by mod before it goes. False when the device
 * did not take it back within the poll limit. */
static bool vs_send_mod(struct target *t, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len,
			uint32_t buf_alloc, uint32_t flags, void (*mod)(uint64_t h))
{
	struct hq *q = &t->q[1];
	unsigned slot = txn++ % 4;
	uint64_t h = TX_HDRS + 64ull * slot;
	uint32_t id, ulen;

	vs_hdr(h, op, sport, dport, len);
	put32(h + 32, flags);
	put32(h + 36, buf_alloc);
	if (mod)
		mod(h);
	hq_desc(q, 2 * slot, h, VS_HDR, len ? D_NEXT : 0, (uint16_t)(2 * slot + 1));
	if (len)
		hq_desc(q, 2 * slot + 1, PAYLOAD, len, 0, 0);
	hq_post(q, (uint16_t)(2 * slot));
	hq_kick(q);
	if (!hq_wait(q, POLLS))
		return false;
	hq_used(q, &id, &ulen);
	return true;
}

static bool vs_send(struct target *t, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len)
{
	return vs_send_mod(t, op, sport, dport, len, 0x10000, 0, NULL);
}

/* The next packet from the device (its rx buffer is reposted). False when
 * none came within polls. */
static bool vs_recv(struct target *t, unsigned polls, struct pkt *p)
{
	struct hq *q = &t->q[0];
	uint32_t id, ulen;
	if (!hq_wait(q, polls) || !hq_used(q, &id, &ulen) || id >= TGT_QSIZE)
		return false;
	uint64_t h = TGT_RX + 0x1000ull * id;
	p->sport = get32(h + 16);
	p->dport = get32(h + 20);
	p->len = get32(h + 24);
	p->op = get16(h + 30);
	p->flags = get32(h + 32);
	p->buf_alloc = get32(h + 36);
	p->fwd_cnt = get32(h + 40);
	if (ulen < VS_HDR || ulen - VS_HDR != p->len || p->len > 0x1000 - VS_HDR || get64(h) != VS_HOST ||
	    get64(h + 8) != VS_CID) {
		note("rx used len", ulen);
		note("rx hdr len", p->len);
		p->op = 0xffff;  /* flagged for the caller: never a valid op */
	}
	hq_desc(q, id, TGT_RX + 0x1000ull * id, 0x1000, D_WRITE, 0);
	hq_post(q, (uint16_t)id);
	hq_kick(q);
	return true;
}

/* Wait for a packet with op for (sport, dport) as seen from the guest;
 * others are skipped (at most 64). */
static bool vs_expect(struct target *t, uint16_t op, uint32_t gport, uint32_t hport, struct pkt *p)
{
	for (unsigned i = 0; i < 64; i++) {
		if (!vs_recv(t, POLLS, p))
			return false;
		if (p->op == 0xffff)
			return false;
		if (p->op == op && p->dport == gport && p->sport == hport)
			return true;
	}
	return false;
}

static int vs_rst_for(struct target *t, uint32_t gport, uint32_t hport)
{
	struct pkt p;
	if (!vs_expect(t, OP_RST, gport, hport, &p))
		return hv_bad("no RST for a packet that belongs to no connection");
	return hv_verdict(&t->d);
}

int v_req_nolisten(unsigned u)
{
	struct target t;
	if (!vs_up(&t) || !vs_send(&t, OP_REQUEST, 1100, P_NONE, 0))
		return hv_bad("tx not served");
	return vs_rst_for(&t, 1100, P_NONE);
}

/* Header mutations; each must be answered with an RST (or nothing for
 * RST itself), never with a connection or a device reset. */
static unsigned mod_kind;
static void mod_hdr(uint64_t h)
{
	switch (mod_kind) {
	case 0: put64(h, 99); break;                    /* src_cid not ours */
	case 1: put64(h + 8, VS_CID); break;            /* dst_cid: ourselves */
	case 2: put16(h + 28, 2); break;                /* SEQPACKET, not offered */
	case 3: put16(h + 30, 0); break;                /* op 0 */
	case 4: put16(h + 30, 99); break;               /* unknown op */
	case 5: put32(h + 24, 100); break;              /* len past the payload */
	case 6: put64(h + 8, 0x100000002ull); break;    /* reserved upper cid bits */
	case 7: put32(h + 24, 0xffffffff); break;       /* len -1 */
	case 8: put64(h, 0xffffffffffffffffull); break; /* VMADDR_CID_ANY */
	}
}

int v_bad_hdr(unsigned kind)
{
	struct target t;
	mod_kind = kind;
	if (!vs_up(&t) || !vs_send_mod(&t, OP_REQUEST, 1200 + kind, P_SINK, 0, 0x10000, 0, mod_hdr))
		return hv_bad("tx not served");
	return vs_rst_for(&t, 1200 + kind, P_SINK);
}

/* Packets for connections that do not exist: RST, except RST itself. */
int v_no_conn(unsigned op)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_send(&t, (uint16_t)op, 1300 + op, P_SINK, op == OP_RW ? 16 : 0))
		return hv_bad("tx not served");
	if (op != OP_RST)
		return vs_rst_for(&t, 1300 + op, P_SINK);
	if (vs_recv(&t, 3000, &p))
		return hv_bad("an RST was answered");
	return hv_verdict(&t.d);
}

/* tx chains the device must refuse with NEEDS_RESET. */
int v_tx_bad_chain(unsigned kind)
{
	struct target t;
	if (!vs_up(&t))
		return R_BAD;
	vs_hdr(TX_HDRS, OP_REQUEST, 1400, P_NONE, 0);
	if (kind == 0)
		hq_desc(t.aq, 0, TX_HDRS, 20, 0, 0);            /* short header */
	else
		hq_desc(t.aq, 0, TX_HDRS, VS_HDR, D_WRITE, 0);  /* device-writable */
	return tgt_fire(&t, 0);
}

/* rx buffers the device must refuse: read-only, or smaller than a header. */
int v_rx_bad_buf(unsigned kind)
{
	struct target t;
	if (!vs_up(&t))
		return R_BAD;
	/* Take the good rx buffers back: a fresh rx ring with one bad one. */
	hv_reset(&t.d);
	if (!hv_start(&t.d, F_VERSION_1))
		return hv_bad("restart");
	for (unsigned i = 0; i < 3; i++)
		hq_setup(&t.q[i], &t.d, i, TGT_QSIZE, QMEM(t.d.slot, i));
	hv_driver_ok(&t.d);
	hq_desc(&t.q[0], 0, TGT_RX, kind ? 10 : 0x1000, kind ? D_WRITE : 0, 0);
	hq_post(&t.q[0], 0);
	hq_kick(&t.q[0]);
	vs_send(&t, OP_REQUEST, 1500, P_NONE, 0);  /* an RST needs an rx buffer */
	hq_wait(&t.q[0], 3000);
	return hv_verdict(&t.d);
}

/* Connect to port; false unless RESPONSE came. */
static bool vs_connect(struct target *t, uint32_t gport, uint32_t hport, uint32_t buf_alloc)
{
	struct pkt p;
	if (!vs_send_mod(t, OP_REQUEST, gport, hport, 0, buf_alloc, 0, NULL))
		return false;
	return vs_expect(t, OP_RESPONSE, gport, hport, &p);
}

int v_conn_ok(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 1600, P_SINK, 0x10000))
		return hv_bad("no RESPONSE from a listening host port");
	fill(PAYLOAD, 'g', 100);
	if (!vs_send(&t, OP_RW, 1600, P_SINK, 100) || !vs_send_mod(&t, OP_SHUTDOWN, 1600, P_SINK, 0, 0x10000, 3, NULL))
		return hv_bad("tx not served");
	/* §5.10.6.5: the device ends a fully shut down connection with RST. */
	if (!vs_expect(&t, OP_RST, 1600, P_SINK, &p))
		return hv_bad("no RST after SHUTDOWN of both directions");
	return hv_verdict(&t.d);
}

/* More bytes than the credit we were granted (256 KiB) to a host reader
 * that never reads: the connection is reset. */
int v_credit_overrun(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 1700, P_HOLD, 0x10000))
		return hv_bad("no RESPONSE");
	fill(PAYLOAD, 'o', 0x10000);
	for (unsigned i = 0; i < 6; i++)
		if (!vs_send(&t, OP_RW, 1700, P_HOLD, 0x10000))
			return hv_bad("tx not served");
	if (!vs_expect(&t, OP_RST, 1700, P_HOLD, &p))
		return hv_bad("credit overrun not answered with RST");
	return hv_verdict(&t.d);
}

/* Count RW bytes for gport within polls; BAD-marked packets count as
 * 0xffffffff. */
static uint32_t vs_rw_bytes(struct target *t, uint32_t gport, unsigned rounds, bool *bad)
{
	struct pkt p;
	uint32_t n = 0;
	for (unsigned i = 0; i < rounds && vs_recv(t, 2000, &p); i++) {
		if (p.op == 0xffff)
			*bad = true;
		if (p.op == OP_RW && p.dport == gport)
			n += p.len;
	}
	return n;
}

/* buf_alloc 0: the device must not send a single payload byte; with a
 * credit of 4096 afterwards, at most 4096. */
int v_buf_alloc0(unsigned u)
{
	struct target t;
	bool bad = false;
	if (!vs_up(&t) || !vs_connect(&t, 1800, P_SOURCE, 0))
		return hv_bad("no RESPONSE");
	if (vs_rw_bytes(&t, 1800, 16, &bad))
		return hv_bad("payload sent to a guest that granted no credit");
	if (!vs_send_mod(&t, OP_CREDIT_UPDATE, 1800, P_SOURCE, 0, 4096, 0, NULL))
		return hv_bad("tx not served");
	uint32_t n = vs_rw_bytes(&t, 1800, 32, &bad);
	if (bad || n > 4096) {
		note("bytes", n);
		return hv_bad("more payload than the credit granted");
	}
	if (n == 0)
		return hv_bad("no payload after credit was granted");
	return hv_verdict(&t.d);
}

/* A credit update that lies about fwd_cnt (more consumed than received):
 * whatever the device makes of it, no packet may overflow a buffer. */
static void mod_fwd(uint64_t h) { put32(h + 40, 0xfffff000u); }
int v_fwd_cnt_lie(unsigned u)
{
	struct target t;
	bool bad = false;
	if (!vs_up(&t) || !vs_connect(&t, 1900, P_SOURCE, 4096))
		return hv_bad("no RESPONSE");
	vs_send_mod(&t, OP_CREDIT_UPDATE, 1900, P_SOURCE, 0, 4096, 0, mod_fwd);
	vs_rw_bytes(&t, 1900, 64, &bad);
	if (bad)
		return hv_bad("malformed rx packet");
	return hv_verdict(&t.d);
}

/* Half-closed: after SHUTDOWN(SEND) a RW from the guest resets. */
int v_half_send(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 2000, P_SINK, 0x10000))
		return hv_bad("no RESPONSE");
	vs_send_mod(&t, OP_SHUTDOWN, 2000, P_SINK, 0, 0x10000, 2, NULL);
	fill(PAYLOAD, 'h', 64);
	vs_send(&t, OP_RW, 2000, P_SINK, 64);
	if (!vs_expect(&t, OP_RST, 2000, P_SINK, &p))
		return hv_bad("RW after SHUTDOWN(SEND) not reset");
	return hv_verdict(&t.d);
}

/* Half-closed: after SHUTDOWN(RCV) the device sends no payload. */
int v_half_rcv(unsigned u)
{
	struct target t;
	bool bad = false;
	if (!vs_up(&t) || !vs_connect(&t, 2100, P_SOURCE, 0x10000))
		return hv_bad("no RESPONSE");
	if (!vs_send_mod(&t, OP_SHUTDOWN, 2100, P_SOURCE, 0, 0x10000, 1, NULL))
		return hv_bad("tx not served");
	/* The device took the SHUTDOWN (tx is served before rx in a kick):
	 * what sits in the used ring now was sent before it; anything after
	 * it must not be payload. */
	struct pkt p;
	for (uint16_t n = (uint16_t)(get16(t.q[0].used + 2) - t.q[0].useen); n; n--)
		vs_recv(&t, 0, &p);
	if (vs_rw_bytes(&t, 2100, 16, &bad) || bad)
		return hv_bad("payload after SHUTDOWN(RCV)");
	return hv_verdict(&t.d);
}

/* A second REQUEST for a live connection resets it. */
int v_double_req(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 2200, P_SINK, 0x10000))
		return hv_bad("no RESPONSE");
	vs_send(&t, OP_REQUEST, 2200, P_SINK, 0);
	if (!vs_expect(&t, OP_RST, 2200, P_SINK, &p))
		return hv_bad("second REQUEST not reset");
	return hv_verdict(&t.d);
}

/* The host peer closes at once: the guest hears SHUTDOWN or RST; its RW
 * afterwards is reset. */
int v_peer_close(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 2300, P_CLOSE, 0x10000))
		return hv_bad("no RESPONSE");
	for (unsigned i = 0; i < 8; i++)
		if (vs_recv(&t, POLLS, &p) && p.dport == 2300 && (p.op == OP_SHUTDOWN || p.op == OP_RST))
			break;
	vs_send_mod(&t, OP_SHUTDOWN, 2300, P_CLOSE, 0, 0x10000, 3, NULL);
	return hv_verdict(&t.d);
}

/* CREDIT_REQUEST on a live connection: answered with CREDIT_UPDATE. */
int v_credit_req(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 2400, P_SINK, 0x10000))
		return hv_bad("no RESPONSE");
	vs_send(&t, OP_CREDIT_REQUEST, 2400, P_SINK, 0);
	if (!vs_expect(&t, OP_CREDIT_UPDATE, 2400, P_SINK, &p))
		return hv_bad("no CREDIT_UPDATE");
	if (p.buf_alloc == 0)
		return hv_bad("device advertises no buffer");
	return hv_verdict(&t.d);
}

static void mod_len10(uint64_t h) { put32(h + 24, 10); }

/* RW whose header len is smaller than the payload that follows: only len
 * bytes count. And RW of 0 bytes. */
int v_rw_len(unsigned kind)
{
	struct target t;
	if (!vs_up(&t) || !vs_connect(&t, 2500, P_SINK, 0x10000))
		return hv_bad("no RESPONSE");
	fill(PAYLOAD, 'l', 256);
	if (kind == 0) {
		vs_send_mod(&t, OP_RW, 2500, P_SINK, 256, 0x10000, 0, mod_len10);
	} else {
		vs_send(&t, OP_RW, 2500, P_SINK, 0);
	}
	return hv_verdict(&t.d);
}

/* Ports at the edges. */
int v_port_edge(unsigned port)
{
	struct target t;
	if (!vs_up(&t) || !vs_send(&t, OP_REQUEST, port ^ 0xffffffffu, port, 0))
		return hv_bad("tx not served");
	return vs_rst_for(&t, port ^ 0xffffffffu, port);
}

/* 1030 connection requests to a listening port, each from its own guest
 * port: every one is answered exactly once, RESPONSE at most 1024 times
 * (the device's connection limit), the rest RST. */
int v_conn_flood(unsigned n)
{
	struct target t;
	struct pkt p;
	unsigned resp = 0, rst = 0, other = 0;
	if (!vs_up(&t))
		return R_BAD;
	for (unsigned i = 0; i < n; i++) {
		if (!vs_send(&t, OP_REQUEST, 10000 + i, P_SINK, 0))
			return hv_bad("tx not served");
		while (vs_recv(&t, 0, &p)) {
			if (p.op == OP_RESPONSE) resp++;
			else if (p.op == OP_RST) rst++;
			else other++;
		}
	}
	while (resp + rst < n && vs_recv(&t, POLLS, &p)) {
		if (p.op == OP_RESPONSE) resp++;
		else if (p.op == OP_RST) rst++;
		else other++;
	}
	note("responses", resp);
	note("resets", rst);
	if (resp + rst != n || resp > 1024)
		return hv_bad("connection flood: answers do not add up");
	return hv_verdict(&t.d);
}

/* REQUESTs while the guest posts no rx buffer: the device stops taking tx
 * packets once 1024 RSTs wait (it never drops one), and resumes when rx
 * buffers come. */
int v_rst_backlog(unsigned u)
{
	struct target t;
	struct pkt p;
	unsigned sent = 0, got = 0;
	if (!vs_up(&t))
		return R_BAD;
	hv_reset(&t.d);
	if (!hv_start(&t.d, F_VERSION_1))
		return hv_bad("restart");
	for (unsigned i = 0; i < 3; i++)
		hq_setup(&t.q[i], &t.d, i, TGT_QSIZE, QMEM(t.d.slot, i));
	hv_driver_ok(&t.d);
	txn = 0;
	while (sent < 1500 && vs_send(&t, OP_REQUEST, 30000 + sent, P_NONE, 0))
		sent++;
	note("sent before the device stalled tx", sent);
	if (sent >= 1500)
		return hv_bad("tx never stalled with 1500 RSTs owed");
	for (unsigned i = 0; i < TGT_QSIZE; i++) {
		hq_desc(&t.q[0], i, TGT_RX + 0x1000ull * i, 0x1000, D_WRITE, 0);
		hq_post(&t.q[0], (uint16_t)i);
	}
	hq_kick(&t.q[0]);
	while (vs_recv(&t, POLLS, &p))
		got += p.op == OP_RST;
	note("resets", got);
	if (got < sent)
		return hv_bad("RSTs owed were lost");
	return hv_verdict(&t.d);
}

/* The event queue given buffers and notified; queue 3 notified. */
int v_evq(unsigned u)
{
	struct target t;
	if (!vs_up(&t))
		return R_BAD;
	for (unsigned i = 0; i < TGT_QSIZE; i++) {
		hq_desc(&t.q[2], i, DATA + 0x100ull * i, 8, i & 1 ? 0 : D_WRITE, 0);
		hq_post(&t.q[2], (uint16_t)i);
	}
	for (unsigned i = 0; i < 100; i++) {
		hq_kick(&t.q[2]);
		hv_wr(&t.d, R_QUEUE_NOTIFY, 3);
	}
	return hv_verdict(&t.d);
}

/* The host connects to guest port 1234 (the runner's vsockpeer client):
 * kind 0 ignores the REQUEST (the device gives up and RSTs after its
 * connect timeout), 1 answers with RST, 2 answers RESPONSE from the wrong
 * port (RST), 3 answers RESPONSE twice. */
int v_host_req(unsigned kind)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t))
		return R_BAD;
	bool seen = false;
	for (unsigned i = 0; i < 40 && !seen; i++)
		seen = vs_recv(&t, POLLS, &p) && p.op == OP_REQUEST && p.dport == 1234;
	if (!seen)
		return hv_bad("no REQUEST from the host client");
	uint32_t hport = p.sport;
	switch (kind) {
	case 0:
		for (unsigned i = 0; i < 40; i++)
			if (vs_recv(&t, POLLS, &p) && p.op == OP_RST && p.dport == 1234)
				return hv_verdict(&t.d);
		return hv_bad("an unanswered host REQUEST was never reset");
	case 1:
		vs_send(&t, OP_RST, 1234, hport, 0);
		break;
	case 2:
		vs_send(&t, OP_RESPONSE, 1235, hport, 0);
		if (!vs_expect(&t, OP_RST, 1235, hport, &p))
			return hv_bad("RESPONSE from the wrong port not reset");
		break;
	default:
		vs_send(&t, OP_RESPONSE, 1234, hport, 0);
		vs_send(&t, OP_RESPONSE, 1234, hport, 0);
		if (!vs_expect(&t, OP_RST, 1234, hport, &p))
			return hv_bad("second RESPONSE not reset");
		break;
	}
	return hv_verdict(&t.d);
}

/* Storms. */
int v_request_storm(unsigned u) { return t_refill_storm(DEV_VSOCK); }

/* The audit's wedge: RSTs for connections that do not exist need no
 * answer, so the RST backlog throttle never trips; only the device's
 * per-notification budget keeps the event loop free. */
int v_rst_storm(unsigned u)
{
	struct target t;
	if (!vs_up(&t))
		return R_BAD;
	for (unsigned k = 0; k < TGT_QSIZE; k++) {
		vs_hdr(TX_HDRS + 64ull * k, OP_RST, 40000 + k, P_NONE, 0);
		hq_desc(t.aq, k, TX_HDRS + 64ull * k, VS_HDR, 0, 0);
		hq_post(t.aq, (uint16_t)k);
	}
	serial_puts("HOSTILE STORM\n");
	for (;;) {
		uint32_t id, len;
		hq_kick(t.aq);
		while (hq_used(t.aq, &id, &len))
			hq_post(t.aq, (uint16_t)id);
	}
}

/* Credit updates and credit requests for a live connection, forever. */
int v_credit_storm(unsigned u)
{
	struct target t;
	struct pkt p;
	if (!vs_up(&t) || !vs_connect(&t, 2600, P_SINK, 0x10000))
		return hv_bad("no RESPONSE");
	serial_puts("HOSTILE STORM\n");
	for (unsigned i = 0;; i++) {
		vs_send(&t, i & 1 ? OP_CREDIT_REQUEST : OP_CREDIT_UPDATE, 2600, P_SINK, 0);
		while (vs_recv(&t, 0, &p))
			;
	}
}
