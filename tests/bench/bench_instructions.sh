#!/usr/bin/env bash
# bench_instructions.sh -- instructions per request (valgrind callgrind) of the
# bare libmicrohttpd server, the exported binary (--quiet, and as shipped with
# its access log on) and `cotdev run` (with the request inspector, and
# without: --no-inspector), as ratios to bare. Unlike requests/s (bench_http.sh), an instruction count does not
# move with what else the machine is doing, so small per-request costs show.
# Each server answers N1 and then N2 keep-alive requests (one curl, one
# connection) in two runs; (total(N2) - total(N1)) / (N2 - N1) removes start-up.
# Not counted: time in the kernel (system calls, e.g. the dev server's poll).
set -eu
COTDEV=${COTDEV:-build/cotdev}
BARE=${BARE:-build/bare_hello}
N1=${N1:-1000}
N2=${N2:-3000}
PORT=${PORT:-18199}
tmp=$(mktemp -d /tmp/cot-bench-ir-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$COTDEV" new "$tmp/app" >/dev/null
# the export refuses to start without an app secret (runtime/secret.c)
export COT_SECRET=${COT_SECRET:-bench-secret-0123456789abcdef0123456789}
"$COTDEV" export "$tmp/app" -o "$tmp/app-bin" >/dev/null
total() { # total NAME N CMD... -> program total of instructions
	local name=$1 n=$2 pid urls i
	shift 2
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$name.$n" "$@" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 300); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/hello/world" && break
		sleep 0.1
	done
	urls=$(for i in $(seq 1 "$n"); do printf 'http://127.0.0.1:%s/hello/world ' "$PORT"; done)
	# shellcheck disable=SC2086
	curl -s $urls >/dev/null
	kill -TERM "$pid"
	wait "$pid" || true
	callgrind_annotate "$tmp/cg.$name.$n" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
per_request() { # per_request NAME CMD...
	local name=$1 a b
	shift
	a=$(total "$name" "$N1" "$@")
	b=$(total "$name" "$N2" "$@")
	echo $(( (b - a) / (N2 - N1) ))
}
bare=$(per_request bare "$BARE" "$PORT")
export=$(per_request export "$tmp/app-bin" --port "$PORT" --quiet --threads 1 --db "$tmp/app.db")
# as shipped: the access log on (into a file; the kernel's write is not counted)
shipped=$(per_request shipped "$tmp/app-bin" --port "$PORT" --threads 1 --db "$tmp/app.db" \
	--access-log "$tmp/access.log")
dev=$(per_request dev "$COTDEV" run --port "$PORT" --quiet --threads 1 "$tmp/app")
# without the request inspector (/_cot/requests): dev/devoff is what it costs
devoff=$(per_request devoff "$COTDEV" run --port "$PORT" --quiet --threads 1 --no-inspector \
	"$tmp/app")
echo "instructions per GET /hello/world (callgrind, keep-alive, $((N2 - N1)) requests)"
printf '%-8s %12s %8s\n' server instructions ratio
for s in bare export shipped dev devoff; do
	printf '%-8s %12d %8.3f\n' "$s" "${!s}" "$(echo "$bare / ${!s}" | bc -l)"
done
insp=$(echo "$devoff / $dev" | bc -l)
printf 'request inspector cost: devoff/dev %.3f (%d more instructions a request; target >= 0.9: %s)\n' \
	"$insp" "$((dev - devoff))" "$(echo "$insp >= 0.9" | bc -l | sed 's/1/met/;s/0/MISSED/')"
