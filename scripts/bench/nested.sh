#!/bin/sh
# Nested boot benchmark: in one boot of the nested L1 machine (see
# docs/E2E.md), boot the same appliance bzImage + initramfs (whose /init
# prints a marker, writes the boot-time port and reboots at once) under our
# vmm, kvmtool's lkvm-static and `qemu-system-x86_64 -M microvm`, RUNS rounds,
# the peers interleaved in a rotating order, and print per VMM the median and
# range of the times from exec to
#   init   the guest's /init printed its marker on the serial console,
#   port   the guest's write of 123 to the boot-time port 0x3f0 became
#          visible (vmm: its "boot-time:" stderr line; QEMU: an isa-debugcon
#          at 0x3f0 feeding a FIFO; kvmtool has no such device: "-"),
#   self   vmm's own "boot-time: N ms since exec",
#   exit   the VMM process exited after the guest reset itself,
# all measured by the same parent (tests/e2e/l1/bootbench.c). All get a quiet
# kernel command line, 256 MiB, 1 vCPU and no NIC. "vmm-elf" is vmm
# booting the same kernel build's vmlinux (ELF, uncompressed: what `vmm -k
# vmlinux` and Firecracker boot) instead of the bzImage, whose xz payload
# vmm unpacks before the guest starts and the peers' guests unpack
# themselves; kvmtool and QEMU microvm take only the bzImage. After the
# timed rounds, one more boot per VMM counts L1's KVM exits for it (kvm
# tracepoints with hist triggers in L1's tracefs: SVM exit codes, port I/O,
# MSRs, MMIO, userspace exits), and vmm -v prints its own exit accounting.
# With vmm among the VMMs, two more figures (vmm only; no peer runs our
# guest init): the demo appliance of scripts/demo.sh, booted as the demo
# boots it (vmlinux, squashfs root, our init, its service and app, 2 vCPUs,
# 512 MiB), RUNS times: "appliance" init = exec -> the app's first line,
# exit = exec -> vmm's exit after the app ended; then one such VM with a
# control socket and the app sleeping, and 3*RUNS `vmm exec SOCK -- true`:
# "exec-true" exit = that command's whole run (connect, guest fork+exec
# through our init's Maitred, status back).
#
#   scripts/bench/nested.sh [RUNS]       (default 9)
#   E2E_ARCH=aarch64 scripts/bench/nested.sh [RUNS]
#                the nested arm64 machine (docs/ARM64.md) with the arm64
#                build (O=build-aarch64) and the appliance Image; peers vmm
#                and kvmtool (an arm64 lkvm-static), no exit counts (the
#                tracepoints below are x86's)
# Environment:
#   BENCH_VMMS   which VMMs (default "vmm vmm-elf kvmtool qemu-microvm"; arm64
#                "vmm kvmtool")
#   KVMTOOL      path to a static lkvm-static built OUTSIDE this tree from a
#                kvmtool snapshot; without it the kvmtool peer is reported
#                MISSING and the script exits 3 after the other results
#   BENCH_EXTRA  "name=path[:arg,arg...] ..." more vmm binaries (e.g. builds
#                of other commits, or vmm with other options) run like vmm
#                with those extra arguments, for A/B in the same L1; name is
#                [A-Za-z0-9_]
#   BENCH_EXTRA="vmm_2m=build/vmm:--hugepages,2M vmm_thp=build/vmm:--hugepages,thp"
#                compares guest RAM page sizes: inside the nested L1 the
#                script reserves 160 huge pages and sets shmem_enabled to
#                advise (run directly on a host, reserve them yourself)
#   BENCH_DIAG   1: one more boot per vmm build (and kvmtool) at the end without `quiet`
#                and with initcall_debug, its console printed as DIAG lines
#                (the guest's own timestamps: where the boot time goes)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${E2E_ARCH:-x86_64}" = aarch64 ]; then O=${O:-build-aarch64}; else O=${O:-build}; fi
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
RUNS=${1:-9}
case "$RUNS" in ''|*[!0-9]*|0) echo "usage: nested.sh [RUNS]" >&2; exit 2 ;; esac

