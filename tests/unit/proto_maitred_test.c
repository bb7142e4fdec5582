/* Messages: every Maitred (and VmControl) message round-trips through
 * encode/decode with every field filled to its nanopb bound; one byte or one
 * element past any bound is refused; every field is statically allocated (no
 * callback or pointer fields, so decoding never mallocs); the method table
 * matches maitred.proto's numbering. Generic over the descriptors, so a field
 * added to a .proto is covered without touching this file. */
#include "tests/unit/t.h"
#include "proto/vmctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pb_common.h>

struct msg {
	const char *name;
	const pb_msgdesc_t *desc;
	size_t size;
};

#define M(t) { #t, t##_fields, sizeof(t) }
static const struct msg msgs[] = {
	M(maitred_ShutdownRequest), M(maitred_ShutdownResponse),
	M(maitred_ExecRequest), M(maitred_ExecResponse),
	M(maitred_ConfigureNetworkRequest), M(maitred_ConfigureNetworkResponse),
	M(maitred_MountRequest), M(maitred_MountResponse),
	M(maitred_SetTimeRequest), M(maitred_SetTimeResponse),
	M(maitred_GetInfoRequest), M(maitred_GetInfoResponse),
	M(vmctl_StopRequest), M(vmctl_StopResponse),
	M(vmctl_StatusRequest), M(vmctl_StatusResponse),
};
#define N_MSGS (sizeof(msgs) / sizeof(msgs[0]))

/* Capacity of one string (chars, without NUL) or bytes field. */
static size_t cap_of(const pb_field_iter_t *f)
{
	if (PB_LTYPE(f->type) == PB_LTYPE_STRING)
		return f->data_size - 1u;
	return f->data_size - offsetof(pb_bytes_array_t, bytes);
}

/* Fill one element of field f with a value that depends on seed. */
static void fill_one(const pb_field_iter_t *f, void *p, unsigned seed)
{
	switch (PB_LTYPE(f->type)) {
	case PB_LTYPE_BOOL:
		*(bool *)p = true;
		break;
	case PB_LTYPE_VARINT:
	case PB_LTYPE_SVARINT:
		/* Negative values take ten bytes on the wire: the worst case. */
		if (f->data_size == 8)
			*(int64_t *)p = -(int64_t)0x123456789abLL - seed;
		else
			*(int32_t *)p = -123456 - (int32_t)seed;
		break;
	case PB_LTYPE_UVARINT:
	case PB_LTYPE_FIXED32:
	case PB_LTYPE_FIXED64:
		if (f->data_size == 8)
			*(uint64_t *)p = 0xfedcba9876543210ULL - seed;
		else
			*(uint32_t *)p = 0xfedcba98u - seed;
		break;
	case PB_LTYPE_STRING: {
		char *s = p;
		size_t n = cap_of(f);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)('!' + (i * 7 + seed) % 90);
		s[n] = '\0';
		break;
	}
	case PB_LTYPE_BYTES: {
		pb_bytes_array_t *b = p;
		size_t n = cap_of(f);
		for (size_t i = 0; i < n; i++)
			b->bytes[i] = (uint8_t)(i * 13 + seed);
		b->size = (pb_size_t)n;
		break;
	}
	}
}

/* Fill every field of m to its bound. Returns how many fields it saw. */
static int fill_max(const pb_msgdesc_t *d, void *m)
{
	pb_field_iter_t f;
	int n = 0;
	if (!pb_field_iter_begin(&f, d, m))
		return 0;
	do {
		n++;
		if (PB_HTYPE(f.type) == PB_HTYPE_REPEATED) {
			*(pb_size_t *)f.pSize = f.array_size;
			for (pb_size_t i = 0; i < f.array_size; i++)
				fill_one(&f, (uint8_t *)f.pData + (size_t)i * f.data_size, i + f.tag);
		} else {
			fill_one(&f, f.pData, f.tag);
		}
	} while (pb_field_iter_next(&f));
	return n;
}

