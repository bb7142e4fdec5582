#!/bin/sh
# Nested boot benchmark: in one boot of the nested L1 machine (see
# docs/E2E.md), boot the same appliance bzImage + initramfs under our vmm and
# under `qemu-system-x86_64 -M microvm` (QEMU and its shared libraries copied
# into the L1 image), RUNS times each, alternating, and print the times from
# exec to
#   init   the guest's /init printed its marker on the serial console,
#   port   the guest's write of 123 to the boot-time port 0x3f0 became
#          visible (vmm: its "boot-time:" stderr line; QEMU: an isa-debugcon
#          at 0x3f0 feeding a FIFO),
#   self   vmm's own "boot-time: N ms since exec",
#   exit   the VMM process exited after the guest reset itself,
# all measured by the same parent (tests/e2e/l1/bootbench.c). Both get a
# quiet kernel command line, 256 MiB and 1 vCPU. On a host with vmx/svm the
# same runs happen directly on the host.
#
#   scripts/bench/nested.sh [RUNS]       (default 5)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
RUNS=${1:-5}
case "$RUNS" in ''|*[!0-9]*|0) echo "usage: nested.sh [RUNS]" >&2; exit 2 ;; esac

command -v qemu-system-x86_64 >/dev/null || e2e_die "qemu-system-x86_64 missing (scripts/setup-deps.sh)"
BENCH_VMMS=${BENCH_VMMS:-vmm qemu-microvm}
case " $BENCH_VMMS " in *" vmm "*) [ -x "$O/vmm" ] || e2e_die "$O/vmm not built (make)" ;; esac
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir bench

# The bench guest: /init prints the marker, writes the boot-time port, resets.
assets=$E2E_RUN/assets
mkdir -p "$assets/bench"
E2E_TOOLS=$O/e2e
. "$SRC/tests/e2e/lib/guestfs.sh"
guestfs_busybox "$assets/bench/root" || exit 1
cat >"$assets/bench/root/init" <<'EOF'
#!/bin/sh
echo BENCH-INIT
/bin/portw 0x3f0 123
/bin/reboot -f
EOF
chmod 755 "$assets/bench/root/init"
"$SRC/scripts/mkinitramfs.sh" "$assets/bench/root" "$assets/bench/initramfs.cpio.gz" || exit 1
rm -rf "$assets/bench/root"

# Runs inside L1 (or on the host): one "BENCHRES <vmm> k=v..." line per run.
main=$E2E_RUN/main.sh
cat >"$main" <<'EOF'
K=$KERNEL_BZIMAGE
I=$ASSETS/bench/initramfs.cpio.gz
P="console=ttyS0 panic=-1 quiet"
fifo=$WORK/debugcon
rm -f "$fifo"; mkfifo "$fifo"
i=0
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	case " $BENCH_VMMS " in *" vmm "*)
	echo "BENCHRES vmm $(bootbench -t 120 -- "$VMM" -k "$K" -i "$I" -m 256 -c 1 -p "$P reboot=k")" ;; esac
	case " $BENCH_VMMS " in *" qemu-microvm "*)
	echo "BENCHRES qemu-microvm $(bootbench -t 120 -d "$fifo" -- qemu-system-x86_64 -M microvm \
		-accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config -display none \
		-serial stdio -monitor none -no-reboot \
		-chardev file,id=dbg,path="$fifo" -device isa-debugcon,iobase=0x3f0,chardev=dbg \
		-kernel "$K" -initrd "$I" -append "$P reboot=t")" ;; esac
done
EOF