if [ "$E2E_ARCH" = aarch64 ]; then
	BENCH_VMMS=${BENCH_VMMS:-vmm kvmtool}
	case " $BENCH_VMMS " in *" qemu-microvm "*) e2e_die "qemu-microvm is an x86 machine: not with E2E_ARCH=aarch64" ;; esac
else
	command -v qemu-system-x86_64 >/dev/null || e2e_die "qemu-system-x86_64 missing (scripts/setup-deps.sh)"
	BENCH_VMMS=${BENCH_VMMS:-vmm vmm-elf kvmtool qemu-microvm}
fi
BENCH_EXTRA=${BENCH_EXTRA:-}
case " $BENCH_VMMS " in *" vmm "*|*" vmm-elf "*) [ -x "$O/vmm" ] || e2e_die "$O/vmm not built (make)" ;; esac
missing=
case " $BENCH_VMMS " in *" kvmtool "*)
	if [ -z "${KVMTOOL:-}" ] || [ ! -x "$KVMTOOL" ] || ! file -L "$KVMTOOL" | grep -q 'statically linked'; then
		echo "bench/nested: PEER MISSING: kvmtool (KVMTOOL='${KVMTOOL:-}' is not a static lkvm-static;" \
			"build one outside the tree: make lkvm-static in a kvmtool checkout)" >&2
		missing="$missing kvmtool"
		BENCH_VMMS=$(echo " $BENCH_VMMS " | sed 's/ kvmtool / /')
	fi ;;
esac
xargs_env=
for x in $BENCH_EXTRA; do
	name=${x%%=*} path=${x#*=} args=
	case $path in *:*) args=$(echo "${path#*:}" | tr , ' '); path=${path%%:*} ;; esac
	case $name in ''|*[!A-Za-z0-9_]*) e2e_die "BENCH_EXTRA: bad name in '$x'" ;; esac
	[ -x "$path" ] || e2e_die "BENCH_EXTRA: $path is not an executable"
	BENCH_VMMS="$BENCH_VMMS $name"
	xargs_env="${xargs_env}XARGS_$name=\"$args\"
"
done
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
case " $BENCH_VMMS " in *" vmm "*)
	mkdir -p "$assets/demo"
	guestfs_demo "$assets/demo/root.sqfs" || exit 1 ;;
esac

# Runs inside L1 (or on the host): one "BENCHRES <vmm> k=v..." line per run,
# then "EXITS <vmm> <event> <key> <count>" lines from the counting boots and
# "VMMEXITS <vmm> ..." lines from vmm -v.
main=$E2E_RUN/main.sh
cat >"$main" <<'EOF'
K=$KERNEL_BZIMAGE
I=$ASSETS/bench/initramfs.cpio.gz
P="console=ttyS0 panic=-1 quiet"
fifo=$WORK/debugcon
rm -f "$fifo"; mkfifo "$fifo"
# Huge pages for --hugepages builds (L1 only: BENCH_L1_HUGEPAGES is set in its env).
if [ -n "${BENCH_L1_HUGEPAGES:-}" ]; then
	echo "$BENCH_L1_HUGEPAGES" >/proc/sys/vm/nr_hugepages
	echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled
