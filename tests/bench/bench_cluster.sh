#!/usr/bin/env bash
# bench_cluster.sh -- requests/s of GET /notes/:id (the template's handler,
# JSON) on the export's two engines and behind HAProxy, beside a
# PostgreSQL round-trip baseline, all measured in one run
# (make bench-cluster; not part of make test).
#
# Run under build/pg_run, which starts a private PostgreSQL cluster (a temp
# dir, a free port, its unix socket in the dir) and sets DATABASE_URL.
# Servers, each measured with wrk (as bench_http.sh), interleaved, ROUNDS
# short times:
#   sqlite    one export node on SQLite (a file in the temp dir)
#   pg        one export node on PostgreSQL over the unix socket
#   lb1       HAProxy with docs/deploy.md's configuration, in front of one
#             PostgreSQL node (what the proxy costs)
#   lb3       the same HAProxy in front of three PostgreSQL nodes
#   pgbench   the baseline: `pgbench -S -M prepared` (a primary-key SELECT
#             per transaction, prepared, as cot does) with as many clients
#             as a node has connections (one per worker thread: THREADS),
#             against the same cluster: PostgreSQL round trips per second
#             with no HTTP in the way
# The verdict is the median of per-round ratios: pg/sqlite (what the
# database server costs against the embedded one), pg/pgbench (how close a
# node comes to PostgreSQL's own round-trip rate), lb1/pg (HAProxy's cost),
# lb3/lb1 (what two more nodes add). Every process shares the machine's
# cores (no taskset: PostgreSQL, HAProxy and the nodes all need CPU), so
# on a 2-core machine three nodes cannot add cores, only overlap waits; a
# ratio near 1 there says the cores are the limit, not the design.
#
# Environment: COTDEV (build/cotdev), THREADS (worker threads per node, 2),
# CONNECTIONS (32), DURATION (3s), ROUNDS (5).
set -eu
COTDEV=${COTDEV:-build/cotdev}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-3s}
ROUNDS=${ROUNDS:-5}
COT_HOME=${COT_HOME:-$(pwd)}
: "${DATABASE_URL:?run under build/pg_run (make bench-cluster does)}"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

