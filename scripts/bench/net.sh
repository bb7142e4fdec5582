#!/bin/sh
# virtio-net against QEMU's (issue 14's benchmark): in one boot of the nested
# L1 machine (docs/E2E.md), the same guest (the appliance bzImage, a
# squashfs root with our init as /sbin/init and Debian's iperf3 with its
# libraries, whose app is `iperf3 -s`) on a TAP in L1 under
#   vmm          vmm --host-ip/--netmask (our virtio-net, jailed: the
#                defaults; vmm makes the TAP and adds ip= for the guest)
#   qemu         qemu-system-x86_64 -M microvm,acpi=off -accel kvm with
#                -netdev tap,...,vhost=off -device virtio-net-device
#                (QEMU's own device model in its main loop)
#   qemu-vhost   the same with vhost=on (L1's vhost_net kernel module)
# (QEMU's root disk a virtio-blk-device, its guest told ip= by hand), all
# 512 MiB and 1 vCPU, the VMMs in rotating order, ROUNDS boots each. L1
# drives every boot: ping RTT (busybox ping, PINGS echoes 0.2 s apart;
# p50 of the replies), then `iperf3 -c GUEST -t SECS` (L1 -> guest) and
# `-R` (guest -> L1), each one TCP stream, the receiver's rate. Around each
# transfer it reads the CPU time of the VMM's device side from
# /proc/PID/stat (utime + stime):
#   vmm         the jailed virtio-net device process (the pid `vmm
#               status` names in its "virtio" member)
#   qemu        every QEMU thread but the vCPU ("CPU n/KVM": QEMU names
#               its threads only with -name debug-threads=on; without it
#               they are all "qemu-system-x86" and the guest's own time
#               would count): the main loop runs the device
#   qemu-vhost  the same plus L1's vhost-<qemu pid> kernel thread
# and prints it as CPU seconds per GiB received. Prints the median of each
# measure per VMM and the ratios vmm / qemu and vmm / qemu-vhost. Numbers
# for docs/BENCHMARKS.md; never enforced. Nothing leaves L1: it has no NIC
# (-nodefaults), the TAPs are its only interfaces besides lo.
#
#   scripts/bench/net.sh [ROUNDS]        (default 2)
#   NET_SECS=N    seconds per iperf3 transfer (default 10)
#   NET_VMMS      which configurations (default "vmm qemu qemu-vhost")
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
ROUNDS=${1:-2}
case "$ROUNDS" in ''|*[!0-9]*|0) echo "usage: net.sh [ROUNDS]" >&2; exit 2 ;; esac
NET_SECS=${NET_SECS:-10}
case "$NET_SECS" in ''|*[!0-9]*|0) e2e_die "NET_SECS=$NET_SECS: a number of seconds" ;; esac
NET_VMMS=${NET_VMMS:-vmm qemu qemu-vhost}
for m in $NET_VMMS; do
	case $m in vmm|qemu|qemu-vhost) ;; *) e2e_die "NET_VMMS: unknown '$m' (vmm qemu qemu-vhost)" ;; esac
done
command -v qemu-system-x86_64 >/dev/null || e2e_die "qemu-system-x86_64 missing (scripts/setup-deps.sh)"
IPERF=$(command -v iperf3) || e2e_die "iperf3 missing (scripts/setup-deps.sh)"
command -v mksquashfs >/dev/null || e2e_die "mksquashfs missing (squashfs-tools)"
[ -x "$O/vmm" ] || e2e_die "$O/vmm not built (make)"
[ -x "$O/guest/init" ] || e2e_die "$O/guest/init not built (make)"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir net

