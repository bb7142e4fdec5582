# Bad arm64 kernels are refused before any VM exists
# (vmm/arch/aarch64/image.c, Documentation/arm64/booting.rst §4): exit 2
# and exactly one line naming the file and what is wrong, for a file
# shorter than the header, random bytes, an empty file, an x86 bzImage
# header, a gzip-compressed Image, a big-endian flag, a text_offset beyond
# 2 MiB, an image_size bigger than RAM, and a missing file.
# arch: aarch64
# timeout: 120
. "$E2E_LIB/scenario.sh"
K=$KERNEL_BZIMAGE
head -c 40 "$K" >"$WORK/short"
head -c 1048576 /dev/urandom >"$WORK/random"
: >"$WORK/empty"
head -c 1048576 /dev/zero >"$WORK/bzimage"
printf 'HdrS' | dd of="$WORK/bzimage" bs=1 seek=514 conv=notrunc 2>/dev/null
gzip -c "$K" >"$WORK/gzip"
# Header fields (booting.rst): text_offset at 8, image_size at 16, flags at 24.
cp "$K" "$WORK/bigendian"
printf '\001' | dd of="$WORK/bigendian" bs=1 seek=24 conv=notrunc 2>/dev/null
cp "$K" "$WORK/textoff"
printf '\000\000\060\000' | dd of="$WORK/textoff" bs=1 seek=8 conv=notrunc 2>/dev/null
cp "$K" "$WORK/huge"
printf '\000\000\000\100' | dd of="$WORK/huge" bs=1 seek=16 conv=notrunc 2>/dev/null
for k in short random empty bzimage gzip bigendian textoff huge missing; do
	f=$WORK/$k
	vmm_run "$k" -k "$f" -p "$GUEST_PARAMS"
	[ "$RC" = 2 ] || fail "$k: vmm exited with $RC, want 2"
	n=$(grep -c . "$WORK/$k.err")
	[ "$n" = 1 ] || fail "$k: $n lines on stderr, want exactly one"
	grep -qF "$f" "$WORK/$k.err" || fail "$k: the error does not name the file: $(cat "$WORK/$k.err")"
	echo "$k -> $RC: $(cat "$WORK/$k.err")"
done
