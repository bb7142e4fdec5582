# Bad kernel images are refused before any guest runs: exit status 1 or 2
# (never a crash), and exactly one line on stderr that names the file.
# timeout: 60
. "$E2E_LIB/scenario.sh"
head -c 4096 "$KERNEL_BZIMAGE" >"$WORK/trunc-bzimage"        # setup header only
head -c 65536 "$KERNEL_VMLINUX" >"$WORK/trunc-vmlinux"        # ELF headers, segments cut
head -c 1048576 /dev/urandom >"$WORK/random"
: >"$WORK/empty"
# A bzImage whose setup header magic "HdrS" (offset 0x202) is destroyed.
cp "$KERNEL_BZIMAGE" "$WORK/nomagic"
printf 'XXXX' | dd of="$WORK/nomagic" bs=1 seek=514 conv=notrunc 2>/dev/null
# A vmlinux whose ELF class byte says 32-bit.
cp "$KERNEL_VMLINUX" "$WORK/elf32"
printf '\001' | dd of="$WORK/elf32" bs=1 seek=4 conv=notrunc 2>/dev/null
for k in trunc-bzimage trunc-vmlinux random empty nomagic elf32 missing; do
	f=$WORK/$k
	vmm_run "$k" -k "$f" -p "$GUEST_PARAMS"
	case $RC in 1|2) ;; *) fail "$k: vmm exited with $RC, want 1 or 2" ;; esac
	n=$(grep -c . "$WORK/$k.err")
	[ "$n" = 1 ] || fail "$k: $n lines on stderr, want exactly one"
	grep -qF "$f" "$WORK/$k.err" || fail "$k: the error does not name the file: $(cat "$WORK/$k.err")"
	echo "$k -> $RC: $(cat "$WORK/$k.err")"
done