# copy_dyn ROOT BINARY: BINARY and every shared library ldd names (the
# loader included) at their own paths under ROOT.
copy_dyn() {
	mkdir -p "$1$(dirname "$2")"
	cp -L "$2" "$1$2" || return 1
	for lib in $(ldd "$2" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$1$(dirname "$lib")"
		cp -L "$lib" "$1$lib" || return 1
	done
}

# The guest: our init, busybox, iperf3. Its app starts the iperf3 server,
# says so on the console, and waits; L1 ends the VM when it is done.
assets=$E2E_RUN/assets
root=$assets/netb/root
mkdir -p "$assets/netb"
E2E_TOOLS=$O/e2e
. "$SRC/tests/e2e/lib/guestfs.sh"
guestfs_busybox "$root" || exit 1
cp "$O/guest/init" "$root/sbin/init"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
copy_dyn "$root" "$IPERF" || e2e_die "copying iperf3 and its libraries into the guest root failed"
cat >"$root/bin/netapp" <<'APP'
#!/bin/sh
/usr/bin/iperf3 -s -p 5201 >/tmp/iperf3.log 2>&1 &
sleep 1
echo "NETAPP-READY $(cut -d' ' -f1 /proc/uptime)"
wait
echo "NETAPP-IPERF-ENDED $(tail -n 3 /tmp/iperf3.log | tr '\n' ' ')"
APP
chmod 755 "$root/bin/netapp"
mksquashfs "$root" "$assets/netb/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null ||
	e2e_die "mksquashfs of the guest root failed"
rm -rf "$root"

# Runs inside L1 (or on a vmx/svm host): one "NETB <vmm> k=v..." line per
# boot, "NETBERR <vmm> ..." lines when one goes wrong.
main=$E2E_RUN/main.sh
cat >"$main" <<'EOF'
R=$ASSETS/netb/root.sqfs
P="console=ttyS0 panic=-1 quiet init.rpc=0 init.app=/bin/netapp"
modprobe tun 2>/dev/null
modprobe vhost_net 2>/dev/null
[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
[ -c /dev/vhost-net ] || mknod /dev/vhost-net c 10 238
# ticks PID...: utime + stime of those tasks (clock ticks, USER_HZ 100).
ticks() {
	for _p in "$@"; do cat "$_p" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
# dev_tasks VMM PID: the /proc/.../stat files of the device side.
dev_tasks() {
	case $1 in
	vmm) echo "/proc/$2/stat" ;;
	qemu*)
		for _t in /proc/$QPID/task/*; do
			case $(cat "$_t/comm" 2>/dev/null) in "CPU "*) ;; *) echo "$_t/stat" ;; esac
		done
		[ "$1" = qemu-vhost ] && for _t in /proc/[0-9]*; do
			[ "$(cat "$_t/comm" 2>/dev/null)" = "vhost-$QPID" ] && echo "$_t/stat"
		done ;;
	esac
}
err() { echo "NETBERR $M $*"; }
# snap: "comm ticks" of every task of the VMM process, of vmm's device
# process and of QEMU's vhost thread, and L1's busy and total CPU ticks
# (/proc/stat), to see where a transfer's CPU time goes.
snap() {
	for _t in /proc/$VPID/task/* ${DPID:+/proc/$DPID/task/*}; do
		echo "$(tr ' ' _ <"$_t/comm" 2>/dev/null)@${_t##*/} $(ticks "$_t/stat")"
	done
	[ -n "$QPID" ] && for _t in /proc/[0-9]*; do
		[ "$(cat "$_t/comm" 2>/dev/null)" = "vhost-$QPID" ] && echo "vhost@${_t#/proc/} $(ticks "$_t/stat")"
	done
	awk '$1 == "cpu" { print "L1_busy", $2 + $3 + $4 + $7 + $8 + $9; print "L1_all", $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# xfer NAME ARGS: one iperf3 transfer with its device CPU; sets NAME_mbps
# (receiver's Mbit/s) and NAME_cpu (CPU s per GiB received).
xfer() {
	_n=$1; shift
	_t0=$(ticks $(dev_tasks "$M" "$DPID"))
	snap >"$WORK/snap0"
	timeout $((NET_SECS + 60)) iperf3 -c "$G" -p 5201 -t "$NET_SECS" -f m --connect-timeout 5000 "$@" \
		>"$WORK/$_n.out" 2>&1 || err "iperf3 $_n: $(tail -n 3 "$WORK/$_n.out" | tr '\n' ' ')"
	_t1=$(ticks $(dev_tasks "$M" "$DPID"))
	snap >"$WORK/snap1"
	echo "NETBLOG $M $_n CPU ticks per task: $(awk 'NR == FNR { a[$1] = $2; next } $2 - a[$1] > 0 { printf "%s=%d ", $1, $2 - a[$1] }' \
		"$WORK/snap0" "$WORK/snap1")"
	# "[  5]   0.00-10.00  sec   123 MBytes   103 Mbits/sec   receiver"
	set -- $(awk '/receiver$/ { for (i = 1; i <= NF; i++) { if ($i == "MBytes") b = $(i - 1) * 1048576;
		if ($i == "GBytes") b = $(i - 1) * 1073741824; if ($i == "KBytes") b = $(i - 1) * 1024
		if ($i == "Mbits/sec") r = $(i - 1); if ($i == "Gbits/sec") r = $(i - 1) * 1000
		if ($i == "Kbits/sec") r = $(i - 1) / 1000 } }
		END { print (r == "" ? 0 : r), b + 0 }' "$WORK/$_n.out")
	eval "${_n}_mbps=$1"
	eval "${_n}_cpu=$(awk -v t=$((_t1 - _t0)) -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? t / 100 / (b / 1073741824) : 0) }')"
	# The per-second rates, to tell a stall from a slow stream.
	echo "NETBLOG $M $_n Mbit/s per second: $(awk '/sec/ && !/sender|receiver/ { for (i = 1; i <= NF; i++)
		if ($i == "Mbits/sec") printf "%s ", $(i - 1); else if ($i == "Gbits/sec") printf "%s ", $(i - 1) * 1000;
		else if ($i == "Kbits/sec") printf "%.2f ", $(i - 1) / 1000 }' "$WORK/$_n.out")"
}
# boot M: start VMM M with the guest on a TAP, wait for its iperf3 server,
# measure, stop it.
boot() {
	M=$1 DPID= QPID=
	case $M in vmm) n=1 ;; qemu) n=2 ;; qemu-vhost) n=3 ;; esac
	H=172.30.$n.1 G=172.30.$n.2 tap=qtap$n
	con=$WORK/$M.console
	rm -f "$WORK/vmm.sock" "$WORK/qemu.pid"
	case $M in
	vmm) "$VMM" -m 512 -c 1 -k "$KERNEL_BZIMAGE" -r "$R" -s "$WORK/vmm.sock" --host-ip "$H" --netmask 30 \
		-p "$P reboot=k" </dev/null >"$con" 2>"$WORK/err" &
	     VPID=$! ;;
	qemu*) vh=off; [ "$M" = qemu-vhost ] && vh=on
	     qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu host -m 512 -smp 1 -name netb,debug-threads=on \
		-nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
		-pidfile "$WORK/qemu.pid" \
		-drive id=root,file="$R",if=none,format=raw,readonly=on -device virtio-blk-device,drive=root \
		-netdev tap,id=n,ifname=$tap,script=no,downscript=no,vhost=$vh -device virtio-net-device,netdev=n \
		-kernel "$KERNEL_BZIMAGE" -append "$P reboot=t root=/dev/vda ro ip=$G::$H:255.255.255.252:::off" \
		</dev/null >"$con" 2>"$WORK/err" &
	     VPID=$! ;;
	esac
	# The guest's iperf3 server is up (at most ~120 s). (The loop
	# counters here and in stop are their own: the rounds loop's i and j
	# are global.)
	_w=0
	until grep -q NETAPP-READY "$con" 2>/dev/null; do
		_w=$((_w + 1))
		if [ $_w -gt 240 ] || ! kill -0 $VPID 2>/dev/null; then
			err "no NETAPP-READY: $(tail -n 5 "$con" "$WORK/err" | tr '\n' ' ')"; stop; return
		fi
		case $M in qemu*)
			# QEMU made the TAP: give L1 its end of the link once.
			if [ -z "$QPID" ] && [ -d /sys/class/net/$tap ] && [ -s "$WORK/qemu.pid" ]; then
				QPID=$(cat "$WORK/qemu.pid")
				ip addr add "$H/30" dev $tap && ip link set $tap up || err "configuring $tap failed"
			fi ;;
		esac
		sleep 0.5
	done
	case $M in
	vmm) DPID=$("$VMM" status "$WORK/vmm.sock" 2>/dev/null |
		sed -n 's/.*"name":"virtio-net [^"]*","pid":\([0-9]*\).*/\1/p')
	     [ -n "$DPID" ] && [ "$DPID" != 0 ] || err "no virtio-net device pid in vmm status" ;;
	*) [ -n "$QPID" ] || { err "QEMU's TAP $tap never appeared"; stop; return; } ;;
	esac
	# RTT: the first echo also resolves the guest's ARP entry; left out.
	ping -c $((PINGS + 1)) -i 0.2 -W 5 "$G" >"$WORK/ping.out" 2>&1
	rtt=$(sed -n 's/.*seq=\([0-9]*\).*time=\([0-9.]*\) ms.*/\1 \2/p' "$WORK/ping.out" |
		awk '$1 > 0 { print $2 }' | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0;
			else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	[ "$rtt" != 0 ] || err "ping: $(tail -n 2 "$WORK/ping.out" | tr '\n' ' ')"
	xfer h2g
	xfer g2h -R
	[ "$M" = vmm ] && echo "NETBLOG vmm counters: $("$VMM" status "$WORK/vmm.sock" 2>/dev/null |
		grep -o '"net":\[.*' | cut -c1-500)"
	echo "NETB $M rtt_ms=$rtt h2g_mbps=$h2g_mbps g2h_mbps=$g2h_mbps h2g_cpu=$h2g_cpu g2h_cpu=$g2h_cpu"
	stop
}
# stop: end the VMM (SIGTERM, then SIGKILL after 20 s) and wait for it.
stop() {
	kill $VPID 2>/dev/null
	_s=0
	while kill -0 $VPID 2>/dev/null && [ $_s -lt 40 ]; do sleep 0.5; _s=$((_s + 1)); done
	kill -9 $VPID 2>/dev/null
	wait $VPID 2>/dev/null
	sed "s/^/NETBERR $M stderr: /" "$WORK/err" | grep -vE 'terminating on signal|received Terminated|link up' | tail -n 3
	# What the next boot starts from: L1's load and any VMM or device
	# process still alive (a leftover would slow every later boot).
	sleep 1
	echo "NETBLOG $M after: load $(cut -d' ' -f1-3 /proc/loadavg), left: $(for _t in /proc/[0-9]*; do
		case $(cat "$_t/comm" 2>/dev/null) in vmm*|qemu*|vhost-*|iperf*) printf '%s:%s ' "${_t#/proc/}" "$(cat "$_t/comm")" ;; esac
	done)"
}
set -- $NET_VMMS
nv=$#
i=0
while [ $i -lt "$ROUNDS" ]; do
	# Rotate the order each round so no VMM always follows the same one.
	j=0
	while [ $j -lt $nv ]; do
		k=$(( (i + j) % nv + 1 ))
		eval "m=\${$k}"
		boot "$m"
		j=$((j + 1))
	done
	i=$((i + 1))
