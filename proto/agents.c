/* Method descriptors of the agents' services (agents.h). */
#include "proto/agents.h"

const struct rpc_method_desc proto_log_write = {
	.id = PROTO_METHOD_ID(PROTO_SVC_LOG, 1), .name = "vmlog.Write",
	.req_fields = vmlog_WriteRequest_fields, .req_size = sizeof(vmlog_WriteRequest),
	.resp_fields = vmlog_WriteResponse_fields, .resp_size = sizeof(vmlog_WriteResponse),
};

#define PROTO_C(idx, nm) [idx] = { \
	.id = PROTO_METHOD_ID(PROTO_SVC_CRASH, (idx) + 1), .name = "vmcrash." #nm, \
	.req_fields = vmcrash_##nm##Request_fields, .req_size = sizeof(vmcrash_##nm##Request), \
	.resp_fields = vmcrash_##nm##Response_fields, .resp_size = sizeof(vmcrash_##nm##Response) }

const struct rpc_method_desc proto_crash_methods[PROTO_CRASH_N] = {
	PROTO_C(PROTO_CRASH_BEGIN, Begin),
	PROTO_C(PROTO_CRASH_CHUNK, Chunk),
	PROTO_C(PROTO_CRASH_END, End),
};
