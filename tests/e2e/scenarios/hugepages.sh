# --hugepages: guest RAM from 2 MiB pages (docs/BENCHMARKS.md: most of a
# boot's exits are nested page faults on 4 KiB pages).
#  2M: the pages come from L1's hugetlb pool: during the run all 32 of the
#      guest's pages are taken (faulted in, or reserved at mmap and counted in
#      HugePages_Rsvd), afterwards they are all free again; a pool
#      one page short is refused up front (exit 1, the message names
#      nr_hugepages), never a SIGBUS at the guest's first touch.
#  thp (the default): with shmem_enabled=advise the memfd is backed by huge
#      pages (ShmemHugePages > 0 while it runs) without any option, and not
#      with --hugepages off; with never an explicit thp says so and boots on
#      4 KiB pages.
# timeout: 300
. "$E2E_LIB/scenario.sh"
INITRD=$ASSETS/boot/initramfs.cpio.gz
SHMEM=/sys/kernel/mm/transparent_hugepage/shmem_enabled
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# Huge pages in use or reserved for a mapping not touched yet.
hp_taken() { echo $(( $(meminfo HugePages_Total) - $(meminfo HugePages_Free) + $(meminfo HugePages_Rsvd) )); }
shmem_huge() { meminfo ShmemHugePages; }

# run_sampled NAME PROBE ARGS...: vmm in the background; the lowest and
# highest value of the PROBE function seen while it ran (LO, HI), then RC.
run_sampled() {
	_n=$1 _f=$2
	shift 2
	"$VMM" "$@" </dev/null >"$WORK/$_n.console" 2>"$WORK/$_n.err" &
	_p=$!
	LO=$($_f) HI=$LO
	while kill -0 "$_p" 2>/dev/null; do
		_v=$($_f)
		[ "$_v" -lt "$LO" ] && LO=$_v
		[ "$_v" -gt "$HI" ] && HI=$_v
		sleep 0.1
	done
	wait "$_p"
	RC=$?
	echo "vmm $*: exit $RC, $_f from $LO to $HI"
}

echo 32 >/proc/sys/vm/nr_hugepages
[ "$(meminfo HugePages_Total)" = 32 ] || fail "L1 could not reserve 32 huge pages: HugePages_Total $(meminfo HugePages_Total)"
run_sampled short hp_taken -m 66 --hugepages 2M -k "$KERNEL_BZIMAGE" -i "$INITRD" -p "$GUEST_PARAMS"
expect_rc short 1
grep -q -- '--hugepages 2M: cannot reserve 33 huge pages: .*nr_hugepages' "$WORK/short.err" ||
	fail "no one-line error naming nr_hugepages for a pool one page short"
[ "$HI" = 0 ] || fail "a refused start took $HI huge pages"

run_sampled g2m hp_taken -m 64 --hugepages 2M -k "$KERNEL_BZIMAGE" -i "$INITRD" -p "$GUEST_PARAMS"
expect_line g2m '^E2E-GUEST: init=done'
expect_rc g2m 0
[ "$HI" = 32 ] || fail "a 64 MiB guest took $HI of 32 huge pages while it ran, want all 32"
[ "$(hp_taken)" = 0 ] || fail "huge pages not returned after exit: $(hp_taken) of 32 still taken"
echo 0 >/proc/sys/vm/nr_hugepages

old=$(sed 's/.*\[\(.*\)\].*/\1/' "$SHMEM")
echo advise >"$SHMEM"
run_sampled thp shmem_huge -m 64 -k "$KERNEL_BZIMAGE" -i "$INITRD" -p "$GUEST_PARAMS"
expect_line thp '^E2E-GUEST: init=done'
expect_rc thp 0
[ "$HI" -gt 0 ] || fail "ShmemHugePages stayed 0 kB while a guest ran with the default (thp)"
run_sampled off shmem_huge -m 64 --hugepages off -k "$KERNEL_BZIMAGE" -i "$INITRD" -p "$GUEST_PARAMS"
expect_line off '^E2E-GUEST: init=done'
expect_rc off 0
[ "$HI" = 0 ] || fail "ShmemHugePages reached $HI kB while a --hugepages off guest ran"
echo never >"$SHMEM"
vmm_run nothp -m 64 --hugepages thp -k "$KERNEL_BZIMAGE" -i "$INITRD" -p "$GUEST_PARAMS"
expect_line nothp '^E2E-GUEST: init=done'
expect_rc nothp 0
grep -q 'shmem_enabled does not allow' "$WORK/nothp.err" || fail "no warning that shmem THP is off"
echo "$old" >"$SHMEM"
