/* VmControl: the VMM's own control service on its control socket
 * (vmctl.proto). Service id 4; Maitred requests (service 1) sent to the
 * control socket are relayed to the guest. */
#ifndef APPVM_PROTO_VMCTL_H
#define APPVM_PROTO_VMCTL_H
#include "proto/maitred.h"
#include "proto/vmctl.pb.h"

#define PROTO_SVC_VMCTL 4

enum proto_vmctl_idx {
	PROTO_VMCTL_STOP,
	PROTO_VMCTL_STATUS,
	PROTO_VMCTL_OPEN_SHELL,
	PROTO_VMCTL_DEVICE_CONTROL,
	PROTO_VMCTL_N
};

extern const struct rpc_method_desc proto_vmctl_methods[PROTO_VMCTL_N];
#endif
