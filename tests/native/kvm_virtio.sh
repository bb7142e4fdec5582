#!/bin/sh
# Native KVM test of the virtio-mmio transport and virtio-blk: the tiny guest
# tests/guests/virtio_blk.c sets up virtqueue 0 by hand, reads sector 0 and
# writes sector 1 through the ring (virtio 1.2 §2.7, §4.2.3, §5.2.6), under
# vmm on this host's /dev/kvm, or in the nested L1 machine without a working
# one (tests/native/lib/kvm.sh). One PASS/FAIL line per case.
#
#   tests/native/kvm_virtio.sh          (O=build, VMM=$O/vmm by default)
# timeout: 600
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
VMM=${VMM:-$O/vmm}
G=$O/guests
S=kvm_virtio
T=${KVM_GUEST_TIMEOUT:-60}
. tests/native/lib/kvm.sh
native_kvm_enter "$S"
if [ ! -x "$VMM" ]; then
	echo "FAIL $S/build_guest: $VMM is not built (run make)"
	exit 1
fi

W=$(mktemp -d)
holder=
trap '[ -z "$holder" ] || kill -KILL "$holder" 2>/dev/null; rm -rf "$W"' EXIT INT TERM

pass() { echo "PASS $S/$1"; }
fail() {
	echo "FAIL $S/$1: $2"
	for f in "$W/out" "$W/err"; do
		[ -s "$f" ] && tail -8 "$f" | sed "s|^|    $(basename "$f")> |"
	done
	return 0
}

# Built by the tiny-guest framework's rules (tests/guests/build.mk).
native_build "$S" build_guest tests/guests/build.mk "$G/virtio_blk.elf" "$G/hello.elf" "$G/halt.elf" || exit 1
GUEST=$G/virtio_blk.elf

run() {
	native_timeout "$T" "$VMM" -k "$GUEST" "$@" </dev/null >"$W/out" 2>"$W/err"
	rc=$?
}

expect_rc() {
	[ "$rc" -eq "$2" ] && return 0
	if [ "$rc" -eq 124 ]; then
		fail "$1" "vmm did not exit within ${T}s (want exit $2)"
	else
		fail "$1" "vmm exited $rc, want $2"
	fi
	return 1
}

