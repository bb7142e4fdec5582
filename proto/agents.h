/* The guest agents' services (docs/AGENTS.md): Log (vmlog.proto, service 2)
 * and Crash (vmcrash.proto, service 3), both served by vmm and called by
 * the agents over vsock. */
#ifndef APPVM_PROTO_AGENTS_H
#define APPVM_PROTO_AGENTS_H
#include "proto/maitred.h"
#include "proto/vmcrash.pb.h"
#include "proto/vmlog.pb.h"

/* vsock ports of the host endpoints (CID 2). */
#define PROTO_LOG_PORT 9002
#define PROTO_CRASH_PORT 9003

extern const struct rpc_method_desc proto_log_write;

enum proto_crash_idx {
	PROTO_CRASH_BEGIN,
	PROTO_CRASH_CHUNK,
	PROTO_CRASH_END,
	PROTO_CRASH_N
};
extern const struct rpc_method_desc proto_crash_methods[PROTO_CRASH_N];
#endif
