/* p9 wire format: message types and a bounds-checked little-endian reader
 * and writer. Formats follow the 9P2000.L description (diod's protocol.md,
 * the one the Linux client implements in net/9p/client.c + protocol.c):
 * every message is size[4] type[1] tag[2] body, integers little-endian,
 * strings len[2] bytes (no NUL), qid = type[1] version[4] path[8].
 *
 * The reader never reads past its end: after the first short read it sets
 * err and every later get returns zeroes, so a handler checks err once after
 * decoding all fields. The writer likewise stops at its capacity. */
#ifndef APPVM_P9_WIRE_H
#define APPVM_P9_WIRE_H
#include <stddef.h>
#include <stdint.h>

#define P9_HDR_SIZE 7
#define P9_QID_SIZE 13
#define P9_NOTAG 0xffffu
#define P9_NOFID 0xffffffffu
/* Twalk: at most 16 names (9P2000 walk(5)). */
#define P9_MAXWELEM 16

enum {
	P9_TLERROR = 6, P9_RLERROR,
	P9_TSTATFS = 8, P9_RSTATFS,
	P9_TLOPEN = 12, P9_RLOPEN,
	P9_TLCREATE = 14, P9_RLCREATE,
	P9_TSYMLINK = 16, P9_RSYMLINK,
	P9_TMKNOD = 18, P9_RMKNOD,
	P9_TRENAME = 20, P9_RRENAME,
	P9_TREADLINK = 22, P9_RREADLINK,
	P9_TGETATTR = 24, P9_RGETATTR,
	P9_TSETATTR = 26, P9_RSETATTR,
	P9_TXATTRWALK = 30, P9_RXATTRWALK,
	P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
	P9_TREADDIR = 40, P9_RREADDIR,
	P9_TFSYNC = 50, P9_RFSYNC,
	P9_TLOCK = 52, P9_RLOCK,
	P9_TGETLOCK = 54, P9_RGETLOCK,
	P9_TLINK = 70, P9_RLINK,
	P9_TMKDIR = 72, P9_RMKDIR,
	P9_TRENAMEAT = 74, P9_RRENAMEAT,
	P9_TUNLINKAT = 76, P9_RUNLINKAT,
	P9_TVERSION = 100, P9_RVERSION,
	P9_TAUTH = 102, P9_RAUTH,
	P9_TATTACH = 104, P9_RATTACH,
	P9_TERROR = 106, P9_RERROR,
	P9_TFLUSH = 108, P9_RFLUSH,
	P9_TWALK = 110, P9_RWALK,
	P9_TOPEN = 112, P9_ROPEN,
	P9_TCREATE = 114, P9_RCREATE,
	P9_TREAD = 116, P9_RREAD,
	P9_TWRITE = 118, P9_RWRITE,
	P9_TCLUNK = 120, P9_RCLUNK,
	P9_TREMOVE = 122, P9_RREMOVE,
	P9_TSTAT = 124, P9_RSTAT,
	P9_TWSTAT = 126, P9_RWSTAT,
};

/* qid.type bits (9P2000 intro(5)). */
#define P9_QTDIR 0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tlopen/Tlcreate flags: Linux's generic O_* values, named by the protocol
 * (include/net/9p/9p.h P9_DOTL_*), so they are translated explicitly. */
#define P9_DOTL_ACCMODE 03
#define P9_DOTL_NOACCESS 03
#define P9_DOTL_CREATE 0100
#define P9_DOTL_EXCL 0200
#define P9_DOTL_TRUNC 01000
#define P9_DOTL_APPEND 02000
#define P9_DOTL_NONBLOCK 04000
#define P9_DOTL_DSYNC 010000
#define P9_DOTL_DIRECTORY 0200000
#define P9_DOTL_SYNC 04000000

/* Tgetattr request_mask / Rgetattr valid. */
#define P9_GETATTR_BASIC 0x7ffull

/* Tsetattr valid (include/net/9p/9p.h P9_ATTR_*). */
#define P9_ATTR_MODE 0x1u
#define P9_ATTR_UID 0x2u
#define P9_ATTR_GID 0x4u
#define P9_ATTR_SIZE 0x8u
#define P9_ATTR_ATIME 0x10u
#define P9_ATTR_MTIME 0x20u
#define P9_ATTR_CTIME 0x40u
#define P9_ATTR_ATIME_SET 0x80u
#define P9_ATTR_MTIME_SET 0x100u

/* Tlock / Tgetlock. */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_FLAGS_BLOCK 1
#define P9_LOCK_FLAGS_RECLAIM 2

/* Tunlinkat flags: the one Linux sends. */
#define P9_AT_REMOVEDIR 0x200

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* A string inside the request buffer: not NUL-terminated. */
struct p9_str {
	const char *p;
	uint16_t len;
};

struct p9_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

struct p9_wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	int err;
};

void p9_wire_rd_init(struct p9_rd *r, const uint8_t *p, size_t len);
uint8_t p9_wire_get8(struct p9_rd *r);
uint16_t p9_wire_get16(struct p9_rd *r);
uint32_t p9_wire_get32(struct p9_rd *r);
uint64_t p9_wire_get64(struct p9_rd *r);
struct p9_str p9_wire_getstr(struct p9_rd *r);
/* Points at n raw bytes of the request (or NULL with err set). */
const uint8_t *p9_wire_getbytes(struct p9_rd *r, size_t n);

void p9_wire_wr_init(struct p9_wr *w, uint8_t *p, size_t cap);
void p9_wire_put8(struct p9_wr *w, uint8_t v);
void p9_wire_put16(struct p9_wr *w, uint16_t v);
void p9_wire_put32(struct p9_wr *w, uint32_t v);
void p9_wire_put64(struct p9_wr *w, uint64_t v);
void p9_wire_putstr(struct p9_wr *w, const char *s, size_t len);
void p9_wire_putqid(struct p9_wr *w, const struct p9_qid *q);
/* Reserves n bytes and returns where they start (NULL with err set). */
uint8_t *p9_wire_reserve(struct p9_wr *w, size_t n);
/* Starts a reply: size placeholder, type, tag. */
void p9_wire_begin(struct p9_wr *w, uint8_t type, uint16_t tag);
/* Writes the size field; returns the message length, or -EMSGSIZE. */
long p9_wire_finish(struct p9_wr *w);
#endif