static void all_fields_static(void)
{
	for (size_t i = 0; i < N_MSGS; i++) {
		void *m = calloc(1, msgs[i].size);
		pb_field_iter_t f;
		if (!pb_field_iter_begin(&f, msgs[i].desc, m)) {
			free(m);
			continue;
		}
		do {
			if (PB_ATYPE(f.type) != PB_ATYPE_STATIC) {
				printf("  %s field %u is not statically allocated (missing bound?)\n",
				       msgs[i].name, f.tag);
				CHECK(0);
			}
			CHECK(PB_LTYPE(f.type) != PB_LTYPE_SUBMESSAGE ||
			      f.submsg_desc != NULL);
		} while (pb_field_iter_next(&f));
		free(m);
	}
	/* Bounds the service relies on, as the .options state them. */
	maitred_ExecResponse *e = NULL;
	CHECK_EQ(sizeof(e->stdout_data.bytes), 32000);
	CHECK_EQ(sizeof(e->stderr_data.bytes), 32000);
	maitred_ExecRequest *q = NULL;
	CHECK_EQ(sizeof(q->argv) / sizeof(q->argv[0]), 32);
	CHECK_EQ(sizeof(q->argv[0]), 512);
	/* Every struct fits nanopb's 16-bit field offsets. */
	for (size_t i = 0; i < N_MSGS; i++)
		CHECK(msgs[i].size < 65536);
}

static void roundtrip_at_bounds(void)
{
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	for (size_t i = 0; i < N_MSGS; i++) {
		void *a = calloc(1, msgs[i].size), *b = calloc(1, msgs[i].size);
		fill_max(msgs[i].desc, a);
		ssize_t n = rpc_msg_encode(msgs[i].desc, a, buf, cap);
		if (n < 0) {
			printf("  %s: encode failed: %zd\n", msgs[i].name, n);
			CHECK(0);
		} else {
			CHECK((size_t)n <= RPC_MAX_PAYLOAD - 4);
			const char *why = NULL;
			int r = rpc_msg_decode(msgs[i].desc, b, buf, (size_t)n, &why);
			if (r != 0 || memcmp(a, b, msgs[i].size) != 0) {
				printf("  %s: round trip differs (decode %d %s)\n", msgs[i].name, r,
				       why ? why : "");
				CHECK(0);
			}
			/* Every strict prefix that cuts a field is refused or decodes
			 * to something else; never crashes (ASan watches). */
			for (size_t cut = 0; cut < (size_t)n; cut += 1 + (size_t)n / 64)
				(void)rpc_msg_decode(msgs[i].desc, b, buf, cut, NULL);
		}
		/* An empty message decodes to all zeroes. */
		memset(b, 0x77, msgs[i].size);
		void *z = calloc(1, msgs[i].size);
		CHECK_EQ(rpc_msg_decode(msgs[i].desc, b, buf, 0, NULL), 0);
		pb_field_iter_t f;
		if (pb_field_iter_begin(&f, msgs[i].desc, b)) {
			do {
				if (PB_HTYPE(f.type) == PB_HTYPE_REPEATED)
					CHECK_EQ(*(pb_size_t *)f.pSize, 0);
				else if (PB_LTYPE(f.type) == PB_LTYPE_STRING)
					CHECK_EQ(((char *)f.pData)[0], 0);
				else if (PB_LTYPE(f.type) == PB_LTYPE_BYTES)
					CHECK_EQ(((pb_bytes_array_t *)f.pData)->size, 0);
				else
					CHECK(memcmp(f.pData, z, f.data_size) == 0);
			} while (pb_field_iter_next(&f));
		}
		free(z);
		free(a);
		free(b);
	}
	free(buf);
}

/* Append a varint. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

/* A length-delimited field with tag and len bytes of 'a'. */
static size_t put_ld(uint8_t *p, unsigned tag, size_t len)
{
	size_t n = put_varint(p, (uint64_t)tag << 3 | 2);
	n += put_varint(p + n, len);
	memset(p + n, 'a', len);
	return n + len;
}

