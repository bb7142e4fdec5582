# Host-side asset for the e2e_bulk scenario: 16 MiB of random data on the
# bulk asset disk ($ASSETS_BULK, a read-only virtio disk in L1) and its
# checksum in the ordinary assets.
set -eu
mkdir -p "$ASSETS_BULK/e2e_bulk" "$ASSETS/e2e_bulk"
head -c 16777216 /dev/urandom >"$ASSETS_BULK/e2e_bulk/data"
sha256sum <"$ASSETS_BULK/e2e_bulk/data" | cut -d' ' -f1 >"$ASSETS/e2e_bulk/data.sha256"
