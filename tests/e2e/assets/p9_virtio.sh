# Host-side asset for the p9_virtio_* scenarios: $ASSETS/p9v/root.sqfs, an
# appliance root with our init as /sbin/init (it mounts the shares from
# init.mount=TAG:DIR:9p:trans=virtio,...) and /bin/p9app, which works on
# the mounted shares through the guest kernel's v9fs client over vmm's
# virtio-9p device and reports "E2E-GUEST: KEY=VALUE" lines. The scenario
# (in L1) checks each result on the host directory itself.
#   p9app rw      /mnt/data: read a host file, write, mkdir, rename, chmod,
#                 a 2.5 MiB copy; then every way out of the share through
#                 symlinks to /, ../.. and the host path
#   p9app ro      /mnt/ro: reads work, every write is refused
#   p9app marker WORD   write WORD into /mnt/data/WORD, wait, list /mnt/data
#   p9app grant   wait for a run-time grant "late" to appear in /mnt/root,
#                 read and write it, wait for its revocation
#   p9app bench   p9check seq and meta on /mnt/data, 3 rounds, one "BENCH
#                 write_mibs=.. read_mibs=.. meta_ops=.." line each
#                 (scripts/bench/p9v.sh; never asserted)
#   p9app stress NAME...  Debian's stress-ng file-system stressors on /mnt/data, one
#                 at a time, each bounded by ops and seconds, with --verify
# stress-ng (scripts/setup-deps.sh) is dynamic: its libraries come along at
# their own paths.
set -eu
. "$SRC/tests/e2e/lib/guestfs.sh"
command -v mksquashfs >/dev/null || { echo "p9_virtio: mksquashfs missing (squashfs-tools)" >&2; exit 1; }
[ -x "$O/guest/init" ] || { echo "p9_virtio: $O/guest/init not built (make)" >&2; exit 1; }
out=$ASSETS/p9v
mkdir -p "$out"
root=$out/root
guestfs_busybox "$root"
cp "$O/guest/init" "$root/sbin/init"
cp "$E2E_TOOLS/p9check" "$root/bin/p9check"
mkdir -p "$root/mnt/data" "$root/mnt/ro" "$root/mnt/late" "$root/mnt/root"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
sng=$(command -v stress-ng) || { echo "p9_virtio: stress-ng missing (scripts/setup-deps.sh)" >&2; exit 1; }
mkdir -p "$root/usr/bin"
cp "$sng" "$root/usr/bin/stress-ng"
for lib in $(ldd "$sng" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cat >"$root/bin/p9app" <<'APP'
#!/bin/sh
r() { echo "E2E-GUEST: $1=$2"; }
# check NAME COMMAND...: NAME=ok when it succeeds, else NAME=fail:output
check() { n=$1; shift; if timeout -s KILL 60 "$@" >/tmp/check.out 2>&1; then r "$n" ok; else r "$n" "fail:$(tr '\n ' '__' </tmp/check.out | head -c 200)"; fi; }
D=/mnt/data
r mounts "$(awk '$3 == "9p" { printf "%s:%s,", $1, $2 }' /proc/mounts)"
case "$1" in
rw)
	r fromhost "$(cat $D/fromhost)"
	echo "guest wrote this" >$D/fromguest
	check mkdir mkdir -p $D/dir/sub
	check rename mv $D/fromguest $D/dir/moved
	check chmod chmod 0750 $D/dir/moved
	check bigcopy sh -c "dd if=/dev/urandom of=/tmp/big bs=65536 count=40 2>/dev/null && cp /tmp/big $D/big && cmp /tmp/big $D/big"
	r big_sha "$(sha256sum /tmp/big | cut -d' ' -f1)"
	check mknod_dev_refused sh -c "! mknod $D/nul c 1 3"
	# Escapes: links the guest makes point anywhere, but the guest kernel
	# follows them in the guest's own tree, and the server never follows
	# one: nothing outside the share (here: ../outside/secret, and the
	# host's absolute path $2) may ever be read or written.
	ln -s / $D/to_root
	ln -s ../.. $D/to_upup
	ln -s ../outside $D/to_outside
	ln -s "$2/outside/secret" $D/to_hostpath
	for p in to_root/outside/secret to_upup/outside/secret to_outside/secret to_hostpath \
		../outside/secret dir/../../outside/secret; do
		cat "$D/$p" 2>/dev/null
		stat -L "$D/$p" >/dev/null 2>&1 && cat "$(readlink -f "$D/$p")" 2>/dev/null
	done >/tmp/leak
	echo overwritten >$D/to_hostpath 2>/dev/null
	mv $D/dir/moved $D/to_outside/moved 2>/dev/null
	ln $D/to_hostpath $D/hardlink 2>/dev/null
	cat $D/hardlink >>/tmp/leak 2>/dev/null
	r leaked "$(grep -c SECRET /tmp/leak)"
	r links "$(readlink $D/to_upup),$(readlink $D/to_outside)"
	;;
