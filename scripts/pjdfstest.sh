#!/bin/sh
# pjdfstest (github.com/pjd/pjdfstest, a POSIX file-system suite nobody here
# wrote) in a guest on a virtio-9p share, for docs/P9.md "pjdfstest". The
# suite is never part of this tree: build it OUTSIDE, from a snapshot,
# static with musl (its configure needs autotools; a hand-written config.h
# does, see docs/P9.md), and name that checkout here:
#
#   PJDFSTEST=/work/peers/pjdfstest scripts/pjdfstest.sh [-o RESULTS] [-s mapped|passthrough] [DIR...]
#
# DIR: test directories under tests/ (chmod, rename, ...; default all).
# In one boot of the nested L1 machine (docs/E2E.md; directly on a vmx/svm
# host) one guest (the appliance bzImage, our init) mounts a fresh host
# directory shared with `vmm --share DIR:data,security=S` (trans=virtio,
# cache=none) and runs, as root, every .t file of the DIRs with busybox sh
# at the top of the share (emptied after each). Every TAP line goes to RESULTS
# (default $O/pjdfstest.results) as "FILE LINE", then a "TIME FILE SECS"
# line; the per-directory ok/not ok counts are printed at the end.
# passthrough (default) needs vmm's devices as threads (--disable-sandbox)
# and vmm as root, which the nested machine gives; mapped runs jailed.
# Each .t file is killed after 600 s (PJD_T_TIMEOUT). Exit status 0 when
# the run finished (failed checks are results, not errors), 1 when it did
# not, 2 on bad arguments.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O=$SRC/$O ;; esac
. "$SRC/tests/e2e/lib/l1.sh"
usage() { echo "usage: PJDFSTEST=DIR scripts/pjdfstest.sh [-o RESULTS] [-s mapped|passthrough] [DIR...]" >&2; exit 2; }
results=$O/pjdfstest.results sec=passthrough
while getopts o:s: c; do
	case $c in
	o) results=$OPTARG ;;
	s) sec=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
case $sec in mapped|passthrough) ;; *) echo "pjdfstest: -s $sec: mapped or passthrough" >&2; exit 2 ;; esac
P=${PJDFSTEST:-}
[ -n "$P" ] || { echo "pjdfstest: PJDFSTEST is not set (a pjdfstest checkout with a static pjdfstest binary)" >&2; exit 2; }
[ -x "$P/pjdfstest" ] && file -L "$P/pjdfstest" | grep -q 'statically linked' ||
	{ echo "pjdfstest: $P/pjdfstest is not a static executable (build it: docs/P9.md)" >&2; exit 2; }
[ -f "$P/tests/misc.sh" ] || { echo "pjdfstest: $P/tests/misc.sh missing: not a pjdfstest checkout" >&2; exit 2; }
dirs=${*:-$(cd "$P/tests" && for d in *; do [ -d "$d" ] && echo "$d"; done)}
for d in $dirs; do
	case $d in ''|*[!a-z_0-9]*) echo "pjdfstest: bad directory name '$d'" >&2; exit 2 ;; esac
	[ -d "$P/tests/$d" ] || { echo "pjdfstest: no tests/$d in $P" >&2; exit 2; }
done
dirs=$(echo $dirs)
[ -x "$O/vmm" ] && [ -x "$O/guest/init" ] || e2e_die "$O/vmm or $O/guest/init not built (make)"
command -v mksquashfs >/dev/null || e2e_die "mksquashfs missing (squashfs-tools)"
e2e_find_cloud
e2e_tools
e2e_kernel
e2e_rundir pjdfstest

