# $CLOUD_MODDIR holds the cloud-kernel modules the contract promises, each
# with its dependencies resolvable from modules.dep.
# timeout: 60
for m in virtio virtio_ring virtio_mmio virtio_blk squashfs vsock vmw_vsock_virtio_transport \
		vmw_vsock_virtio_transport_common; do
	p=$(grep -E "(^|/)$m\.ko:" "$CLOUD_MODDIR/modules.dep" | cut -d: -f1)
	[ -n "$p" ] || { echo "$m: not in $CLOUD_MODDIR/modules.dep"; exit 1; }
	[ -f "$CLOUD_MODDIR/$p" ] || { echo "$m: $CLOUD_MODDIR/$p missing"; exit 1; }
	for d in $(grep -E "(^|/)$m\.ko:" "$CLOUD_MODDIR/modules.dep" | cut -d: -f2); do
		[ -f "$CLOUD_MODDIR/$d" ] || { echo "$m: dependency $CLOUD_MODDIR/$d missing"; exit 1; }
	done
done
exit 0
