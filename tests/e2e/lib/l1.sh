# Shared by tests/e2e/run, scripts/demo.sh and scripts/bench/nested.sh
# (sourced, POSIX sh). Builds and boots the nested "L1" machine: QEMU TCG
# with emulated AMD SVM running the Debian cloud kernel, whose kvm-amd gives
# our vmm a working /dev/kvm one level down (see docs/E2E.md for why).
#
# E2E_ARCH=aarch64 builds and boots the nested arm64 machine instead:
# qemu-system-aarch64 TCG, -M virt,virtualization=on,gic-version=3 -cpu max
# (emulated EL2), Debian's cloud arm64 kernel (KVM built in) from the cache
# scripts/setup-deps.sh unpacks it into, the arm64 busybox from there too,
# and O's arm64 binaries (docs/ARM64.md).
#
# Before sourcing, set SRC (repo root) and O (build dir). Tunables:
#   E2E_L1_MEM     L1 RAM in MiB (default 4608: a scenario gives L2 3584 MiB)
#   E2E_L1_SMP     L1 vCPUs (default 2)
#   E2E_L1_KVER    the x86_64 L1 kernel version (default: the newest
#                  /boot/vmlinuz-*-cloud-amd64), e.g. 6.1.0-50-cloud-amd64
#   E2E_L1_SYMS    a /proc/kallsyms copy for naming a wedged L1's RIPs (l1_vcpus)
#   E2E_KERNEL_DIR use vmlinux/bzImage from here instead of
#                  toolchain/kernel/build.sh (which builds or reuses its cache)
#   L1_GUEST_KERNELS  0: l1_image leaves out the guest kernels (appliance and
#                  cloud) (default 1)

E2E_L1_MEM=${E2E_L1_MEM:-4608}
E2E_L1_SMP=${E2E_L1_SMP:-2}
E2E_ARCH=${E2E_ARCH:-x86_64}
# The arm64 packages setup-deps.sh unpacks instead of installing.
E2E_ARM64=${APPVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appvm}/arm64
case "$E2E_ARCH" in
x86_64) E2E_BUSYBOX=/bin/busybox; E2E_KIMAGE=bzImage; E2E_QEMU=qemu-system-x86_64 ;;
aarch64) E2E_BUSYBOX=$E2E_ARM64/bin/busybox; E2E_KIMAGE=Image; E2E_QEMU=qemu-system-aarch64
	MUSL_CC=${MUSL_CC:-aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs} ;;
*) echo "e2e: E2E_ARCH=$E2E_ARCH: x86_64 or aarch64" >&2; exit 2 ;;
esac
export E2E_ARCH E2E_BUSYBOX

e2e_die() { echo "e2e: $*" >&2; exit 1; }

# Host has hardware virtualization for the target: run scenarios directly, no L1.
e2e_have_hwvirt() { [ "$E2E_ARCH" = x86_64 ] && grep -qwE 'vmx|svm' /proc/cpuinfo; }

# e2e_scenario_arch FILE: 0 when the scenario runs on E2E_ARCH. A scenario
# names the architectures it runs on in a "# arch: x86_64 aarch64" line;
# without one it is x86_64 only.
e2e_scenario_arch() {
	_a=$(sed -n 's/^# arch: *//p' "$1" | head -n 1)
	case " ${_a:-x86_64} " in *" $E2E_ARCH "*) return 0 ;; esac
	return 1
}

