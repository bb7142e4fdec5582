/* Maitred: the guest control service's method table (maitred.proto). Method
 * ids are PROTO_METHOD_ID(service, n); service 1 is Maitred, 2 and 3 are
 * reserved for the log and crash services. */
#ifndef APPVM_PROTO_MAITRED_H
#define APPVM_PROTO_MAITRED_H
#include "proto/rpc.h"
#include "proto/maitred.pb.h"

/* vsock port the guest serves Maitred on. */
#define PROTO_MAITRED_PORT 8888

enum proto_service {
	PROTO_SVC_MAITRED = 1,
	PROTO_SVC_LOG = 2,   /* proto/agents.h */
	PROTO_SVC_CRASH = 3, /* proto/agents.h */
};
#define PROTO_METHOD_ID(svc, n) (((uint32_t)(svc) << 16) | (uint32_t)(n))

/* Index into proto_maitred_methods; the wire id is PROTO_METHOD_ID(1, idx + 1),
 * matching the numbers in maitred.proto's service block. */
enum proto_maitred_idx {
	PROTO_MAITRED_SHUTDOWN,
	PROTO_MAITRED_EXEC,
	PROTO_MAITRED_CONFIGURE_NETWORK,
	PROTO_MAITRED_MOUNT,
	PROTO_MAITRED_SET_TIME,
	PROTO_MAITRED_GET_INFO,
	PROTO_MAITRED_N
};

extern const struct rpc_method_desc proto_maitred_methods[PROTO_MAITRED_N];

/* The method with wire id id, or NULL. */
const struct rpc_method_desc *proto_maitred_find(uint32_t id);
#endif
