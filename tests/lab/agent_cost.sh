#!/usr/bin/env bash
# The agent's cost on a busy host (issue 28): a 3-node Redis cluster on a
# private namespace's loopback, redis-benchmark -c 50 -t set,get against
# it, and one capture tool on lo at a time:
#   none            the server alone
#   tcpdump         tcpdump -i lo -w /dev/null
#   watch           meetgraph watch -i lo (auto filter, the default)
#   watch-nofilter  meetgraph watch -i lo --no-auto-filter
#   watch-ports     meetgraph watch -i lo -f 'tcp portrange 17000-17002'
# For each: packets the tool captured, dropped by libpcap, its CPU seconds
# and peak RSS (GNU time), and the server's ops/s (redis-benchmark -q).
# A table on stdout, raw logs in OUT.
#
# Also, with the auto filter: `meetgraph analyze -i lo` during a busy
# run and tcpdump of the bus ports alone at the same time; the two
# analyses (JSON) are compared with the capture counters and frame
# numbers left out (bus-only.json, busy.json, compare.txt).
#
# HOSTS=2: the two-host variant. The server host (a namespace) runs
# nodes 7000 and 7001, the client host (another namespace, joined by a
# veth pair mgcs/mgcc, 10.77.0.1 / 10.77.0.2) runs node 7002 and
# redis-benchmark: the bus between the hosts and the client load to the
# server's nodes cross the veth, and every tool captures on the server
# side's end of it (mgcs) instead of lo.
#
# usage: sudo tests/lab/agent_cost.sh [BIN] [OUT] [REQUESTS]
#   BIN: meetgraph binary (target/release/meetgraph, built with --features live)
#   REQUESTS: per benchmark run (default 1000000)
#   ONLY_COMPARE=1: only the comparison of the analyses
#   HOSTS=2: the two-host variant
set -euo pipefail
BIN=${1:-target/release/meetgraph}
OUT=${2:-/tmp/agent-cost}
REQUESTS=${3:-1000000}
BIN=$(readlink -f "$BIN")
SERVER=${SERVER:-redis-server}
HOSTS=${HOSTS:-1}
NS=mglcost$$
NSC=$NS
if [ "$HOSTS" = 2 ]; then NSC=mglcostc$$; fi
mkdir -p "$OUT"
WORK=$(mktemp -d)
cleanup() {
  for ns in "$NS" "$NSC"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  sleep 0.3
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$NSC" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# N: on the server host (where the tools run); C: on the client host.
N() { ip netns exec "$NS" "$@"; }
C() { ip netns exec "$NSC" "$@"; }
ip netns add "$NS"
N ip link set lo up
if [ "$HOSTS" = 2 ]; then
  IFACE=mgcs
  ip netns add "$NSC"
  C ip link set lo up
  N ip link add mgcs type veth peer name mgcc netns "$NSC"
  N ip addr add 10.77.0.1/24 dev mgcs
  C ip addr add 10.77.0.2/24 dev mgcc
  N ip link set mgcs up
  C ip link set mgcc up
  # The hosts' addresses of each node (7003 is met during the busy run).
  declare -A HOST_OF=([7000]=N [7001]=N [7002]=C [7003]=C)
  declare -A IP_OF=([7000]=10.77.0.1 [7001]=10.77.0.1 [7002]=10.77.0.2 [7003]=10.77.0.2)
else
  IFACE=lo
  declare -A HOST_OF=([7000]=N [7001]=N [7002]=N [7003]=N)
  declare -A IP_OF=([7000]=127.0.0.1 [7001]=127.0.0.1 [7002]=127.0.0.1 [7003]=127.0.0.1)
fi
# node PORT: a cluster node on its host.
node() {
  mkdir -p "$WORK/$1"
  ${HOST_OF[$1]} "$SERVER" --port "$1" --cluster-enabled yes --cluster-config-file "$WORK/$1/nodes.conf" \
    --dir "$WORK/$1" --daemonize yes --save "" --appendonly no --logfile "$WORK/$1/log" --protected-mode no
}
# cli PORT ARGS: redis-cli to that node, from the client host.
cli() {
  local p=$1
  shift
  C redis-cli -h "${IP_OF[$p]}" -p "$p" "$@"
}
for p in 7000 7001 7002; do node "$p"; done
sleep 1
cli 7000 cluster meet "${IP_OF[7001]}" 7001 >/dev/null
cli 7000 cluster meet "${IP_OF[7002]}" 7002 >/dev/null
cli 7000 cluster addslots $(seq 0 5460) >/dev/null
cli 7001 cluster addslots $(seq 5461 10922) >/dev/null
cli 7002 cluster addslots $(seq 10923 16383) >/dev/null
for _ in $(seq 100); do
  cli 7000 cluster info | grep -q 'cluster_state:ok' && break
  sleep 0.2
done

bench() {
  C redis-benchmark --cluster -h "${IP_OF[7000]}" -p 7000 -c 50 -t set,get -n "$REQUESTS" -q 2>/dev/null |
    tr '\r' '\n' | grep -E '^(SET|GET):' | grep -o '[0-9.]* requests per second' |
    awk '{s += $1; n++} END {printf "%d", s / n}'
}

# run NAME CMD...: the tool under GNU time (CPU, RSS), the benchmark, then
# SIGINT to the tool (tcpdump and meetgraph print their counts).
run() {
  local name=$1
  shift
  local log="$OUT/$name.log"
  if [ "$name" = none ]; then
    ops=$(bench)
    echo "| none (the server alone) | – | – | – | – | $ops |"
    return
  fi
  # ip execs time (so $! is time's pid); the tool is time's child.
  ip netns exec "$NS" /usr/bin/time -f 'TIME %U %S %M' "$@" >"$OUT/$name.out" 2>"$log" &
  local pid=$!
  sleep 2
  ops=$(bench)
  sleep 1
  kill -INT "$(pgrep -P "$pid" | head -1)" 2>/dev/null || true
  wait "$pid" || true
  local cpu rss captured dropped
  cpu=$(awk '/^TIME/ {printf "%.2f", $2 + $3}' "$log")
  rss=$(awk '/^TIME/ {printf "%d", $4 / 1024}' "$log")
  captured=$(grep -oE '^[0-9]+ packets captured' "$log" | grep -oE '^[0-9]+' | tail -1)
  dropped=$(grep -oE '[0-9]+ (packets )?dropped by (kernel|libpcap)' "$log" | grep -oE '^[0-9]+' | tail -1)
  echo "| \`$name\` | ${captured:-?} | ${dropped:-?} | $cpu | $rss | $ops |"
}

if [ -z "${ONLY_COMPARE:-}" ]; then
echo "| tool on the host | packets captured | dropped by libpcap | CPU seconds | peak RSS MiB | server's ops/s |"
echo "|---|---|---|---|---|---|"
run none
run tcpdump tcpdump -i "$IFACE" -w /dev/null
run watch "$BIN" watch -i "$IFACE" --metrics 127.0.0.1:0
run watch-nofilter "$BIN" watch -i "$IFACE" --no-auto-filter
run watch-ports "$BIN" watch -i "$IFACE" -f 'tcp portrange 17000-17002'

# Idle: the agent alone on the idle cluster for 10 s.
N /usr/bin/time -f 'TIME %U %S %M' "$BIN" watch -i "$IFACE" --duration 10 >"$OUT/idle.out" 2>"$OUT/idle.log" || true
echo
echo "idle cluster, 10 s: $(awk '/^TIME/ {printf "%.2f CPU seconds, peak RSS %d MiB", $2 + $3, $4 / 1024}' "$OUT/idle.log")"
fi

# Nothing of the bus lost: the agent's analysis of a busy run against the
# bus ports captured apart at the same time (with the handshakes and
# CLUSTER commands of connections to 7000, where the operator's MEET goes).
ip netns exec "$NS" tcpdump -i "$IFACE" -U -w "$OUT/bus-only.pcap" 'tcp portrange 17000-17003 or (tcp port 7000 and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 or tcp[((tcp[12] & 0xf0) >> 2):4] = 0x2a340d0a))' 2>"$OUT/bus-tcpdump.log" &
TPID=$!
ip netns exec "$NS" "$BIN" analyze -i "$IFACE" --json "$OUT/busy.json" >"$OUT/busy.report" 2>"$OUT/busy.log" &
APID=$!
sleep 2
bench >/dev/null
# A node met during the load: the new connections must be read whole.
node 7003
sleep 0.5
cli 7000 cluster meet "${IP_OF[7003]}" 7003 >/dev/null
bench >/dev/null
sleep 2
kill -INT "$APID" "$TPID" 2>/dev/null || true
wait "$APID" "$TPID" 2>/dev/null || true
"$BIN" analyze "$OUT/bus-only.pcap" --json "$OUT/bus-only.json" >/dev/null 2>&1 || true
python3 - "$OUT/busy.json" "$OUT/bus-only.json" >"$OUT/compare.txt" <<'EOF'
import json, sys
# Two libpcap handles stamp one packet a few microseconds apart and start
# and stop at different instants: times, frames, vantage names and counts
# are left out; what the analysis says is compared.
DROP = ("captures", "frame", "evidence", "other_streams", "capture", "first_frame", "ts_us", "first_ts_us",
        "last_ts_us", "first_seen_us", "last_seen_us", "vantage", "messages", "clock_offsets", "story", "summary")
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
raw = [json.load(open(p)) for p in sys.argv[1:3]]
a, b = (strip(r) for r in raw)
print("messages: busy %s, bus only %s" % (raw[0]["coverage"]["messages"], raw[1]["coverage"]["messages"]))
print("nodes: busy %d, bus only %d" % (len(a["nodes"]), len(b["nodes"])))
print("anomalies of the busy run:", raw[0].get("anomalies"))
print("equal (times, frames, counts left out):", a == b)
for x, y in zip(a["introductions"], b["introductions"]):
    if x != y:
        print("  introduction: busy", x.get("command"), "| bus only", y.get("command"))
for k in a:
    if a[k] != b.get(k):
        print("  differs:", k)
EOF
echo
cat "$OUT/compare.txt"
