# The harness's own tools behave as the runner relies on: e2e-timeout kills
# the whole process group of a hung scenario and reports 124, passes exit
# statuses and signals through; portw refuses out-of-range arguments.
# timeout: 60
r() { "$@"; echo $?; }
rc=$(r e2e-timeout 2 sh -c 'sleep 301 & sleep 302')
[ "$rc" = 124 ] || { echo "hung command: e2e-timeout returned $rc, want 124"; exit 1; }
sleep 1
if ps | grep -v grep | grep -qE 'sleep 30[12]'; then
	echo "processes of the timed-out group survived:"; ps; exit 1
fi
rc=$(r e2e-timeout 5 sh -c 'exit 7')
[ "$rc" = 7 ] || { echo "exit 7 came back as $rc"; exit 1; }
rc=$(r e2e-timeout 5 sh -c 'kill -TERM $$')
[ "$rc" = 143 ] || { echo "SIGTERM came back as $rc, want 143"; exit 1; }
rc=$(r e2e-timeout 0 true 2>/dev/null)
[ "$rc" = 2 ] || { echo "timeout 0 accepted ($rc)"; exit 1; }
rc=$(r portw 0x10000 1 2>/dev/null)
[ "$rc" = 2 ] || { echo "portw accepted port 0x10000 ($rc)"; exit 1; }
rc=$(r portw 0x510 256 2>/dev/null)
[ "$rc" = 2 ] || { echo "portw accepted value 256 ($rc)"; exit 1; }
exit 0
