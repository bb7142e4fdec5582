#!/bin/sh
# RPC benchmark: unary round trips over a unix socket, p50/p99 latency and
# requests per second, for
#   native        proto/'s framing + nanopb, blocking server loop (rpc_server_serve)
#   native-conn   the same, incremental event-loop server (rpc_conn)
#   grpc          gRPC C++ (Debian's libgrpc++-dev), same .proto, same messages
#   raw           the floor: the same frame bytes ping-ponged with plain
#                 read/write on the same kind of socket (no library at all)
# in the same run, ROUNDS interleaved rounds each; the summary gives the
# median over rounds and gRPC's p50 over ours.      target: >= 10x lower p50
# Calls: GetInfo (small response) and Exec echoing STDIN bytes (default 4096)
# back as stdout (no process is run: this measures the RPC, not fork/exec).
# gRPC is benchmark-only: its packages are installed here when missing and
# never linked into anything else. Numbers are printed, never enforced.
#
#   scripts/bench/rpc.sh      O=build N=20000 ROUNDS=3 STDIN=4096
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
N=${N:-20000}
ROUNDS=${ROUNDS:-3}
STDIN=${STDIN:-4096}
GRPC_DIR=$O/bench/grpc

make -s O="$O" "$O/bench/rpc_bench" || exit 1

need=""
for p in libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler pkg-config g++; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	echo "rpc bench: installing (benchmark only):$need" >&2
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null ||
		{ echo "rpc bench: cannot install$need" >&2; exit 1; }
fi

# Build the gRPC side when its sources changed (it takes a while to compile).
mkdir -p "$GRPC_DIR"
if [ ! -x "$GRPC_DIR/grpc_bench" ] || [ proto/maitred.proto -nt "$GRPC_DIR/grpc_bench" ] ||
	[ bench/rpc/grpc_bench.cc -nt "$GRPC_DIR/grpc_bench" ]; then
	echo "rpc bench: building $GRPC_DIR/grpc_bench" >&2
	protoc -Iproto --cpp_out="$GRPC_DIR" --grpc_out="$GRPC_DIR" \
		--plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" maitred.proto || exit 1
	# shellcheck disable=SC2046
	g++ -std=c++17 -O2 -I"$GRPC_DIR" -o "$GRPC_DIR/grpc_bench" bench/rpc/grpc_bench.cc \
		"$GRPC_DIR/maitred.pb.cc" "$GRPC_DIR/maitred.grpc.pb.cc" \
		$(pkg-config --cflags --libs grpc++ protobuf) || exit 1
fi

# As root, both sides get the same nice -10 so a build running alongside
# disturbs them less.
NICE=""
[ "$(id -u)" -eq 0 ] && NICE="nice -n -10"

out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
echo "rpc: $N calls per kind, $ROUNDS rounds, Exec echo of $STDIN bytes, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
r=1
while [ $r -le "$ROUNDS" ]; do
	$NICE "$O/bench/rpc_bench" -n "$N" -s "$STDIN" | tee -a "$out" || exit 1
	$NICE "$O/bench/rpc_bench" -n "$N" -s "$STDIN" -c conn | sed 's/^native /native-conn /' |
		tee -a "$out" || exit 1
	$NICE "$GRPC_DIR/grpc_bench" -n "$N" -s "$STDIN" | tee -a "$out" || exit 1
	$NICE "$O/bench/rpc_bench" -n "$N" -s "$STDIN" -c raw | tee -a "$out" || exit 1
	r=$((r + 1))
done

# Median over rounds per (implementation, call), then gRPC / native.
awk '
function med(k,   n, i, j, t, a) {
	n = split(vals[k], a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)]
}
{
	impl = $1; call = $2
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	k = impl SUBSEP call
	if (!(k in seen)) { seen[k] = 1; order[++no] = k }
	vals[k "p50"] = vals[k "p50"] " " v["p50_us"]
	vals[k "p99"] = vals[k "p99"] " " v["p99_us"]
	vals[k "rps"] = vals[k "rps"] " " v["rps"]
	calls[call] = 1
}
END {
	printf "%-12s %-18s %10s %10s %10s\n", "impl", "call", "p50_us", "p99_us", "req/s"
	for (i = 1; i <= no; i++) {
		split(order[i], p, SUBSEP)
		printf "%-12s %-18s %10.1f %10.1f %10.0f\n", p[1], p[2], med(order[i] "p50"), med(order[i] "p99"), med(order[i] "rps")
	}
	for (c in calls) {
		n = med("native" SUBSEP c "p50"); g = med("grpc" SUBSEP c "p50")
		if (n > 0 && g > 0)
			printf "rpc %s: gRPC p50 / native p50 = %.1fx (target >= 10x), req/s %.1fx; gRPC p50 / raw socket p50 = %.1fx (the most any library could reach here)\n", c, g / n, med("native" SUBSEP c "rps") / med("grpc" SUBSEP c "rps"), g / med("raw" SUBSEP c "p50")
	}
}' "$out"