# The guest root: busybox, our init, the suite at /opt/pjdfstest, and the
# one tool it wants that busybox lacks (misc.sh's namegen: `openssl md5`).
assets=$E2E_RUN/assets
mkdir -p "$assets/pjd"
root=$assets/pjd/root
E2E_TOOLS=$O/e2e
. "$SRC/tests/e2e/lib/guestfs.sh"
guestfs_busybox "$root" || exit 1
cp "$O/guest/init" "$root/sbin/init"
mkdir -p "$root/opt/pjdfstest" "$root/mnt/data" "$root/usr/bin"
cp "$P/pjdfstest" "$root/opt/pjdfstest/"
(cd "$P" && tar cf - tests) | (cd "$root/opt/pjdfstest" && tar xf -)
# utimensat/06.t and 07.t ask `id -u nobody`.
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cat >"$root/usr/bin/openssl" <<'EOF'
#!/bin/sh
# `openssl md5` as pjdfstest's misc.sh uses it: the digest of stdin.
[ "$1" = md5 ] || { echo "openssl shim: only md5" >&2; exit 1; }
md5sum | cut -d' ' -f1
EOF
cat >"$root/bin/pjdrun" <<EOF
#!/bin/sh
# pjdrun DIR...: every tests/DIR/*.t at the top of the share (its paths of
# PATH_MAX bytes must fit the share), emptied after each.
cd /mnt/data || { echo "PJD - not ok - /mnt/data is not mounted"; exit 1; }
for d in "\$@"; do
	for t in /opt/pjdfstest/tests/\$d/*.t; do
		n=\$d/\${t##*/}
		s=\$(cut -d. -f1 /proc/uptime)
		timeout -s KILL ${PJD_T_TIMEOUT:-600} sh "\$t" 2>&1 | sed "s|^|PJD \$n |"
		echo "PJDTIME \$n \$((\$(cut -d. -f1 /proc/uptime) - s))"
		rm -rf /mnt/data/* /mnt/data/.[!.]* 2>/dev/null
	done
done
echo "PJDDONE \$(ls -A /mnt/data | wc -l)"
EOF
chmod 755 "$root/usr/bin/openssl" "$root/bin/pjdrun"
mksquashfs "$root" "$assets/pjd/root.sqfs" -noappend -quiet -all-root -comp xz >/dev/null || exit 1
rm -rf "$root"

share_opt="data,security=$sec"
vmm_opt=
[ "$sec" = passthrough ] && vmm_opt=--disable-sandbox
main=$E2E_RUN/main.sh
cat >"$main" <<EOF
S=\$WORK/share
mkdir -p "\$S"
"\$VMM" $vmm_opt -m 512 -k "\$KERNEL_BZIMAGE" -r "\$ASSETS/pjd/root.sqfs" --share "\$S:$share_opt" \\
	-p "console=ttyS0 reboot=k panic=-1 quiet init.mount=data:/mnt/data:9p:trans=virtio,version=9p2000.L,cache=none init.app=/bin/pjdrun init.args=\\"$dirs\\"" \\
	</dev/null 2>"\$WORK/vmm.err" | tr -d '\r' | grep -E '^(PJD|PJDTIME|PJDDONE) '
echo "PJDVMM \$?"
sed 's/^/PJDERR /' "\$WORK/vmm.err" | tail -n 20
echo "PJDHOST \$(ls -A "\$S" | wc -l) entries left in the share"
EOF

if e2e_have_hwvirt; then
	work=$E2E_RUN/work
	mkdir -p "$work"
	out=$work/out
	(cd "$work" && PATH="$O/e2e:$PATH" VMM=$O/vmm KERNEL_BZIMAGE=$O/kernel/bzImage ASSETS=$assets WORK=$work sh "$main") >"$out" 2>&1
else
	img=$E2E_RUN/l1
	l1_image "$img" || exit 1
	cp -r "$assets" "$img/e2e/assets"
	cp "$main" "$img/e2e/main.sh"
	echo stream >"$img/e2e/mode"
	out=$E2E_RUN/console.log
	echo "pjdfstest: booting the nested L1 machine: tests/{$dirs} on a virtio-9p share ($sec)" >&2
	E2E_QEMU_PIDFILE=$E2E_RUN/qemu.pid l1_boot "$img" "${PJD_BUDGET:-1800}" </dev/null | sed -u 's/\r$//' >"$out"
fi
sed -n 's/^PJD \([^ ]*\) /\1 /p; s/^PJDTIME /TIME /p' "$out" >"$results"
grep -E '^(PJDVMM|PJDERR|PJDHOST|PJDDONE)' "$out" >&2
echo "pjdfstest: $(wc -l <"$results") lines in $results"
# Per directory: ok, not ok, and not ok marked "# TODO" by the suite
# itself (behaviour it expects to differ on Linux: not failures in TAP).
awk '$2 == "ok" { split($1, p, "/"); ok[p[1]]++; seen[p[1]] = 1 }
	$2 == "not" && $3 == "ok" { split($1, p, "/"); seen[p[1]] = 1; if ($0 ~ /# TODO/) todo[p[1]]++; else bad[p[1]]++ }
	END { for (d in seen) { printf "%s ok %d, not ok %d, todo %d\n", d, ok[d], bad[d], todo[d]; tok += ok[d]; tbad += bad[d]; ttodo += todo[d] }
		printf "total ok %d, not ok %d, todo %d\n", tok, tbad, ttodo }' "$results" | sort
grep -q '^PJDDONE' "$out" || { echo "pjdfstest: the guest did not finish (console: $out)" >&2; E2E_KEEP=1; trap - EXIT; exit 1; }
