#!/usr/bin/env bash
# bench_techempower.sh -- requests/s of examples/techempower's six test types
# on the export, each against a baseline measured in the same run
# (make bench-techempower; not part of make test):
#   plaintext, json      vs bare libmicrohttpd (tests/bench/bare_hello.c, its
#                        fixed "Hello, world!" on /hello/world)
#   db, queries, updates vs the same SQL in a plain C loop over sqlite3
#                        (tests/bench/te_sqlite_loop.c: no HTTP at all, one
#                        thread, prepared statements) on a copy of the db
#   fortunes             no baseline: its req/s only
# Rounds are interleaved (the machine is shared) and the median is printed.
# Then the memory check of issue 22: RSS of the export after 10k requests and
# after 1M requests (plaintext, then a mix of db/fortunes/updates), and
# whether it grew. The dev server's RSS over 1,000 reloads is measured by
# make bench-reload-mem (tests/bench/bench_reload_mem.c).
#
# Environment: COTDEV (build/cotdev), BARE (build/bare_hello), LOOP
# (build/te_sqlite_loop), SERVER_CPUS (0), WRK_CPUS (the other cores),
# CONNECTIONS (32), DURATION (2s), ROUNDS (3), QUERIES (20), MEM_REQUESTS
# (1000000).
set -eu
COTDEV=${COTDEV:-build/cotdev}
BARE=${BARE:-build/bare_hello}
LOOP=${LOOP:-build/te_sqlite_loop}
ncpu=$(nproc)
SERVER_CPUS=${SERVER_CPUS:-0}
if [ "$ncpu" -ge 2 ]; then WRK_CPUS=${WRK_CPUS:-1-$((ncpu - 1))}; else WRK_CPUS=${WRK_CPUS:-0}; fi
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-2s}
ROUNDS=${ROUNDS:-3}
QUERIES=${QUERIES:-20}
MEM_REQUESTS=${MEM_REQUESTS:-1000000}
here=$(cd "$(dirname "$0")/../.." && pwd)