tmp=$(mktemp -d /tmp/cot-bench-cluster-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# free_port IP: a port nothing listens on now.
free_port() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# node NAME IP DB: an export node on IP, a free port; sets ADDR_NAME.
node() {
  local name=$1 ip=$2 db=$3 port
  port=$(free_port "$ip")
  "$tmp/app-bin" --host "$ip" --port "$port" --threads "$THREADS" --quiet --db "$db" \
    >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do
    grep -q "cot app on" "$tmp/$name.log" && break
    sleep 0.05
  done
  grep -q "cot app on" "$tmp/$name.log" || { echo "bench_cluster: $name did not start:"; cat "$tmp/$name.log"; exit 1; }
  printf -v "ADDR_$name" '%s' "$ip:$port"
}

# haproxy NAME ADDR1 ADDR2 ADDR3: docs/deploy.md's configuration (the same
# substitutions as tests/haproxy.c); sets ADDR_NAME.
haproxy_up() {
  local name=$1 port
  port=$(free_port 127.0.0.1)
  awk '/^```haproxy$/ { on = 1; next } on && /^```/ { exit } on' "$COT_HOME/docs/deploy.md" |
    sed -e "s|bind :80|bind 127.0.0.1:$port|" -e "s|/run/haproxy/admin.sock|$tmp/$name.sock|" \
        -e "s|10.0.0.11:8080|$2|" -e "s|10.0.0.12:8080|$3|" -e "s|10.0.0.13:8080|$4|" \
        >"$tmp/$name.cfg"
  haproxy -c -f "$tmp/$name.cfg" >"$tmp/$name.check" 2>&1 ||
    { echo "bench_cluster: haproxy refuses the config:"; cat "$tmp/$name.check"; exit 1; }
  haproxy -db -f "$tmp/$name.cfg" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  printf -v "ADDR_$name" '%s' "127.0.0.1:$port"
  # every server UP (the health checks passed)
  for _ in $(seq 200); do
    up=$(echo "show stat" | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
print(sum(1 for l in data.decode().splitlines() if l.startswith("cot,app") and l.split(",")[17] == "UP"))
' "$tmp/$name.sock" 2>/dev/null || echo 0)
    [ "$up" = "$5" ] && return
    sleep 0.1
  done
  echo "bench_cluster: $name: $up of $5 servers UP"; exit 1
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
export COT_SECRET=${COT_SECRET:-bench-secret-0123456789abcdef0123456789}
"$COTDEV" new "$tmp/app" >/dev/null
"$COTDEV" export "$tmp/app" -o "$tmp/app-bin" | sed 's/^/# /'

own=127.0.0.1; if [ "$(free_port 127.0.0.11 2>/dev/null)" ]; then own=""; fi
ip() { if [ -n "$own" ]; then echo "$own"; else echo "127.0.0.1$1"; fi; }

node sqlite 127.0.0.1 "$tmp/bench.db"
node pg1 "$(ip 1)" "$DATABASE_URL"
node pg2 "$(ip 2)" "$DATABASE_URL"
node pg3 "$(ip 3)" "$DATABASE_URL"
haproxy_up lb1 "$ADDR_pg1" 127.0.0.1:1 127.0.0.1:1 1
# lb1 has one server UP; the two placeholders stay DOWN and get no traffic
haproxy_up lb3 "$ADDR_pg1" "$ADDR_pg2" "$ADDR_pg3" 3

# one note in each database, the row every GET reads
for a in "$ADDR_sqlite" "$ADDR_pg1"; do
  id=$(curl -s -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
       -d '{"title":"bench","body":"a note read by GET /notes/:id"}' "http://$a/notes" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  [ "$id" = 1 ] || { echo "bench_cluster: the note on $a got id $id, not 1"; exit 1; }
done
for name in sqlite pg1 lb1 lb3; do
  addr_var="ADDR_$name"
  [ "$(curl -s -H 'Accept: application/json' "http://${!addr_var}/notes/1" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["title"])')" = bench ] ||
    { echo "bench_cluster: $name does not answer GET /notes/1"; exit 1; }
done

"$PG_BIN/pgbench" -i -s 1 -q "$DATABASE_URL" >"$tmp/pgbench-init.log" 2>&1 ||
  { echo "bench_cluster: pgbench -i failed:"; cat "$tmp/pgbench-init.log"; exit 1; }

# measure NAME -> "NAME rps p50 p99" (latencies in ms)
measure() {
  local name=$1 addr_var="ADDR_$1"
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H 'Accept: application/json' \
    "http://${!addr_var}/notes/1" >"$tmp/wrk.out"
  awk -v name="$name" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    /Non-2xx|Socket errors/ { print "# wrk " name ": " $0 > "/dev/stderr" }
    END { printf "%s %s %s %s\n", name, rps, p50, p99 }' "$tmp/wrk.out"
}
pgbench_measure() {
  "$PG_BIN/pgbench" -S -M prepared -n -c "$THREADS" -j "$THREADS" -T "${DURATION%s}" \
    "$DATABASE_URL" >"$tmp/pgbench.out" 2>&1
  awk '/^tps/ { tps = $3 } END { printf "pgbench %s - -\n", tps ? tps : 0 }' "$tmp/pgbench.out"
}

for name in sqlite pg1 lb1 lb3; do   # warm-up: caches, prepared statements
  addr_var="ADDR_$name"
  wrk -t1 -c"$CONNECTIONS" -d1s -H 'Accept: application/json' "http://${!addr_var}/notes/1" >/dev/null
done
for round in $(seq "$ROUNDS"); do
  for name in sqlite pg1 lb1 lb3; do
    measure "$name" | tee -a "$tmp/results" | sed "s/^/# round $round: /"
  done
  pgbench_measure | tee -a "$tmp/results" | sed "s/^/# round $round: /"
done

echo "GET /notes/1 (JSON), wrk -t1 -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds," \
     "nodes with --threads $THREADS, $(nproc) cores shared by every process;" \
     "load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { r = ++n[$1]; rps[$1] = rps[$1] " " $2; p50[$1] = p50[$1] " " $3; p99[$1] = p99[$1] " " $4
    v[$1, r] = $2 }
  function ratio(a, b,   r, list) {
    list = ""; for (r = 1; r <= n[a]; r++) list = list " " v[a, r] / v[b, r]
    return median(list)
  }
  END {
    label["sqlite"] = "export, SQLite"; label["pg1"] = "export, PostgreSQL (unix socket)"
    label["lb1"] = "HAProxy -> 1 PostgreSQL node"; label["lb3"] = "HAProxy -> 3 PostgreSQL nodes"
    label["pgbench"] = "pgbench -S -M prepared (baseline)"
    printf "%-36s %12s %9s %9s\n", "server", "requests/s", "p50 ms", "p99 ms"
    split("sqlite pg1 lb1 lb3 pgbench", order, " ")
    for (i = 1; i <= 5; i++) {
      s = order[i]
      if (s == "pgbench")
        printf "%-36s %12.0f %9s %9s\n", label[s], median(rps[s]), "-", "-"
      else
        printf "%-36s %12.0f %9.3f %9.3f\n", label[s], median(rps[s]), median(p50[s]), median(p99[s])
    }
    printf "PostgreSQL/SQLite (one node):           %.3f\n", ratio("pg1", "sqlite")
    printf "PostgreSQL node/pgbench round trips:    %.3f\n", ratio("pg1", "pgbench")
    printf "HAProxy cost (1 node behind it/direct): %.3f\n", ratio("lb1", "pg1")
    printf "3 nodes/1 node, both behind HAProxy:    %.3f\n", ratio("lb3", "lb1")
  }' "$tmp/results"