fi
export HOME=$WORK  # kvmtool keeps its sockets under ~/.lkvm
# kernel NAME: the kernel VMM NAME boots.
kernel() { if [ "$1" = vmm-elf ]; then echo "$KERNEL_VMLINUX"; else echo "$K"; fi; }
# boot NAME: one boot of VMM NAME under bootbench.
boot() {
	case $1 in
	vmm|vmm-elf) bootbench -t 120 -- "$VMM" -k "$(kernel "$1")" -i "$I" -m 256 -c 1 -p "$P reboot=k" ;;
	kvmtool) bootbench -t 120 -- "$PEERS/lkvm-static" run -k "$K" -i "$I" -m 256 -c 1 \
		-n mode=none --console serial -p "$P reboot=k" ;;
	qemu-microvm) bootbench -t 120 -d "$fifo" -- qemu-system-x86_64 -M microvm \
		-accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config -display none \
		-serial stdio -monitor none -no-reboot \
		-chardev file,id=dbg,path="$fifo" -device isa-debugcon,iobase=0x3f0,chardev=dbg \
		-kernel "$K" -initrd "$I" -append "$P reboot=t" ;;
	*) eval "xa=\${XARGS_$1:-}"
	   bootbench -t 120 -- "$PEERS/$1" $xa -k "$K" -i "$I" -m 256 -c 1 -p "$P reboot=k" ;;
	esac
}
set -- $BENCH_VMMS
n=$#
i=0
while [ $i -lt "$RUNS" ]; do
	# Rotate the order each round so no VMM always follows the same one.
	j=0
	while [ $j -lt $n ]; do
		k=$(( (i + j) % n + 1 ))
		eval "m=\${$k}"
		echo "BENCHRES $m $(boot "$m")"
		j=$((j + 1))
	done
	i=$((i + 1))
done
# The demo appliance (vmm only): its boot, then `vmm exec -- true` round
# trips into a running one.
case " $BENCH_VMMS " in *" vmm "*)
	A="-k $KERNEL_VMLINUX -r $ASSETS/demo/root.sqfs -c 2 -m 512"
	i=0
	while [ $i -lt "$RUNS" ]; do
		echo "BENCHRES appliance $(bootbench -t 300 -m 'appvm demo appliance' -- \
			"$VMM" $A -p "init.app=/bin/demo init.hostname=demo")"
		i=$((i + 1))
	done
	sock=$WORK/appliance.sock
	"$VMM" $A -s "$sock" -p "init.app=/bin/sleep init.args=3600" </dev/null >"$WORK/appliance.out" 2>&1 &
	app=$!
	# Maitred answers once the guest's init is up (vmm info exits 3-5 before).
	i=0
	until "$VMM" info "$sock" -T 10 >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 600 ] || ! kill -0 $app 2>/dev/null; then
			echo "bootbench: appliance with a control socket failed: no answer to vmm info"
			tail -20 "$WORK/appliance.out"
			break
		fi
		sleep 0.5
	done
	i=0
	while [ $i -lt $((RUNS * 3)) ]; do
		echo "BENCHRES exec-true $(bootbench -t 60 -m '' -- "$VMM" exec "$sock" -- true)"
		i=$((i + 1))
	done
	"$VMM" shutdown "$sock" >/dev/null 2>&1 || kill $app
	wait $app ;;
esac
# Exit counts: L1's kvm tracepoints, one boot per VMM; hist triggers count
# in L1's kernel, nothing is streamed. The triggers are set once and never
# touched again (removing one, i.e. tracepoint text patching, once left L1 in
# a soft lockup for good: docs/BENCHMARKS.md); a VMM's counts are the
# difference of the tables read before and after its boot.
T=/sys/kernel/tracing
# arm64: the kvm_pio/kvm_msr tracepoints and SVM exit codes are x86's.
counted=$BENCH_VMMS
[ "$(uname -m)" = x86_64 ] || counted=
[ -d $T/events ] || mount -t tracefs tracefs $T 2>/dev/null
hists="kvm_exit:exit_reason kvm_userspace_exit:reason kvm_pio:port,rw kvm_msr:ecx,write kvm_mmio:type,gpa"
if [ -d $T/events/kvm ] && [ -n "$counted" ]; then
	for h in $hists; do echo "hist:keys=${h#*:}:size=2048" >$T/events/kvm/${h%%:*}/trigger; done