static void over_bounds_refused(void)
{
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	int fields = 0;
	for (size_t i = 0; i < N_MSGS; i++) {
		void *m = calloc(1, msgs[i].size);
		pb_field_iter_t f;
		if (!pb_field_iter_begin(&f, msgs[i].desc, m)) {
			free(m);
			continue;
		}
		do {
			unsigned lt = PB_LTYPE(f.type);
			if (lt != PB_LTYPE_STRING && lt != PB_LTYPE_BYTES)
				continue;
			fields++;
			size_t c = cap_of(&f);
			/* Exactly at the bound: accepted. */
			size_t n = put_ld(buf, f.tag, c);
			CHECK_EQ(rpc_msg_decode(msgs[i].desc, m, buf, n, NULL), 0);
			/* One byte more: refused with a reason. */
			const char *why = NULL;
			n = put_ld(buf, f.tag, c + 1);
			if (rpc_msg_decode(msgs[i].desc, m, buf, n, &why) != -EBADMSG || !why) {
				printf("  %s field %u: %zu bytes accepted\n", msgs[i].name, f.tag, c + 1);
				CHECK(0);
			}
			if (PB_HTYPE(f.type) != PB_HTYPE_REPEATED)
				continue;
			/* One element more than max_count: refused. */
			n = 0;
			for (pb_size_t k = 0; k <= f.array_size; k++)
				n += put_ld(buf + n, f.tag, 1);
			if (rpc_msg_decode(msgs[i].desc, m, buf, n, &why) != -EBADMSG) {
				printf("  %s field %u: %u elements accepted\n", msgs[i].name, f.tag,
				       f.array_size + 1);
				CHECK(0);
			}
			/* Drop the last element (tag, length, one byte): at max_count. */
			n -= 3;
			CHECK_EQ(rpc_msg_decode(msgs[i].desc, m, buf, n, NULL), 0);
			CHECK_EQ(*(pb_size_t *)f.pSize, f.array_size);
		} while (pb_field_iter_next(&f));
		free(m);
	}
	/* Exec has argv, env, cwd, stdin; ExecResponse stdout, stderr; etc. */
	CHECK(fields >= 20);

	/* A string with a length past the end of the buffer. */
	uint8_t t[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x' };
	maitred_ExecRequest *e = calloc(1, sizeof(*e));
	CHECK_EQ(rpc_msg_decode(maitred_ExecRequest_fields, e, t, sizeof(t), NULL), -EBADMSG);
	/* Wrong wire type for a field (varint where a string belongs). */
	uint8_t w[] = { 0x08, 0x01 };
	CHECK_EQ(rpc_msg_decode(maitred_ExecRequest_fields, e, w, sizeof(w), NULL), -EBADMSG);
	/* Unknown fields are skipped (forward compatibility), bad ones not. */
	uint8_t u[] = { 0xf8, 0x07, 0x05, 0x1a, 0x01, '/' };
	CHECK_EQ(rpc_msg_decode(maitred_ExecRequest_fields, e, u, sizeof(u), NULL), 0);
	CHECK(strcmp(e->cwd, "/") == 0);
	free(e);
	free(buf);
}

static void method_table(void)
{
	static const char *const names[PROTO_MAITRED_N] = {
		"maitred.Shutdown", "maitred.Exec", "maitred.ConfigureNetwork",
		"maitred.Mount", "maitred.SetTime", "maitred.GetInfo",
	};
	for (int i = 0; i < PROTO_MAITRED_N; i++) {
		const struct rpc_method_desc *d = &proto_maitred_methods[i];
		/* The n in maitred.proto's service block comments. */
		CHECK_EQ(d->id, (1u << 16) | (uint32_t)(i + 1));
		CHECK(strcmp(d->name, names[i]) == 0);
		CHECK(d->req_fields != NULL && d->resp_fields != NULL);
		CHECK(d->req_size > 0 && d->resp_size > 0);
		CHECK(proto_maitred_find(d->id) == d);
	}
	CHECK(proto_maitred_methods[PROTO_MAITRED_EXEC].req_fields == maitred_ExecRequest_fields);
	CHECK(proto_maitred_methods[PROTO_MAITRED_EXEC].resp_size == sizeof(maitred_ExecResponse));
	CHECK(proto_maitred_find(0) == NULL);
	CHECK(proto_maitred_find(PROTO_METHOD_ID(PROTO_SVC_MAITRED, 7)) == NULL);
	CHECK(proto_maitred_find(PROTO_METHOD_ID(PROTO_SVC_LOG, 1)) == NULL);
	/* VmControl's ids live in their own service number. */
	for (int i = 0; i < PROTO_VMCTL_N; i++)
		CHECK_EQ(proto_vmctl_methods[i].id >> 16, PROTO_SVC_VMCTL);
	CHECK_EQ(PROTO_MAITRED_PORT, 8888);
}

int main(void)
{
	t_suite = "proto_maitred";
	RUN(all_fields_static);
	RUN(roundtrip_at_bounds);
	RUN(over_bounds_refused);
	RUN(method_table);
	return t_done();
}
