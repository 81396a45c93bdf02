#!/usr/bin/env bash
# large: two clusters of N/2 masters each (default N = 30) on 127.0.0.1 in a
# private namespace, node timeout 2 s (NODE_TIMEOUT ms overrides), captured
# for SECONDS (default 180);
# halfway through, the operator MEETs one node of each: the clusters merge.
# For throughput benchmarks and chart legibility; too big to commit.
#
# usage: large.sh SERVER_BINARY OUT_DIR [NODES] [SECONDS]     (as root)
# writes OUT_DIR/lo.pcap.gz (lo.pcap with RAW_PCAP=1), tcpdump.log (its
# drop count), truth.json, info-7000.txt.
BIN=$1
OUT=$2
N=${3:-30}
SECS=${4:-180}
HALF=$((N / 2))
NS="mglab-large-$$"
FILTER='tcp portrange 7000-7999 or tcp portrange 17000-17999'
. "$(dirname "$0")/loopback_common.sh"
PORTS=()
for i in $(seq 0 $((N - 1))); do PORTS+=($((7000 + i))); done
for p in "${PORTS[@]}"; do start "$p" "$p" --cluster-node-timeout "${NODE_TIMEOUT:-2000}"; done
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
finish_capture
echo "wrote $OUT ($N nodes, 7000 knows $KNOWN)"