fi
for m in $counted; do
	if [ ! -d $T/events/kvm ]; then echo "EXITS $m none no-kvm-tracepoints 0"; break; fi
	# hist_read M: "EXITS M <event> <key> <count>" for every table entry;
	# "{ port: 1016, rw: 1 } hitcount: 45" -> "EXITS vmm kvm_pio 1016,1 45".
	hist_read() {
		for h in $hists; do
			ev=${h%%:*}
			sed -n 's/^{\(.*\)} *hitcount: *\([0-9]*\).*/\1 \2/p' $T/events/kvm/$ev/hist |
				awk -v m="$1" -v ev="$ev" '{ c = $NF; k = ""
					for (f = 1; f < NF; f++) if ($f !~ /:$/) { sub(/,$/, "", $f); k = k (k == "" ? "" : ",") $f }
					print "EXITS " m " " ev " " k " " c }'
		done
	}
	hist_read "$m" >"$WORK/hist.before"
	case $m in
	qemu-microvm|kvmtool) boot "$m" >/dev/null ;;
	vmm|vmm-elf) "$VMM" -v -k "$(kernel "$m")" -i "$I" -m 256 -c 1 -p "$P reboot=k" 2>&1 >/dev/null |
		grep 'exits:' | sed "s/^/VMMEXITS $m /" ;;
	*) eval "xa=\${XARGS_$m:-}"
	   "$PEERS/$m" $xa -v -k "$K" -i "$I" -m 256 -c 1 -p "$P reboot=k" 2>&1 >/dev/null |
		grep 'exits:' | sed "s/^/VMMEXITS $m /" ;;
	esac
	hist_read "$m" | awk -v f="$WORK/hist.before" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); was[a[3] " " a[4]] = a[5] } }
		$5 - was[$3 " " $4] > 0 { print $1, $2, $3, $4, $5 - was[$3 " " $4] }'
done
[ "${BENCH_DIAG:-0}" = 1 ] || exit 0
D="console=ttyS0 panic=-1 reboot=k initcall_debug loglevel=8"
for m in $BENCH_VMMS; do
	case $m in
	qemu-microvm) continue ;;
	# The peer too, so the two guests' own timestamps can be set side by side.
	kvmtool) "$PEERS/lkvm-static" run -k "$K" -i "$I" -m 256 -c 1 -n mode=none --console serial -p "$D" 2>&1 |
		sed "s/^/DIAG $m /"; continue ;;
	vmm|vmm-elf) b=$VMM xa= ;;
	*) b=$PEERS/$m; eval "xa=\${XARGS_$m:-}" ;;
	esac
	"$b" $xa -k "$(kernel "$m")" -i "$I" -m 256 -c 1 -p "$D" 2>&1 | sed "s/^/DIAG $m /"
done
EOF

