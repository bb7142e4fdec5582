# The bulk asset disk reaches the scenarios intact: the file an asset script
# wrote to $ASSETS_BULK has the checksum the host computed, and the disk is
# read-only.
# timeout: 120
want=$(cat "$ASSETS/e2e_bulk/data.sha256")
[ -f "$ASSETS_BULK/e2e_bulk/data" ] || { echo "$ASSETS_BULK/e2e_bulk/data missing"; ls -la "$ASSETS_BULK"; exit 1; }
got=$(sha256sum <"$ASSETS_BULK/e2e_bulk/data" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "checksum $got, want $want"; exit 1; }
# In L1 it is a read-only mount (in direct mode on a vmx/svm host it is just
# the host directory).
if grep -q " $ASSETS_BULK ext4 " /proc/mounts && touch "$ASSETS_BULK/e2e_bulk/x" 2>/dev/null; then
	echo "bulk disk is writable"; exit 1
fi
exit 0