done
EOF

summary() {
	awk '$1 == "NETB" { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[2] + 0 > 0) v[$2, kv[1], ++n[$2, kv[1]]] = kv[2] + 0 }
			nb[$2]++; if (!($2 in seen)) order[++nv] = $2; seen[$2] = 1 }
	function med(m, k,   c, i, j, t, a) {
		c = n[m, k]; if (c == 0) return 0
		for (i = 1; i <= c; i++) a[i] = v[m, k, i]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	}
	END {
		nk = split("h2g_mbps g2h_mbps rtt_ms h2g_cpu g2h_cpu", k, " ")
		printf "%-12s %12s %12s %12s %14s %14s  (medians)\n", "", "L1->guest", "guest->L1", "ping p50", "L1->guest CPU", "guest->L1 CPU"
		printf "%-12s %12s %12s %12s %14s %14s\n", "", "Mbit/s", "Mbit/s", "ms", "s/GiB", "s/GiB"
		for (o = 1; o <= nv; o++) {
			m = order[o]; printf "%-12s", m
			for (j = 1; j <= nk; j++) { md[m, j] = med(m, k[j]); printf (j > 3 ? " %14.2f" : " %12.2f"), md[m, j] }
			printf "  boots=%d\n", nb[m]
		}
		split("qemu qemu-vhost", peers, " ")
		for (p = 1; p <= 2; p++) {
			q = peers[p]
			if (!((q, 1) in md) || !(("vmm", 1) in md)) continue
			printf "vmm / %s: L1->guest %s, guest->L1 %s (higher is better); ping p50 %s, CPU/GiB L1->guest %s, guest->L1 %s (lower is better)\n", q,
				r(md["vmm", 1], md[q, 1]), r(md["vmm", 2], md[q, 2]), r(md["vmm", 3], md[q, 3]),
				r(md["vmm", 4], md[q, 4]), r(md["vmm", 5], md[q, 5])
		}
	}
	function r(a, b) { return (a > 0 && b > 0) ? sprintf("%.2fx", a / b) : "-" }'
}

