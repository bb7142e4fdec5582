/* libFuzzer target: the nanopb message decoders of every Maitred and
 * VmControl message. The first input byte picks the message, the rest is
 * decoded as it. A message that decodes must re-encode within the frame
 * bound, and encode -> decode -> encode must reach a fixed point (the second
 * encoding equals the first): a decoder that accepted something it cannot
 * represent, or an encoder that emits something its decoder reads back
 * differently, traps. Corpus: tests/fuzz/corpus/proto_maitred/. */
#include "proto/vmctl.h"

#include <stdlib.h>
#include <string.h>

struct proto_fuzz_msg {
	const pb_msgdesc_t *desc;
	size_t size;
};

#define PROTO_FUZZ_M(t) { t##_fields, sizeof(t) }
static const struct proto_fuzz_msg proto_fuzz_msgs[] = {
	PROTO_FUZZ_M(maitred_ShutdownRequest), PROTO_FUZZ_M(maitred_ShutdownResponse),
	PROTO_FUZZ_M(maitred_ExecRequest), PROTO_FUZZ_M(maitred_ExecResponse),
	PROTO_FUZZ_M(maitred_ConfigureNetworkRequest), PROTO_FUZZ_M(maitred_ConfigureNetworkResponse),
	PROTO_FUZZ_M(maitred_MountRequest), PROTO_FUZZ_M(maitred_MountResponse),
	PROTO_FUZZ_M(maitred_SetTimeRequest), PROTO_FUZZ_M(maitred_SetTimeResponse),
	PROTO_FUZZ_M(maitred_GetInfoRequest), PROTO_FUZZ_M(maitred_GetInfoResponse),
	PROTO_FUZZ_M(vmctl_StopRequest), PROTO_FUZZ_M(vmctl_StopResponse),
	PROTO_FUZZ_M(vmctl_StatusRequest), PROTO_FUZZ_M(vmctl_StatusResponse),
};
#define PROTO_FUZZ_N (sizeof(proto_fuzz_msgs) / sizeof(proto_fuzz_msgs[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct proto_fuzz_msg *m = &proto_fuzz_msgs[data[0] % PROTO_FUZZ_N];
	/* Exact-size heap blocks, so ASan sees any write past a struct. */
	void *a = calloc(1, m->size), *b = calloc(1, m->size);
	size_t cap = 256 * 1024;
	uint8_t *e1 = malloc(cap), *e2 = malloc(cap);
	if (!a || !b || !e1 || !e2)
		abort();

	if (rpc_msg_decode(m->desc, a, data + 1, size - 1, NULL) == 0) {
		ssize_t n1 = rpc_msg_encode(m->desc, a, e1, cap);
		/* Anything that fits the structs fits a frame. */
		if (n1 < 0 || (size_t)n1 > RPC_MAX_PAYLOAD - 4)
			__builtin_trap();
		if (rpc_msg_decode(m->desc, b, e1, (size_t)n1, NULL) != 0)
			__builtin_trap();
		ssize_t n2 = rpc_msg_encode(m->desc, b, e2, cap);
		if (n2 != n1 || memcmp(e1, e2, (size_t)n1) != 0)
			__builtin_trap();
	}
	free(a);
	free(b);
	free(e1);
	free(e2);
	return 0;
}
