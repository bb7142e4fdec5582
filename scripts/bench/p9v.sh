#!/bin/sh
# virtio-9p against QEMU's (issue 16's benchmark): in one boot of the nested
# L1 machine (docs/E2E.md), the same guest (the appliance bzImage, the
# p9_virtio asset's squashfs root, our init mounting the share with
# trans=virtio,version=9p2000.L,cache=none) under
#   vmm            vmm --share DIR:data (mapped, jailed: the defaults)
#   qemu-microvm   qemu-system-x86_64 -M microvm,acpi=off -accel kvm with
#                  -fsdev local,security_model=none (mapped-xattr keeps
#                  ownership in user.* xattrs, which tmpfs has only from
#                  Linux 6.6: in L1 (6.1) every p9check under it printed
#                  nothing; vmm's mapped mode keeps no xattrs either, so
#                  none is the like-for-like) and a
#                  virtio-9p-device, the root disk a virtio-blk-device, an
#                  isa-debug-exit at 0xf4 named as our exit port (a microvm without ACPI
#                  cannot power off: our init ends the VM through the port)
# both 512 MiB, 1 vCPU, the VMMs alternating, ROUNDS boots each. In every
# boot /bin/p9app bench runs `p9check seq` (64 MiB written in 1 MiB writes +
# fsync, read back) and `p9check meta` (500 x create+stat+unlink) 3 times.
# Prints the median of each measure per VMM and vmm / QEMU. Numbers for
# docs/BENCHMARKS.md; never enforced.
#
#   scripts/bench/p9v.sh [ROUNDS]        (default 2)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
ROUNDS=${1:-2}
case "$ROUNDS" in ''|*[!0-9]*|0) echo "usage: p9v.sh [ROUNDS]" >&2; exit 2 ;; esac
command -v qemu-system-x86_64 >/dev/null || e2e_die "qemu-system-x86_64 missing (scripts/setup-deps.sh)"
[ -x "$O/vmm" ] || e2e_die "$O/vmm not built (make)"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir p9v
assets=$E2E_RUN/assets
e2e_assets "$assets" p9_virtio || exit 1

main=$E2E_RUN/main.sh
cat >"$main" <<'EOF'
M="init.mount=data:/mnt/data:9p:trans=virtio,version=9p2000.L,cache=none init.app=/bin/p9app init.args=bench"
R=$ASSETS/p9v/root.sqfs
# run VMM: one boot; its "BENCH ..." lines as "P9V VMM ...".
run() {
	rm -rf "$WORK/share"; mkdir -p "$WORK/share"
	case $1 in
	vmm) timeout 600 "$VMM" -m 512 -c 1 -k "$KERNEL_BZIMAGE" -r "$R" --share "$WORK/share:data" \
		-p "console=ttyS0 reboot=k panic=-1 quiet $M" </dev/null 2>"$WORK/err" ;;
	qemu-microvm) timeout 600 qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu host -m 512 -smp 1 \
		-nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
		-drive id=root,file="$R",if=none,format=raw,readonly=on -device virtio-blk-device,drive=root \
		-fsdev local,id=share,path="$WORK/share",security_model=none \
		-device virtio-9p-device,fsdev=share,mount_tag=data -device isa-debug-exit,iobase=0xf4,iosize=1 \
		-kernel "$KERNEL_BZIMAGE" -append "console=ttyS0 reboot=t panic=-1 quiet root=/dev/vda ro appvm.exit_port=0xf4 $M" \
		</dev/null 2>"$WORK/err" ;;
	esac | tr -d '\r' | sed -n -e "s/^BENCH /P9V $1 /p" -e "s/^\(p9check: .*\)/P9VERR $1 \1/p"
	sed "s/^/P9VERR $1 /" "$WORK/err" | tail -n 5
}
i=0
while [ $i -lt "$ROUNDS" ]; do
	# Alternate which VMM goes first.
	if [ $((i % 2)) = 0 ]; then run vmm; run qemu-microvm; else run qemu-microvm; run vmm; fi
	i=$((i + 1))
done
EOF

summary() {
	awk '$1 == "P9V" { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$2, kv[1], ++n[$2, kv[1]]] = kv[2] + 0 }
			if (!($2 in seen)) order[++nv] = $2; seen[$2] = 1 }
	function med(m, k,   c, i, j, t, a) {
		c = n[m, k]; if (c == 0) return 0
		for (i = 1; i <= c; i++) a[i] = v[m, k, i]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	}
	END {
		split("write_mibs read_mibs meta_ops", k, " ")
		printf "%-14s %12s %12s %12s  (median of n runs)\n", "", "write MiB/s", "read MiB/s", "meta ops/s"
		for (o = 1; o <= nv; o++) {
			m = order[o]; printf "%-14s", m
			for (j = 1; j <= 3; j++) { md[m, j] = med(m, k[j]); printf " %12.1f", md[m, j] }
			printf "  n=%d\n", n[m, "meta_ops"]
		}
		if (md["qemu-microvm", 1] > 0 && md["vmm", 1] > 0)
			printf "vmm / qemu-microvm: write %.2fx, read %.2fx, meta %.2fx\n", md["vmm", 1] / md["qemu-microvm", 1],
				md["vmm", 2] / md["qemu-microvm", 2], (md["qemu-microvm", 3] > 0 ? md["vmm", 3] / md["qemu-microvm", 3] : 0)
	}'
}

if e2e_have_hwvirt; then
	work=$E2E_RUN/work
	mkdir -p "$work"
	(cd "$work" && VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets WORK=$work sh "$main") >"$work/out" 2>&1
	out=$work/out
else
	img=$E2E_RUN/l1
	l1_image "$img" || exit 1
	cp -r "$assets" "$img/e2e/assets"
	cp "$main" "$img/e2e/main.sh"
	printf 'ROUNDS=%s\n' "$ROUNDS" >>"$img/e2e/env"
	echo stream >"$img/e2e/mode"
	# QEMU at its own paths, as scripts/bench/nested.sh copies it.
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
	echo "bench/p9v: booting the nested L1 machine; $ROUNDS rounds of vmm and qemu-microvm virtio-9p; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	out=$E2E_RUN/console.log
	E2E_QEMU_PIDFILE=$E2E_RUN/qemu.pid l1_boot "$img" $((600 + ROUNDS * 2 * 600)) </dev/null | sed -u 's/\r$//' >"$out"
fi
grep '^P9V' "$out" | sed 's/^/  run: /' >&2
summary <"$out"
grep -q '^P9V vmm ' "$out" && grep -q '^P9V qemu-microvm ' "$out" || {
	echo "bench/p9v: a VMM gave no results; its stderr:" >&2
	grep '^P9VERR' "$out" >&2
	tail -n 30 "$out" >&2
	exit 1
}