if e2e_have_hwvirt; then
	echo "bench/net: vmx/svm present: running directly on this host (needs root: TAPs, vhost_net)" >&2
	work=$E2E_RUN/work
	mkdir -p "$work"
	(cd "$work" && VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets WORK=$work \
		ROUNDS=$ROUNDS NET_SECS=$NET_SECS NET_VMMS=$NET_VMMS PINGS=20 sh "$main") >"$work/out" 2>&1
	out=$work/out
else
	img=$E2E_RUN/l1
	l1_image "$img" || exit 1
	cp -r "$assets" "$img/e2e/assets"
	cp "$main" "$img/e2e/main.sh"
	printf 'ROUNDS=%s\nNET_SECS=%s\nNET_VMMS="%s"\nPINGS=20\n' "$ROUNDS" "$NET_SECS" "$NET_VMMS" >>"$img/e2e/env"
	echo stream >"$img/e2e/mode"
	# QEMU and iperf3 at their own paths with their libraries, the
	# firmware microvm loads (as scripts/bench/nested.sh copies them).
	q=$(command -v qemu-system-x86_64)
	copy_dyn "$img" "$q" && copy_dyn "$img" "$IPERF" || e2e_die "copying QEMU or iperf3 into L1 failed"
	ln -sf "$q" "$img/bin/qemu-system-x86_64"
	ln -sf "$IPERF" "$img/bin/iperf3"
	mkdir -p "$img/usr/share/qemu"
	for fw in bios-microvm.bin qboot.rom linuxboot_dma.bin linuxboot.bin pvh.bin; do
		[ -e "/usr/share/qemu/$fw" ] && cp -L "/usr/share/qemu/$fw" "$img/usr/share/qemu/"
	done
	echo "bench/net: booting the nested L1 machine; $ROUNDS rounds of: $NET_VMMS ($NET_SECS s per transfer); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	out=$E2E_RUN/console.log
	: >"$out"
	# Progress watchdog: a boot prints its line within ~2 min of waiting
	# for the guest, two bounded transfers and 20 s of stopping, so a
	# console silent for 450 s means L1 itself stopped.
	l1_quiet_watchdog "$out" 450 net &
	# Each boot: ~2 min at most before its guest answers, 2 transfers, pings.
	{ E2E_QEMU_PIDFILE=$E2E_RUN/qemu.pid l1_boot "$img" $((600 + ROUNDS * 3 * (300 + 2 * NET_SECS))) </dev/null
	  echo $? >"$E2E_RUN/rc"; } | sed -u 's/\r$//' | tee "$out" | grep --line-buffered -E '^NETB' | sed -u 's/^/  run: /' >&2
fi
[ -n "${BENCH_CONSOLE:-}" ] && cp "$out" "$BENCH_CONSOLE"
summary <"$out"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $NET_VMMS; do
	grep -q "^NETB $m " "$out" || {
		echo "bench/net: $m gave no results; console tail:" >&2
		tail -n 30 "$out" >&2
		exit 1
	}
done
