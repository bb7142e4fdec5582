/* VmControl's method descriptors (vmctl.proto). */
#include "proto/vmctl.h"

const struct rpc_method_desc proto_vmctl_methods[PROTO_VMCTL_N] = {
	[PROTO_VMCTL_STOP] = {
		.id = PROTO_METHOD_ID(PROTO_SVC_VMCTL, 1), .name = "vmctl.Stop",
		.req_fields = vmctl_StopRequest_fields, .req_size = sizeof(vmctl_StopRequest),
		.resp_fields = vmctl_StopResponse_fields, .resp_size = sizeof(vmctl_StopResponse),
	},
	[PROTO_VMCTL_STATUS] = {
		.id = PROTO_METHOD_ID(PROTO_SVC_VMCTL, 2), .name = "vmctl.Status",
		.req_fields = vmctl_StatusRequest_fields, .req_size = sizeof(vmctl_StatusRequest),
		.resp_fields = vmctl_StatusResponse_fields, .resp_size = sizeof(vmctl_StatusResponse),
	},
	[PROTO_VMCTL_OPEN_SHELL] = {
		.id = PROTO_METHOD_ID(PROTO_SVC_VMCTL, 3), .name = "vmctl.OpenShell",
		.req_fields = vmctl_OpenShellRequest_fields, .req_size = sizeof(vmctl_OpenShellRequest),
		.resp_fields = vmctl_OpenShellResponse_fields, .resp_size = sizeof(vmctl_OpenShellResponse),
	},
	[PROTO_VMCTL_DEVICE_CONTROL] = {
		.id = PROTO_METHOD_ID(PROTO_SVC_VMCTL, 4), .name = "vmctl.DeviceControl",
		.req_fields = vmctl_DeviceControlRequest_fields, .req_size = sizeof(vmctl_DeviceControlRequest),
		.resp_fields = vmctl_DeviceControlResponse_fields, .resp_size = sizeof(vmctl_DeviceControlResponse),
	},
};
