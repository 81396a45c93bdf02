#!/usr/bin/env bash
# large: two clusters of N/2 masters each (default N = 30) on 127.0.0.1 in a
# private namespace, node timeout 2 s, captured for SECONDS (default 180);
# halfway through, the operator MEETs one node of each: the clusters merge.
# For throughput benchmarks and chart legibility; too big to commit.
#
# usage: large.sh SERVER_BINARY OUT_DIR [NODES] [SECONDS]     (as root)
set -euo pipefail
BIN=$1
OUT=$2
N=${3:-30}
SECS=${4:-180}
HALF=$((N / 2))
NS="mglab-large-$$"
mkdir -p "$OUT"
WORK=$(mktemp -d)
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  sleep 0.3
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ms() { date +%s%3N; }
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" tcpdump -i lo -U -w "$WORK/lo.pcap" 'tcp portrange 7000-7999 or tcp portrange 17000-17999' 2>/dev/null &
sleep 1
C() { ip netns exec "$NS" redis-cli -p "$@"; }
PORTS=()
for i in $(seq 0 $((N - 1))); do PORTS+=($((7000 + i))); done
for p in "${PORTS[@]}"; do
  mkdir -p "$WORK/$p"
  ip netns exec "$NS" "$BIN" --port "$p" --cluster-enabled yes --cluster-config-file "$WORK/$p/nodes.conf" \
    --cluster-node-timeout 2000 --dir "$WORK/$p" --daemonize yes --save "" --appendonly no --logfile "$WORK/$p/log" >/dev/null
done
for p in "${PORTS[@]}"; do
  for _ in $(seq 50); do C "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
per=$((16384 / HALF))
for side in 0 1; do
  for k in $(seq 0 $((HALF - 1))); do
    p=$((7000 + side * HALF + k))
    lo=$((k * per)); hi=$(( k == HALF - 1 ? 16383 : (k + 1) * per - 1 ))
    C "$p" cluster addslots $(seq $lo $hi) >/dev/null
    [ "$k" -gt 0 ] && C $((7000 + side * HALF)) cluster meet 127.0.0.1 "$p" >/dev/null
  done
done
T_START=$(ms)
sleep $((SECS / 2))
T_MEET=$(ms)
C 7001 cluster meet 127.0.0.1 $((7000 + HALF + 1)) >/dev/null
sleep $((SECS / 2))
C 7000 cluster info > "$OUT/info-7000.txt"
KNOWN=$(C 7000 cluster nodes | grep -c .)
echo "{\"scenario\": \"large\", \"nodes\": $N, \"known_by_7000_at_end\": $KNOWN, \"events\": [{\"t_ms\": $T_START, \"what\": \"two clusters of $HALF masters created\"}, {\"t_ms\": $T_MEET, \"what\": \"operator: 7001 CLUSTER MEET 127.0.0.1 $((7000 + HALF + 1))\"}]}" > "$OUT/truth.json"
ip netns pids "$NS" | xargs -r kill 2>/dev/null || true
sleep 1
gzip -6 -c "$WORK/lo.pcap" > "$OUT/lo.pcap.gz"
echo "wrote $OUT ($N nodes, 7000 knows $KNOWN)"