# An 8-sector image: a marker in sector 0, dots to the end of it, zeros after.
MARK="appvm-virtio-marker-$$"
mkimg() {
	{ printf '%s' "$MARK"; head -c $((512 - ${#MARK})) /dev/zero | tr '\0' '.'; head -c 3584 /dev/zero; } >"$1"
}

# --- read + write through the ring -------------------------------------------
mkimg "$W/disk.img"
run -d "$W/disk.img" --no-rng
if expect_rc blk_read 0; then
	if ! grep -q "^read status: 0 len 513" "$W/out"; then
		fail blk_read "the read did not complete with VIRTIO_BLK_S_OK and 513 bytes used"
	elif ! grep -q "^sector0: $MARK" "$W/out"; then
		fail blk_read "sector 0 as read by the guest does not start with the marker"
	elif ! grep -qx "capacity: 8" "$W/out"; then
		fail blk_read "config space capacity is not 8 sectors"
	elif ! grep -qx "isr: 0x1" "$W/out"; then
		fail blk_read "InterruptStatus did not show a used buffer"
	else
		pass blk_read
	fi
fi
if grep -q "^write status: 0 len 1" "$W/out" &&
	dd if="$W/disk.img" bs=512 skip=1 count=1 2>/dev/null | grep -q "written by the appvm virtio-blk test guest"; then
	pass blk_write
else
	fail blk_write "the guest's write of sector 1 did not reach the image"
fi

# --- hostile driver: NEEDS_RESET, then a reset recovers -------------------------
# (same run) 0x4f = ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK|DEVICE_NEEDS_RESET.
if grep -Eq "^loop status: 0x4f used 0 isr 0x[23]$" "$W/out"; then
	pass descriptor_loop_needs_reset
else
	fail descriptor_loop_needs_reset "want 'loop status: 0x4f used 0 isr 0x2/0x3' (NEEDS_RESET, nothing used, config interrupt), got: $(grep '^loop status' "$W/out")"
fi
if grep -qx "bad ring status: 0x4f" "$W/out"; then
	pass ring_outside_ram_needs_reset
else
	fail ring_outside_ram_needs_reset "want 'bad ring status: 0x4f', got: $(grep '^bad ring' "$W/out")"
fi
if grep -qx "recovered read status: 0 len 513" "$W/out"; then
	pass reset_recovers
else
	fail reset_recovers "after the resets a read did not complete: $(grep '^recovered' "$W/out")"
fi

# --- a read-only disk refuses writes with IOERR, image unchanged ---------------
mkimg "$W/ro.img"
cp "$W/ro.img" "$W/ro.orig"
run -d "$W/ro.img,ro" --no-rng
if expect_rc ro_disk_refuses_write 0; then
	if ! grep -q "^write status: 1 " "$W/out"; then
		fail ro_disk_refuses_write "write to a ,ro disk did not return VIRTIO_BLK_S_IOERR"
	elif ! cmp -s "$W/ro.img" "$W/ro.orig"; then
		fail ro_disk_refuses_write "the read-only image changed"
	else
		pass ro_disk_refuses_write
	fi
fi

# --- -r: the kernel command line names the root ------------------------------
# The framework's hello guest echoes the command line it received.
mkimg "$W/root.img"
native_timeout "$T" "$VMM" -k "$G/hello.elf" -r "$W/root.img" </dev/null >"$W/out" 2>"$W/err"
rc=$?
if expect_rc root_cmdline 0; then
	line=$(grep '^cmdline: ' "$W/out")
	case " $line " in
	*" virtio_mmio.device=4K@0xd0000000:"*" root=/dev/vda ro "*) pass root_cmdline ;;
	*) fail root_cmdline "no 'virtio_mmio.device=4K@0xd0000000:… root=/dev/vda ro' in: $line" ;;
	esac
fi

# --- rng: on by default in the window after the disk, off with --no-rng -------
run -d "$W/disk.img"
if expect_rc rng_default 0; then
	if grep -qx "virtio: slot 0 id 2" "$W/out" && grep -qx "virtio: slot 1 id 4" "$W/out"; then
		pass rng_default
	else
		fail rng_default "want virtio-blk (id 2) in slot 0 and virtio-rng (id 4) in slot 1"
	fi
fi
run -d "$W/disk.img" --no-rng
if expect_rc no_rng 0; then
	if grep -q "id 4" "$W/out"; then
		fail no_rng "a virtio-rng window exists with --no-rng"
	else
		pass no_rng
	fi
fi

# --- bad images --------------------------------------------------------------
# bad_image CASE WHAT PATTERN [STATUS]: vmm exited STATUS (default 2, bad
# input, docs/DEVELOPING.md) with one error line matching PATTERN.
bad_image() {
	if [ "$rc" -ne "${4:-2}" ]; then
		fail "$1" "vmm exited $rc for $2, want ${4:-2}"
	elif [ "$(wc -l <"$W/err")" -ne 1 ] || ! grep -q "$3" "$W/err"; then
		fail "$1" "want exactly one error line naming $3"
	else
		pass "$1"
	fi
}
run -d "$W/does-not-exist.img"
bad_image missing_image "a missing disk image" "does-not-exist.img"
mkdir -p "$W/adir"
run -r "$W/adir"
bad_image directory_image "a directory as root image" "adir.*not a regular file"

# --- image locks: a writable image is exclusive, read-only ones share -------
# The lock is held by a second vmm running the halting guest with the image,
# as two VMs would (and busybox in the nested machine has no flock).
# hold_image SPEC: start the holder and wait until its guest runs (vmm has
# opened and locked its disks by then); release_image ends it.
hold_image() {
	"$VMM" -k "$G/halt.elf" -d "$1" --no-rng </dev/null >"$W/holder.out" 2>"$W/holder.err" &
	holder=$!
	native_wait_line "$W/holder.out" '^halt: halting' "$holder" "$T"
}
release_image() { native_kill_vmm "$holder"; }
mkimg "$W/locked.img"
hold_image "$W/locked.img"
run -d "$W/locked.img" --no-rng
# Not a fault of this command line but a conflict with another VM: still
# status 2, with a line naming the image.
bad_image locked_image "an image locked by another process" "locked.img: in use by another process" 2
release_image
hold_image "$W/locked.img,ro"
run -d "$W/locked.img,ro" --no-rng
if ! grep -q '^halt: halting' "$W/holder.out"; then
	fail shared_ro_image "the holder VM with the ,ro image did not start: $(cat "$W/holder.err")"
elif expect_rc shared_ro_image 0; then
	if grep -q "^read status: 0 len 513" "$W/out"; then
		pass shared_ro_image
	else
		fail shared_ro_image "a ,ro disk shared with another reader did not read"
	fi
fi
release_image

head -c 1000 /dev/zero >"$W/odd.img"
run -d "$W/odd.img" --no-rng
if expect_rc odd_size_image 0; then
	if grep -q "odd.img.*not a multiple of 512" "$W/err" && grep -qx "capacity: 2" "$W/out"; then
		pass odd_size_image
	else
		fail odd_size_image "no size warning or capacity not rounded up to 2 sectors"
	fi
fi