summary() {
	awk '
	$1 == "BENCHRES" {
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[2] != "-" && kv[1] != "status") { v[$2, kv[1], ++n[$2, kv[1]]] = kv[2] }
			if (kv[1] == "status" && kv[2] != 0) bad[$2]++
		}
		if (!($2 in vm)) order[++nvm] = $2
		vm[$2] = 1
	}
	END {
		split("init_ms port_ms self_ms exit_ms", keys, " ")
		printf "%-14s %10s %10s %10s %10s  (median of runs, ms since exec)\n", "", "init", "port", "self", "exit"
		for (o = 1; o <= nvm; o++) {
			m = order[o]
			printf "%-14s", m
			for (k = 1; k <= 4; k++) {
				c = n[m, keys[k]]
				if (c == 0) { printf " %10s", "-"; continue }
				for (i = 1; i <= c; i++) a[i] = v[m, keys[k], i] + 0
				for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
				med[m, k] = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
				printf " %10d", med[m, k]
			}
			printf "%s\n", bad[m] ? "  (" bad[m] " runs failed)" : ""
		}
		if (med["vmm", 1] > 0 && med["qemu-microvm", 1] > 0)
			printf "vmm / qemu-microvm: init %.2fx, exit %.2fx\n", med["vmm", 1] / med["qemu-microvm", 1], med["vmm", 4] / med["qemu-microvm", 4]
	}'
}

if e2e_have_hwvirt; then
	echo "bench/nested: vmx/svm present: running directly on this host" >&2
	work=$E2E_RUN/work
	mkdir -p "$work"
	(cd "$work" && PATH="$O/e2e:$PATH" VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets \
		WORK=$work RUNS=$RUNS BENCH_VMMS=$BENCH_VMMS sh "$main") 2>&1 | tee "$work/out" |
		grep --line-buffered -E '^(BENCHRES|bootbench)' | sed -u 's/^/  run: /' >&2
	summary <"$work/out"
	! grep -q '^bootbench: .*failed' "$work/out"
	exit
fi

img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cp "$main" "$img/e2e/main.sh"
printf 'RUNS=%s\nBENCH_VMMS="%s"\n' "$RUNS" "$BENCH_VMMS" >>"$img/e2e/env"
echo stream >"$img/e2e/mode"
# QEMU at its own paths: the binary, every shared library ldd names, the
# loader, the firmware microvm loads (qboot, linuxboot option ROM).
q=$(command -v qemu-system-x86_64)
mkdir -p "$img/usr/bin" "$img/usr/share/qemu"
cp "$q" "$img/usr/bin/qemu-system-x86_64"
ln -sf /usr/bin/qemu-system-x86_64 "$img/bin/qemu-system-x86_64"
for lib in $(ldd "$q" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
	mkdir -p "$img$(dirname "$lib")"
	cp -L "$lib" "$img$lib"
done
for fw in bios-microvm.bin qboot.rom linuxboot_dma.bin linuxboot.bin pvh.bin; do
	[ -e "/usr/share/qemu/$fw" ] && cp -L "/usr/share/qemu/$fw" "$img/usr/share/qemu/"
done
nonce=$(cat "$img/e2e/nonce")
echo "bench/nested: booting the nested L1 machine; $RUNS runs of each VMM (appliance bzImage, 256 MiB, 1 vCPU)" >&2
out=$E2E_RUN/console.log
# Runs are shown as they finish; the whole console is in $out.
{ l1_boot "$img" $((600 + RUNS * 200)) </dev/null; echo $? >"$E2E_RUN/rc"; } | sed -u 's/\r$//' |
	tee "$out" | grep --line-buffered -E '^(BENCHRES|bootbench)' | sed -u 's/^/  run: /' >&2
rc=$(cat "$E2E_RUN/rc")
grep -q BENCHRES "$out" || { echo "bench/nested: no results (qemu status $rc); L1 console tail:" >&2; tail -n 40 "$out" >&2; exit 1; }
sed -n "s/.*@E2E:$nonce: BOOTED \(.*\)/L1 reached its \/init after \1 s of L1 uptime/p" "$out"
summary <"$out"
grep -q "@E2E:$nonce: DONE" "$out" || { echo "bench/nested: L1 did not finish (qemu status $rc); console in $out" >&2; E2E_KEEP=1; trap - EXIT; exit 1; }
if grep -q '^bootbench: ' "$out"; then
	echo "bench/nested: failed runs:" >&2
	sed -n '/^bootbench: .*failed/,/^BENCHRES/p' "$out" | grep -v '^BENCHRES' | tail -n 60 >&2
	exit 1
fi
