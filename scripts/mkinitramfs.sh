#!/bin/sh
# Pack a directory into an initramfs: a newc cpio (Documentation/
# driver-api/early-userspace/buffer-format.rst), gzip-compressed unless -n.
#
#   scripts/mkinitramfs.sh [-n] DIR OUT
#
# Every entry is owned by root. /dev and /dev/console (c 5 1) are always
# added, written as raw newc headers, so no root privileges and no device node
# on the host are needed: without /dev/console the kernel starts /init with
# no stdin/stdout/stderr and everything it prints is lost.
#
# The archive is two cpio members back to back (the nodes, then DIR); the
# kernel unpacks concatenated members in order.
set -eu
compress=1
if [ "${1:-}" = "-n" ]; then compress=0; shift; fi
[ $# -eq 2 ] || { echo "usage: mkinitramfs.sh [-n] DIR OUT" >&2; exit 2; }
dir=$1 out=$2
[ -d "$dir" ] || { echo "mkinitramfs: $dir: not a directory" >&2; exit 2; }
command -v cpio >/dev/null || { echo "mkinitramfs: cpio not installed (scripts/setup-deps.sh)" >&2; exit 1; }

# newc_entry INO MODE_OCTAL RDEVMAJOR RDEVMINOR NAME: one header + name for an
# entry without data (directory or device node). Fields are 8 hex digits;
# header (110 bytes) + name + NUL is padded to a multiple of 4.
newc_entry() {
	namesize=$((${#5} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$1" "$((0$2))" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\000' "$5"
	pad=$(( (4 - (110 + namesize) % 4) % 4 ))
	while [ $pad -gt 0 ]; do printf '\000'; pad=$((pad - 1)); done
}

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT INT TERM
{
	newc_entry 1 040755 0 0 dev
	newc_entry 2 020600 5 1 dev/console
	newc_entry 0 0 0 0 'TRAILER!!!'
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||' |
		cpio --quiet -o -H newc -R 0:0)
} | if [ $compress -eq 1 ]; then gzip -6 -n; else cat; fi >"$tmp"
mv "$tmp" "$out"
trap - EXIT INT TERM