summary() {
	awk '
	function med(m, key,   c, i, j, t, a) {
		c = n[m, key]
		for (i = 1; i <= c; i++) a[i] = v[m, key, i] + 0
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		lo[m, key] = a[1]; hi[m, key] = a[c]
		return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	}
	# SVM exit codes (AMD APM vol. 2, appendix C) the boots show.
	function svm(c) {
		if (c == 96) return "INTR"; if (c == 100) return "VINTR"; if (c == 114) return "CPUID"
		if (c == 120) return "HLT"; if (c == 123) return "IOIO"; if (c == 124) return "MSR"
		if (c == 127) return "SHUTDOWN"; if (c == 129) return "VMMCALL"; if (c == 1024) return "NPF"
		if (c == 119) return "PAUSE"; if (c == 110) return "RDTSC"; if (c == 111) return "RDPMC"
		if (c >= 64 && c < 96) return "EXCP" (c - 64); if (c < 16) return "CR" c "_READ"
		if (c < 32) return "CR" (c - 16) "_WRITE"; if (c >= 144 && c < 160) return "CR" (c - 144) "_WTRAP"
		return "code" c
	}
	$1 == "BENCHRES" {
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[2] != "-" && kv[1] != "status") { v[$2, kv[1], ++n[$2, kv[1]]] = kv[2] }
			if (kv[1] == "status" && kv[2] != 0) bad[$2]++
		}
		if (!($2 in vm)) order[++nvm] = $2
		vm[$2] = 1
	}
	$1 == "EXITS" {
		if (!($2 in ex)) eorder[++nex] = $2
		ex[$2] = 1
		if ($3 == "kvm_exit") { tot[$2] += $5; r = svm($4 + 0); rs[$2, r] += $5; if (!(r in rn)) rlist[++nr] = r; rn[r] = 1 }
		if ($3 == "kvm_userspace_exit") ue[$2] += $5
		if ($3 == "kvm_pio") { split($4, pr, ","); pio[$2] += $5; pp[$2, sprintf("0x%x%s", pr[1], pr[2] ? "w" : "r")] += $5 }
		if ($3 == "kvm_msr") { split($4, mr, ","); msr[$2] += $5; mm[$2, sprintf("0x%x%s", mr[1], mr[2] ? "w" : "r")] += $5 }
		if ($3 == "kvm_mmio") mmio[$2] += $5
		if ($3 == "none") noex = 1
	}
	END {
		split("init_ms port_ms self_ms exit_ms", keys, " ")
		printf "%-14s %20s %20s %20s %20s  (median [min-max] of runs, ms since exec)\n", "", "init", "port", "self", "exit"
		for (o = 1; o <= nvm; o++) {
			m = order[o]
			printf "%-14s", m
			for (k = 1; k <= 4; k++) {
				if (n[m, keys[k]] == 0) { printf " %20s", "-"; continue }
				md[m, k] = med(m, keys[k])
				printf " %20s", sprintf("%d [%d-%d]", md[m, k], lo[m, keys[k]], hi[m, keys[k]])
			}
			printf "  n=%d%s\n", n[m, "exit_ms"], bad[m] ? "  (" bad[m] " runs failed)" : ""
		}
		# vmm (and every extra vmm build) against the faster peer.
		best = ""
		if (md["kvmtool", 4] > 0) best = "kvmtool"
		if (md["qemu-microvm", 4] > 0 && (best == "" || md["qemu-microvm", 4] < md[best, 4])) best = "qemu-microvm"
		for (o = 1; o <= nvm && best != ""; o++) {
			m = order[o]
			if (m ~ /^(kvmtool|qemu-microvm|appliance|exec-true)$/ || md[m, 4] <= 0) continue
			printf "%s / %s (faster peer): init %.2fx, exit %.2fx\n", m, best,
				(md[best, 1] > 0 ? md[m, 1] / md[best, 1] : 0), md[m, 4] / md[best, 4]
		}
		if (noex) print "exit counts: L1 has no kvm tracepoints"
		if (nex == 0) exit
		printf "\nL1 KVM exits for one boot (kvm_exit tracepoint; SVM exit codes):\n%-14s %8s %8s %8s %8s %8s", "", "total", "to-user", "pio", "msr", "mmio"
		for (r = 1; r <= nr; r++) printf " %8s", rlist[r]
		printf "\n"
		for (o = 1; o <= nex; o++) {
			m = eorder[o]
			printf "%-14s %8d %8d %8d %8d %8d", m, tot[m], ue[m], pio[m], msr[m], mmio[m]
			for (r = 1; r <= nr; r++) printf " %8d", rs[m, rlist[r]]
			printf "\n"
		}
		printf "\nport I/O exits by port (r/w), per VMM:\n"
		for (o = 1; o <= nex; o++) {
			m = eorder[o]; line = ""
			for (key in pp) { split(key, kk, SUBSEP); if (kk[1] == m) line = line " " kk[2] "=" pp[key] }
			printf "%-14s%s\n", m, line
		}
		printf "\nMSR exits by MSR (r/w), per VMM:\n"
		for (o = 1; o <= nex; o++) {
			m = eorder[o]; line = ""
			for (key in mm) { split(key, kk, SUBSEP); if (kk[1] == m) line = line " " kk[2] "=" mm[key] }
			printf "%-14s%s\n", m, line
		}
	}'
}

# summary_and_exit OUTFILE: the tables, then 3 if a peer was missing.
summary_and_exit() {
	summary <"$1"
	grep '^VMMEXITS' "$1" | sed 's/^VMMEXITS /  /'
	if [ -n "$missing" ]; then
		echo "bench/nested: PEER MISSING:$missing (results above are without it)" >&2
		exit 3
	fi
}