ro)
	r ro_read "$(cat /mnt/ro/r)"
	check ro_write_refused sh -c "! echo x >>/mnt/ro/r"
	check ro_create_refused sh -c "! touch /mnt/ro/new"
	check ro_unlink_refused sh -c "! rm -f /mnt/ro/r"
	check ro_mkdir_refused sh -c "! mkdir /mnt/ro/d"
	r ro_errno "$(touch /mnt/ro/new2 2>&1 | grep -o 'Read-only file system' | head -n 1 | tr ' ' _)"
	;;
marker)
	echo "$2" >$D/"$2"
	sleep 3
	r listing "$(ls $D | tr '\n' ',')"
	;;
grant)
	# /mnt/root is a share with an empty HOSTDIR: it lists only grants.
	R=/mnt/root
	r root_before "$(ls $R | tr '\n' ',')"
	# The host grants a directory as "late" once it sees this line.
	r waiting grant
	i=0
	while [ ! -e $R/late/granted ]; do
		i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.1
	done
	r late_content "$(cat $R/late/granted 2>/dev/null)"
	echo "from guest" >$R/late/back
	r late_written "$?"
	r root_during "$(ls $R | tr '\n' ',')"
	exec 3<$R/late/granted
	r waiting revoke
	i=0
	while [ -e $R/late ]; do
		i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.1
	done
	r root_after "$(ls $R | tr '\n' ',')"
	# A file open across the revocation reads as stale.
	r after_revoke "$(cat <&3 2>&1 | tr ' ' _)"
	exec 3<&-
	check late_gone sh -c "! cat $R/late/granted"
	;;
bench)
	for i in 1 2 3; do
		echo "BENCH $(p9check seq $D) $(p9check meta $D)"
	done
	;;
stress)
	cd $D || exit 1
	shift
	for s in "$@"; do
		# Work small enough for the nested machine: hdd and fallocate
		# default to 1 GiB files, dir and dentry to 8192 and 2048 names
		# per round; one round of link or symlink is 8192 links, and a
		# stressor checks its time only between rounds.
		n=300 x=
		case $s in
		hdd) x="--hdd-bytes 4M --hdd-write-size 64K" ;;
		fallocate) x="--fallocate-bytes 8M" ;;
		dir) x="--dir-dirs 256" ;;
		dentry) x="--dentries 256" ;;
		link|symlink) n=1 ;;
		esac
		t0=$(cut -d. -f1 /proc/uptime)
		timeout -s KILL 120 /usr/bin/stress-ng --temp-path $D --$s 1 --$s-ops $n --timeout 3s --verify \
			$x --metrics-brief >/tmp/sng.out 2>&1
		rc=$?
		r "stress_$s" "$rc"
		r "secs_$s" "$(($(cut -d. -f1 /proc/uptime) - t0))"
		# The metrics row, skips, failures, the completion line.
		grep -vE 'dispatching hogs|setting to a|bogo ops/s|[(]secs[)]' \
			/tmp/sng.out | tail -n 6 | sed "s/^/SNG $s: /"
	done
	r leftovers "$(ls -A $D | tr '\n' ',')"
	;;
esac
r app done
APP
chmod 755 "$root/bin/p9app"
mksquashfs "$root" "$out/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null
rm -rf "$root"
