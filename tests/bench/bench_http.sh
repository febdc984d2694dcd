#!/usr/bin/env bash
# bench_http.sh -- requests/s and latency of cot against bare libmicrohttpd,
# measured side by side in one run (make bench-http).
#
# Three servers answer GET /hello/world with "Hello, world!\n" on loopback:
#   bare    tests/bench/bare_hello.c: libmicrohttpd alone, cot's MHD flags
#   export  the app of `cotdev new`, built with `cotdev export`, --quiet
#   dev     the same app under `cotdev run --quiet`
# wrk runs the same settings against each, the three interleaved, ROUNDS
# times; the table shows the mean of the rounds and the ratios to bare
# (targets: export >= 0.9, dev >= 0.8). "cpu us/req" is the server's own CPU
# time (utime+stime from /proc) per request: it stays meaningful when other
# work on the machine makes requests/s noisy. Environment: COTDEV (build/cotdev),
# BARE (build/bare_hello), WRK_ARGS (-t2 -c64 -d5s), ROUNDS (2).
set -eu
COTDEV=${COTDEV:-build/cotdev}
BARE=${BARE:-build/bare_hello}
WRK_ARGS=${WRK_ARGS:--t2 -c64 -d5s}
ROUNDS=${ROUNDS:-2}
tmp=$(mktemp -d /tmp/cot-bench-http-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD with its output in $tmp/NAME.log, waits for its
# "http://127.0.0.1:PORT/" line and sets PORT_NAME.
start() {
  local name=$1; shift
  "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/$name.log" | head -1 | grep -o '[0-9]*/$' | tr -d / || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "bench_http: $name did not start:"; cat "$tmp/$name.log"; exit 1; }
  [ "$(curl -s "http://127.0.0.1:$port/hello/world")" = "Hello, world!" ] ||
    { echo "bench_http: $name does not answer /hello/world"; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "${pids[-1]}"
}

# CPU ticks (utime + stime) a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

"$COTDEV" new "$tmp/app" >/dev/null
"$COTDEV" export "$tmp/app" -o "$tmp/app-bin" | sed 's/^/# /'
start bare "$BARE" 0
start export "$tmp/app-bin" --port 0 --quiet --db "$tmp/export.db"
start dev "$COTDEV" run --port 0 --quiet "$tmp/app"

# measure PORT PID -> "rps p50 p90 p99 cpu_us_per_request" (latencies in ms).
measure() {
  local t0 t1
  t0=$(cpu_ticks "$2")
  wrk $WRK_ARGS --latency "http://127.0.0.1:$1/hello/world" >"$tmp/wrk.out"
  t1=$(cpu_ticks "$2")
  awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    / requests in / { n = $1 }
    /Non-2xx|Socket errors/ { print "# wrk: " $0 > "/dev/stderr" }
    END { printf "%s %s %s %s %.2f\n", rps, p50, p90, p99, ticks / hz * 1e6 / n }' "$tmp/wrk.out"
}

for name in bare export dev; do   # warm-up: caches, thread pools, page faults
  port_var="PORT_$name"; wrk -t2 -c64 -d1s "http://127.0.0.1:${!port_var}/hello/world" >/dev/null
done
for round in $(seq "$ROUNDS"); do
  for name in bare export dev; do
    port_var="PORT_$name"; pid_var="PID_$name"
    echo "$name $(measure "${!port_var}" "${!pid_var}")" | tee -a "$tmp/results" | sed "s/^/# round $round: /"
  done
done

echo "wrk $WRK_ARGS, $(nproc) cores, mean of $ROUNDS interleaved rounds"
awk '
  { n[$1]++; rps[$1] += $2; p50[$1] += $3; p90[$1] += $4; p99[$1] += $5; cpu[$1] += $6 }
  END {
    printf "%-7s %12s %9s %9s %9s %8s %11s\n", "server", "requests/s", "p50 ms", "p90 ms",
           "p99 ms", "ratio", "cpu us/req"
    split("bare export dev", order, " ")
    for (i = 1; i <= 3; i++) {
      s = order[i]
      printf "%-7s %12.0f %9.3f %9.3f %9.3f %8.3f %11.2f\n", s, rps[s] / n[s], p50[s] / n[s],
             p90[s] / n[s], p99[s] / n[s], rps[s] / rps["bare"], cpu[s] / n[s]
    }
    e = rps["export"] / rps["bare"]; d = rps["dev"] / rps["bare"]
    printf "export/bare %.3f (target >= 0.9: %s), dev/bare %.3f (target >= 0.8: %s)\n",
           e, ((e >= 0.9) ? "met" : "MISSED"), d, ((d >= 0.8) ? "met" : "MISSED")
  }' "$tmp/results"