# e2e_find_cloud: CLOUD_KVER, CLOUD_BZIMAGE_HOST, CLOUD_MODDIR_HOST from the
# installed linux-image-cloud-amd64 (newest if several).
e2e_find_cloud() {
	if [ "$E2E_ARCH" = aarch64 ]; then
		# The arm64 L1 kernel (an uncompressed Image with KVM built in);
		# the arm64 scenarios boot only the appliance kernel as L2.
		CLOUD_BZIMAGE_HOST=$(ls "$E2E_ARM64"/boot/vmlinuz-*-cloud-arm64 2>/dev/null | sort -V | tail -n 1)
		[ -n "$CLOUD_BZIMAGE_HOST" ] ||
			e2e_die "no $E2E_ARM64/boot/vmlinuz-*-cloud-arm64 (run scripts/setup-deps.sh)"
		CLOUD_KVER=${CLOUD_BZIMAGE_HOST##*/vmlinuz-}
		CLOUD_MODDIR_HOST=$E2E_ARM64/lib/modules/$CLOUD_KVER
		return 0
	fi
	CLOUD_BZIMAGE_HOST=$(ls /boot/vmlinuz-${E2E_L1_KVER:-*-cloud-amd64} 2>/dev/null | sort -V | tail -n 1)
	[ -n "$CLOUD_BZIMAGE_HOST" ] ||
		e2e_die "no /boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64; run scripts/setup-deps.sh)"
	CLOUD_KVER=${CLOUD_BZIMAGE_HOST#/boot/vmlinuz-}
	CLOUD_MODDIR_HOST=/lib/modules/$CLOUD_KVER
	[ -f "$CLOUD_MODDIR_HOST/modules.dep" ] || e2e_die "$CLOUD_MODDIR_HOST/modules.dep missing"
}

# e2e_tools: the small static helpers, built with musl-gcc into $O/e2e/
# (never into the tree): tools the L1 machine runs and the test guests' own.
e2e_tools() {
	mkdir -p "$O/e2e" || return 1
	# musl-gcc sees kernel UAPI headers only through $O/uapi (Makefile rule).
	make -s -C "$SRC" O="$O" ARCH="$E2E_ARCH" "$O/uapi/.stamp" >/dev/null || e2e_die "cannot create $O/uapi"
	for c in "$SRC"/tests/e2e/l1/*.c "$SRC"/tests/e2e/guest/*.c; do
		[ -f "$c" ] || continue
		b=$O/e2e/$(basename "$c" .c)
		[ -x "$b" ] && [ "$b" -nt "$c" ] && continue
		# Build aside and rename: concurrent runs share $O/e2e. With a GNU
		# build-id: crash reports name modules by it (agent_crash).
		${MUSL_CC:-musl-gcc} -std=gnu11 -Wall -Wextra -Werror -Os -static -Wl,--build-id -isystem "$O/uapi" \
			-o "$b.tmp.$$" "$c" && mv -f "$b.tmp.$$" "$b" || { rm -f "$b.tmp.$$"; e2e_die "building $c failed"; }
	done
}

# e2e_rundir PREFIX: a private scratch directory under $O/e2e in E2E_RUN
# (several runs may share one checkout), removed when the script exits
# unless E2E_KEEP=1.
e2e_rundir() {
	mkdir -p "$O/e2e" || return 1
	E2E_RUN=$(mktemp -d "$O/e2e/$1.XXXXXX") || e2e_die "cannot create a scratch directory in $O/e2e"
	[ "${E2E_KEEP:-0}" = 1 ] || trap 'rm -rf "$E2E_RUN"' EXIT
	trap 'exit 130' INT TERM
}

# e2e_kernel: the appliance kernel into $O/kernel (cached by build.sh).
e2e_kernel() {
	if [ -n "${E2E_KERNEL_DIR:-}" ]; then
		mkdir -p "$O/kernel"
		# build.sh hard-links its cache here: never write through those links.
		rm -f "$O/kernel/vmlinux" "$O/kernel/$E2E_KIMAGE"
		cp "$E2E_KERNEL_DIR/vmlinux" "$E2E_KERNEL_DIR/$E2E_KIMAGE" "$O/kernel/" ||
			e2e_die "E2E_KERNEL_DIR=$E2E_KERNEL_DIR has no vmlinux/$E2E_KIMAGE"
	else
		"$SRC/toolchain/kernel/build.sh" "$O/kernel" "$E2E_ARCH" || e2e_die "appliance kernel build failed"
	fi
}

# e2e_assets OUTDIR [NAME...]: run the host-side asset scripts (all, or only
# the named ones; those of E2E_ARCH, by their "# arch:" line), each with O, ASSETS, SRC, E2E_TOOLS and the kernel paths.
# A failing script does not stop the others (the scenarios needing its files
# fail on their own): it is reported as "FAIL e2e/asset:<name>: ..." with the
# tail of its output, and e2e_assets returns 1.
e2e_assets() {
	_out=$1; shift
	_rc=0
	mkdir -p "$_out"
	for a in "$SRC"/tests/e2e/assets/*.sh; do
		[ -f "$a" ] && e2e_scenario_arch "$a" || continue
		n=$(basename "$a" .sh)
		if [ $# -gt 0 ]; then
			case " $* " in *" $n "*) ;; *) continue ;; esac
		fi
		_log=$_out/.asset-$n.log
		if ! O=$O ASSETS=$_out ASSETS_BULK=${ASSETS_BULK:-} SRC=$SRC E2E_TOOLS=$O/e2e \
			KERNEL_VMLINUX=$O/kernel/vmlinux KERNEL_BZIMAGE=$O/kernel/$E2E_KIMAGE \
			CLOUD_BZIMAGE=$CLOUD_BZIMAGE_HOST CLOUD_MODDIR=$CLOUD_MODDIR_HOST \
			sh "$a" >"$_log" 2>&1; then
			tail -n 20 "$_log" | sed 's/^/    | /'
			echo "FAIL e2e/asset:$n: tests/e2e/assets/$n.sh failed"
			_rc=1
		fi
		rm -f "$_log"
	done
	return $_rc
}

# Modules of the cloud kernel that L2 guests (and scenarios) may want, with
# their dependencies resolved by depmod in the image.
E2E_CLOUD_MODS="virtio virtio_ring virtio_mmio virtio_blk virtio_net virtio_console \
virtio_rng squashfs overlay vsock vmw_vsock_virtio_transport vmw_vsock_virtio_transport_common \
vhost_vsock virtio_pci tun bridge vhost_net"

# l1_oopsed CONSOLE NONCE: print the L1 kernel's own oops and panic lines in
# CONSOLE: those the kernel printed there itself (KERN_EMERG ones) and the
# KOOPS lines of L1's /init, which reads the rest from dmesg. What L2
# guests and scenarios print comes as "@E2E:... LOG|OUT" and never
# matches. Status 0 when there is one. Soft-lockup reports are not oopses:
# a busy TCG host causes them and they pass.
l1_oopsed() {
	tr -d '\r' <"$1" 2>/dev/null | grep -a -E \
		-e '^\[ *[0-9.]+\] (BUG: |Oops: |general protection fault|kernel BUG at|Kernel panic)' \
		-e "^@E2E:$2: KOOPS " | grep -a -v 'soft lockup'
}

# l1_quiet_watchdog OUT SECS TAG [POSTMORTEM]: the benchmarks' progress
# watchdog, run in the background while l1_boot writes L1's console to OUT:
# a console silent for SECS means L1 itself stopped (docs/E2E.md), so kill
# that QEMU (by $E2E_RUN/qemu.pid, nothing else; with POSTMORTEM, record its
# state there first). Ends when $E2E_RUN/rc appears or $E2E_RUN is gone
# (the script exited: the watchdog holds its fds, the nested lock too).
l1_quiet_watchdog() {
	_last=0; _since=$(date +%s)
	while [ -d "$E2E_RUN" ] && [ ! -f "$E2E_RUN/rc" ]; do
		sleep 5
		_size=$(stat -c %s "$1" 2>/dev/null || echo 0)
		if [ "$_size" != "$_last" ]; then _last=$_size; _since=$(date +%s); continue; fi
		if [ $(( $(date +%s) - _since )) -gt "$2" ]; then
			_pid=$(cat "$E2E_RUN/qemu.pid" 2>/dev/null)
			echo "bench/$3: L1 printed nothing for $2 s: killing it (qemu pid ${_pid:-?}${4:+; stacks in $4})" >&2
			[ -n "${4:-}" ] && l1_postmortem "$_pid" "$4"
			[ -n "$_pid" ] && [ "$_pid" -gt 1 ] && kill "$_pid" 2>/dev/null
			return
		fi
	done
}

# l1_postmortem PID OUT CONSOLE: before a stuck L1's QEMU is killed, record whether
# it was spinning or idle (CPU ticks over 2 s) and every QEMU thread's stack
# (gdb, at most 60 s), to tell a TCG deadlock from a guest that spins, and
# where each vCPU is (l1_vcpus; CONSOLE is L1's console log so far).
# Never fails.
l1_postmortem() {
	[ -n "$1" ] && [ "$1" -gt 1 ] && [ -r "/proc/$1/stat" ] || return 0
	{
		_t0=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
		sleep 2
		_t1=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo "$_t0")
		echo "== $(date -u '+%F %T') qemu pid $1: $((_t1 - _t0)) CPU ticks in 2 s (2 vCPUs spinning: ~400)"
		command -v gdb >/dev/null && timeout 60 gdb -p "$1" -batch -ex 'thread apply all bt 12' 2>&1 |
			grep -E '^(Thread|#)'
		l1_vcpus "${E2E_QEMU_MONITOR:-}" "${3:-}"
	} >>"$2" 2>&1
	return 0
}

# l1_vcpus MONITOR CONSOLE: where each L1 vCPU is (QEMU's "info registers
# -a" over the monitor socket, three samples), its RIP named from the L1
# kernel's symbols (L1 boots nokaslr) or, in a module, from the module list
# L1 printed (KMOD lines in CONSOLE). The symbols: E2E_L1_SYMS, a
# /proc/kallsyms copy from an L1 of the same kernel (docs/E2E.md), else
# the kernel's System.map, which Debian ships as a stub. Tells which loop a wedged L1 spins in.
l1_vcpus() {
	[ -S "${1:-}" ] && command -v python3 >/dev/null || return 0
	timeout 60 python3 - "$1" "${E2E_L1_SYMS:-/boot/System.map-$CLOUD_KVER}" "${2:-/dev/null}" <<'PY'
import bisect, re, socket, sys, time
mon, smap, console = sys.argv[1:4]
syms = []
try:
    for l in open(smap):
        f = l.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
except OSError:
    pass
# "KMOD name size refs deps state 0xaddr" lines L1's /init printed.
mods = []
for l in open(console, errors="replace"):
    m = re.search(r"KMOD (\S+) (\d+) .* (0x[0-9a-f]+)", l)
    if m:
        mods.append((int(m.group(3), 16), int(m.group(2)), m.group(1)))
syms.sort()
keys = [a for a, _ in syms]
def name(rip):
    for base, size, mod in mods:
        if base <= rip < base + size:
            return "%s+0x%x (module)" % (mod, rip - base)
    i = bisect.bisect_right(keys, rip) - 1
    return "%s+0x%x" % (syms[i][1], rip - syms[i][0]) if i >= 0 and rip - syms[i][0] < 0x100000 else None
for sample in range(3):
    s = socket.socket(socket.AF_UNIX)
    s.connect(mon)
    s.settimeout(3)
    s.sendall(b"info registers -a\n")
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    s.close()
    for l in out.decode("latin-1").replace("\r", "").splitlines():
        if re.match(r"^(CPU#|RIP|CS |CR0|EFER)", l):
            print(l)
        m = re.match(r"^RIP=([0-9a-f]+)", l)
        if m and name(int(m.group(1), 16)):
            print("  = " + name(int(m.group(1), 16)))
    time.sleep(1)
PY
	return 0
}

# l1_image DIR: the common L1 root: busybox, KVM modules, /init, our binaries,
# the guest kernels, the cloud kernel's module subset, /e2e/env.
l1_image() {
	_img=$1
	rm -rf "$_img"
	mkdir -p "$_img/bin" "$_img/sbin" "$_img/proc" "$_img/sys" "$_img/dev" "$_img/tmp" \
		"$_img/lib/modules/l1" "$_img/e2e/bin" "$_img/e2e/kernel" "$_img/e2e/cloud" || return 1
	[ -x "$E2E_BUSYBOX" ] || e2e_die "$E2E_BUSYBOX missing (busybox-static; scripts/setup-deps.sh)"
	file -L "$E2E_BUSYBOX" | grep -q 'statically linked' || e2e_die "$E2E_BUSYBOX is not static (install busybox-static)"
	cp "$E2E_BUSYBOX" "$_img/bin/busybox"
	for app in $(e2e_busybox_list); do
		[ "$app" = busybox ] || ln -s busybox "$_img/bin/$app"
	done
	# arm64: Debian's cloud kernel has KVM built in (CONFIG_KVM=y).
	[ "$E2E_ARCH" = aarch64 ] ||
	for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko; do
		cp "$CLOUD_MODDIR_HOST/kernel/$m" "$_img/lib/modules/l1/" || e2e_die "missing $m in $CLOUD_MODDIR_HOST"
	done
	cp "$SRC/tests/e2e/l1/init" "$_img/init" && chmod 755 "$_img/init"
	cp -r "$SRC/tests/e2e/lib" "$_img/e2e/lib"

	# Our static release binaries: the top-level executables of $O, and
	# $O/guest/ and $O/e2e/ whole. Dynamic ones could not run in L1.
	for f in "$O"/* "$O"/guest/* "$O"/e2e/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		if ! file -L "$f" | grep -qE 'statically linked|static-pie linked'; then
			case "$f" in "$O"/guest/*|"$O"/e2e/*) e2e_die "$f is not statically linked" ;; esac
			continue
		fi
		rel=${f#"$O"/}
		mkdir -p "$_img/e2e/bin/$(dirname "$rel")"
		cp "$f" "$_img/e2e/bin/$rel"
	done

	if [ "${L1_GUEST_KERNELS:-1}" != 0 ] && [ "$E2E_ARCH" = aarch64 ]; then
	# arm64 L2 guests boot the appliance Image only (vmm's arm64 loader
	# takes no ELF): KERNEL_VMLINUX names it too, so scenarios run unchanged.
	cp "$O/kernel/Image" "$_img/e2e/kernel/" || return 1
	ln -sf Image "$_img/e2e/kernel/vmlinux"
	ln -sf Image "$_img/e2e/kernel/bzImage"
	elif [ "${L1_GUEST_KERNELS:-1}" != 0 ]; then
	cp "$O/kernel/vmlinux" "$O/kernel/bzImage" "$_img/e2e/kernel/" || return 1
	cp "$CLOUD_BZIMAGE_HOST" "$_img/e2e/cloud/bzImage"
	fi
	# The cloud kernel's module subset, for L1 itself (tun and bridge for
	# the net scenarios and the hostile suite's net cases) and for
	# scenarios booting the cloud kernel as L2.
	if [ "$E2E_ARCH" = x86_64 ]; then
	_md=$_img/lib/modules/$CLOUD_KVER
	mkdir -p "$_md"
	for p in $(modprobe -a -S "$CLOUD_KVER" --show-depends $E2E_CLOUD_MODS 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' | sort -u); do
		mkdir -p "$_md/$(dirname "${p#"$CLOUD_MODDIR_HOST"/}")"
		cp "$p" "$_md/${p#"$CLOUD_MODDIR_HOST"/}"
	done
	cp "$CLOUD_MODDIR_HOST/modules.order" "$CLOUD_MODDIR_HOST/modules.builtin" "$CLOUD_MODDIR_HOST/modules.builtin.modinfo" "$_md/" 2>/dev/null
	depmod -b "$_img" "$CLOUD_KVER" || e2e_die "depmod on the L1 module subset failed"
	fi

	cat >"$_img/e2e/env" <<EOF
PATH=/bin:/sbin:/e2e/bin/e2e
VMM=/e2e/bin/vmm
BIN=/e2e/bin
KERNEL_VMLINUX=/e2e/kernel/vmlinux
KERNEL_BZIMAGE=/e2e/kernel/bzImage
CLOUD_BZIMAGE=/e2e/cloud/bzImage
CLOUD_MODDIR=/lib/modules/$CLOUD_KVER
ASSETS=/e2e/assets
E2E_LIB=/e2e/lib
ASSETS_BULK=/e2e/bulk
E2E_NESTED=1
EOF
	_nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	[ -n "$_nonce" ] || _nonce=$(date +%s%N)$$
	echo "$_nonce" >"$_img/e2e/nonce"
	echo scenarios >"$_img/e2e/mode"
}

# e2e_busybox_list: the applets of E2E_BUSYBOX (arm64's run under qemu-user).
e2e_busybox_list() {
	if [ "$E2E_ARCH" = aarch64 ]; then qemu-aarch64-static "$E2E_BUSYBOX" --list; else "$E2E_BUSYBOX" --list; fi
}

# l1_bulk_disk DIR IMG: when DIR (the asset scripts' $ASSETS_BULK) holds
# anything, make IMG an ext4 image of it; l1_boot then gives it to L1 as a
# read-only virtio disk that /init mounts at /e2e/bulk. Bulk data stays out
# of L1's RAM and out of the initramfs copy. Returns 1 if DIR is empty.
l1_bulk_disk() {
	[ -n "$(ls -A "$1" 2>/dev/null)" ] || return 1
	_kb=$(du -sk "$1" | cut -f1)
	rm -f "$2"
	mkfs.ext4 -q -F -O ^has_journal -L e2ebulk -d "$1" "$2" "$(( _kb + _kb / 5 + 16384 ))k" ||
		e2e_die "mkfs.ext4 of the bulk disk from $1 failed"
}

# l1_boot DIR TIMEOUT_SECONDS [BULK_IMG]: pack DIR (uncompressed: nothing to inflate
# under TCG) and boot it. L1's serial console is this function's stdout and,
# when stdin is a terminal, its input. no_timer_check: on a loaded host
# QEMU's emulated PIT can miss the ticks Linux's check_timer waits for, and
# L1 panicked ("IO-APIC + timer doesn't work!") before its /init. Returns QEMU's status, 124 when the
# host-side timeout killed a hung L1.
l1_boot() {
	_disk=
	rm -f "$1/e2e/bulk-disk"
	if [ -n "${3:-}" ]; then
		_disk="-drive file=$3,if=virtio,format=raw,readonly=on"
		: >"$1/e2e/bulk-disk"
	fi
	"$SRC/scripts/mkinitramfs.sh" -n "$1" "$1.cpio" || return 1
	if [ "$E2E_ARCH" = aarch64 ]; then
		# virtualization=on: EL2 for L1's KVM (VHE with -cpu max); the
		# console is the virt board's PL011.
		# shellcheck disable=SC2086 # _disk is empty or one option pair
		timeout -k 10 "$2" qemu-system-aarch64 $_disk -nodefaults -no-user-config \
			${E2E_QEMU_PIDFILE:+-pidfile "$E2E_QEMU_PIDFILE"} \
			-M virt,virtualization=on,gic-version=3 -accel tcg,thread=multi -smp "$E2E_L1_SMP" -cpu max \
			-m "$E2E_L1_MEM" -display none -serial stdio -monitor none -no-reboot \
			-kernel "$CLOUD_BZIMAGE_HOST" -initrd "$1.cpio" \
			-append "console=ttyAMA0 panic=-1 quiet mitigations=off"
		return
	fi
	# The monitor is only for l1_postmortem's register dump.
	_mon=none
	[ -n "${E2E_QEMU_MONITOR:-}" ] && _mon=unix:$E2E_QEMU_MONITOR,server=on,wait=off
	# shellcheck disable=SC2086 # _disk is empty or one option pair
	timeout -k 10 "$2" qemu-system-x86_64 $_disk -nodefaults -no-user-config \
		${E2E_QEMU_PIDFILE:+-pidfile "$E2E_QEMU_PIDFILE"} \
		-accel tcg,thread=multi -smp "$E2E_L1_SMP" -cpu max,+svm -m "$E2E_L1_MEM" \
		-display none -vga none -serial stdio -no-reboot \
		-monitor "$_mon" \
		-kernel "$CLOUD_BZIMAGE_HOST" -initrd "$1.cpio" \
		-append "console=ttyS0 panic=-1 quiet mitigations=off no_timer_check nokaslr"
}
