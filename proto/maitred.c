/* Maitred's method descriptors: ids, names and nanopb message descriptors for
 * the server's dispatch table and the client's calls. */
#include "proto/maitred.h"

#define PROTO_M(idx, nm, t) [idx] = { \
	.id = PROTO_METHOD_ID(PROTO_SVC_MAITRED, (idx) + 1), .name = "maitred." nm, \
	.req_fields = maitred_##t##Request_fields, .req_size = sizeof(maitred_##t##Request), \
	.resp_fields = maitred_##t##Response_fields, .resp_size = sizeof(maitred_##t##Response) }

const struct rpc_method_desc proto_maitred_methods[PROTO_MAITRED_N] = {
	PROTO_M(PROTO_MAITRED_SHUTDOWN, "Shutdown", Shutdown),
	PROTO_M(PROTO_MAITRED_EXEC, "Exec", Exec),
	PROTO_M(PROTO_MAITRED_CONFIGURE_NETWORK, "ConfigureNetwork", ConfigureNetwork),
	PROTO_M(PROTO_MAITRED_MOUNT, "Mount", Mount),
	PROTO_M(PROTO_MAITRED_SET_TIME, "SetTime", SetTime),
	PROTO_M(PROTO_MAITRED_GET_INFO, "GetInfo", GetInfo),
};

const struct rpc_method_desc *proto_maitred_find(uint32_t id)
{
	for (int i = 0; i < PROTO_MAITRED_N; i++)
		if (proto_maitred_methods[i].id == id)
			return &proto_maitred_methods[i];
	return NULL;
}