# peers DIR: kvmtool and the extra vmm builds, at the names main.sh uses.
peers() {
	mkdir -p "$1"
	case " $BENCH_VMMS " in *" kvmtool "*) cp "$KVMTOOL" "$1/lkvm-static" ;; esac
	for x in $BENCH_EXTRA; do x=${x%%:*}; cp "${x#*=}" "$1/${x%%=*}"; done
}

if e2e_have_hwvirt; then
	echo "bench/nested: vmx/svm present: running directly on this host" >&2
	work=$E2E_RUN/work
	mkdir -p "$work"
	peers "$E2E_RUN/peers"
	(cd "$work" && PATH="$O/e2e:$PATH" VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage \
		KERNEL_VMLINUX=$O/kernel/vmlinux ASSETS=$assets \
		PEERS=$E2E_RUN/peers WORK=$work RUNS=$RUNS BENCH_VMMS=$BENCH_VMMS BENCH_DIAG=${BENCH_DIAG:-0} sh -c "$xargs_env . $main") 2>&1 | tee "$work/out" |
		grep --line-buffered -E '^(BENCHRES|bootbench)' | sed -u 's/^/  run: /' >&2
	summary_and_exit "$work/out"
	! grep -q '^bootbench: .*failed' "$work/out"
	exit
fi

img=$E2E_RUN/l1
l1_image "$img" || exit 1
cp -r "$assets" "$img/e2e/assets"
cp "$main" "$img/e2e/main.sh"
peers "$img/e2e/peers"
printf 'RUNS=%s\nBENCH_VMMS="%s"\nPEERS=/e2e/peers\nBENCH_DIAG=%s\nBENCH_L1_HUGEPAGES=160\n%s' \
	"$RUNS" "$BENCH_VMMS" "${BENCH_DIAG:-0}" "$xargs_env" >>"$img/e2e/env"
echo stream >"$img/e2e/mode"
# QEMU at its own paths: the binary, every shared library ldd names, the
# loader, the firmware microvm loads (qboot, linuxboot option ROM).
case " $BENCH_VMMS " in *" qemu-microvm "*)
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
	done ;;
esac
nonce=$(cat "$img/e2e/nonce")
set -- $BENCH_VMMS
echo "bench/nested: booting the nested L1 machine; $RUNS rounds of: $BENCH_VMMS ($E2E_ARCH appliance $E2E_KIMAGE, 256 MiB, 1 vCPU); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
out=$E2E_RUN/console.log
: >"$out"
# Progress watchdog: every boot ends within bootbench's 120 s, so a console
# silent for 300 s means L1 itself stopped.
l1_quiet_watchdog "$out" 300 nested "$O/e2e/l1-postmortem.log" &
# Runs are shown as they finish; the whole console is in $out.
{ E2E_QEMU_PIDFILE=$E2E_RUN/qemu.pid l1_boot "$img" $((900 + RUNS * $# * 150)) </dev/null; echo $? >"$E2E_RUN/rc"; } | sed -u 's/\r$//' |
	tee "$out" | grep --line-buffered -E '^(BENCHRES|bootbench)' | sed -u 's/^/  run: /' >&2
rc=$(cat "$E2E_RUN/rc")
[ -z "${BENCH_CONSOLE:-}" ] || cp "$out" "$BENCH_CONSOLE"
grep -q BENCHRES "$out" || { echo "bench/nested: no results (qemu status $rc); L1 console tail:" >&2; tail -n 40 "$out" >&2; exit 1; }
sed -n "s/.*@E2E:$nonce: BOOTED \(.*\)/L1 reached its \/init after \1 s of L1 uptime/p" "$out"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -q "@E2E:$nonce: DONE" "$out" || { summary <"$out"; echo "bench/nested: L1 did not finish (qemu status $rc); console in $out" >&2; E2E_KEEP=1; trap - EXIT; exit 1; }
if grep -q '^bootbench: ' "$out"; then
	summary <"$out"
	echo "bench/nested: failed runs:" >&2
	sed -n '/^bootbench: .*failed/,/^BENCHRES/p' "$out" | grep -v '^BENCHRES' | tail -n 60 >&2
	exit 1
fi
summary_and_exit "$out"