tmp=$(mktemp -d /tmp/cot-bench-te-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD (output in $tmp/NAME.log), waits for its URL line.
start() {
  local name=$1 port=; shift
  "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 400); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/$name.log" | head -1 | grep -o '[0-9]*/$' | tr -d / || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "bench_techempower: $name did not start:"; cat "$tmp/$name.log"; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "${pids[-1]}"
}

# rps PORT PATH -> requests/s of wrk on http://127.0.0.1:PORT/PATH
rps() {
  taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$1$2" >"$tmp/wrk.out"
  if grep -q 'Non-2xx\|Socket errors' "$tmp/wrk.out"; then
    echo "bench_techempower: errors on $2:" >&2; cat "$tmp/wrk.out" >&2; exit 1
  fi
  awk '/^Requests\/sec/ { print $2 }' "$tmp/wrk.out"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

cp -r "$here/examples/techempower" "$tmp/app"
export COT_SECRET=${COT_SECRET:-bench-secret-0123456789abcdef0123456789}
"$COTDEV" export "$tmp/app" -o "$tmp/te-bin" | sed 's/^/# /'
start bare taskset -c "$SERVER_CPUS" "$BARE" 0 1
# the export as shipped: access log on (into a file), one thread per server core
start te taskset -c "$SERVER_CPUS" "$tmp/te-bin" --port 0 --threads 1 \
  --access-log "$tmp/access.log" --db "$tmp/app.db"
sqlite3 "$tmp/app.db" <"$tmp/app/seed.sql"
sqlite3 "$tmp/loop.db" <"$tmp/app/schema.sql"
sqlite3 "$tmp/loop.db" <"$tmp/app/seed.sql"
for path in /plaintext /json /db "/queries?queries=$QUERIES" /fortunes "/updates?queries=$QUERIES"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_te$path")" = 200 ] ||
    { echo "bench_techempower: $path does not answer 200"; exit 1; }
done
secs=${DURATION%s}

echo "machine: $ncpu cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "export as shipped (access log on), 1 thread on cpu $SERVER_CPUS; wrk -t1 -c$CONNECTIONS -d$DURATION on cpu $WRK_CPUS;" \
     "queries/updates with N=$QUERIES; median of $ROUNDS interleaved rounds"
for round in $(seq "$ROUNDS"); do
  echo "plaintext $(rps "$PORT_te" /plaintext) $(rps "$PORT_bare" /hello/world)"
  echo "json $(rps "$PORT_te" /json) $(rps "$PORT_bare" /hello/world)"
  echo "db $(rps "$PORT_te" /db) $(taskset -c "$SERVER_CPUS" "$LOOP" "$tmp/loop.db" db 1 "$secs")"
  echo "queries $(rps "$PORT_te" "/queries?queries=$QUERIES") $(taskset -c "$SERVER_CPUS" "$LOOP" "$tmp/loop.db" queries "$QUERIES" "$secs")"
  echo "fortunes $(rps "$PORT_te" /fortunes) -"
  echo "updates $(rps "$PORT_te" "/updates?queries=$QUERIES") $(taskset -c "$SERVER_CPUS" "$LOOP" "$tmp/loop.db" updates "$QUERIES" "$secs")"
done | tee "$tmp/results" | sed 's/^/# /'
awk '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  !($1 in seen) { seen[$1] = 1; order[++k] = $1 }
  { cot[$1] = cot[$1] " " $2; base[$1] = base[$1] " " $3 }
  END {
    printf "%-10s %12s %12s %8s  %s\n", "test", "cot req/s", "baseline/s", "ratio", "baseline"
    for (i = 1; i <= k; i++) {
      t = order[i]; c = median(cot[t])
      if (base[t] ~ /-/) { printf "%-10s %12.0f %12s %8s  %s\n", t, c, "-", "-", "none"; continue }
      b = median(base[t])
      printf "%-10s %12.0f %12.0f %8.2f  %s\n", t, c, b, c / b,
             (t == "plaintext" || t == "json") ? "bare libmicrohttpd" : "C loop over sqlite3"
    }
  }' "$tmp/results"

# ---- memory: RSS after 10k requests vs after MEM_REQUESTS ---------------
# A fresh export, so "after 10k" counts from its start. wrk has no request
# count: a Lua response hook stops its thread after the requests still to
# do, in 2 s slices (wrk itself waits out -d even once its thread stopped),
# until they are all done.
cat >"$tmp/count.lua" <<'LUA'
local left = tonumber(os.getenv("TE_REQUESTS"))
response = function() left = left - 1; if left <= 0 then wrk.thread:stop() end end
LUA
start mem taskset -c "$SERVER_CPUS" "$tmp/te-bin" --port 0 --threads 1 \
  --access-log "$tmp/mem-access.log" --db "$tmp/app.db"
# run N PATH: N more requests to PATH; prints how many were answered
run() {
  local left=$1 done=0 n
  while [ "$left" -gt 0 ]; do
    TE_REQUESTS=$left taskset -c "$WRK_CPUS" wrk -t1 -c"$CONNECTIONS" -d2s -s "$tmp/count.lua" \
      "http://127.0.0.1:$PORT_mem$2" >"$tmp/wrk-mem.out"
    n=$(awk '/ requests in / { print $1 }' "$tmp/wrk-mem.out")
    [ "${n:-0}" -gt 0 ] || { echo "bench_techempower: no answers on $2" >&2; cat "$tmp/wrk-mem.out" >&2; exit 1; }
    done=$((done + n)); left=$((left - n))
  done
  echo "$done"
}
mix() { # N requests split over the six types (database ones write and allocate)
  local n=$1 done=0 p
  for p in /plaintext /json /db "/queries?queries=$QUERIES" /fortunes "/updates?queries=5"; do
    done=$((done + $(run $((n / 6)) "$p")))
  done
  echo "$done"
}
n10k=$(mix 10000)
rss10k=$(rss_kb "$PID_mem")
rest=$((MEM_REQUESTS - n10k))
# the bulk as plaintext (fast), then one more mixed 10k so every path ran late too
nmore=$(run $((rest - 10000)) /plaintext)
nmore=$((nmore + $(mix 10000)))
rss1m=$(rss_kb "$PID_mem")
total=$((n10k + nmore))
echo "memory: export RSS $rss10k kB after $n10k requests, $rss1m kB after $total requests:" \
     "$(awk -v a="$rss10k" -v b="$rss1m" 'BEGIN { d = b - a
        printf "%+d kB (%s)\n", d, ((d > 1024) ? "GREW by more than 1 MB" : "no growth beyond 1 MB") }')"
echo "dev server RSS over 1,000 reloads: make bench-reload-mem"
