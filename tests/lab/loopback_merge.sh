#!/usr/bin/env bash
# Operator-merge on loopback: two healthy 3-master clusters (X = 7000-7002,
# Y = 7010-7012) in a private network namespace, then `CLUSTER MEET
# 127.0.0.1 7011` on 7001. Captures data and bus ports on lo with tcpdump.
#
# usage: loopback_merge.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/lo.pcap.gz, truth.json, nodes-before-7001.txt,
# nodes-after-7001.txt, info-*.txt. Everything (namespace, servers,
# tcpdump) is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
BIN=$1
OUT=$2
NS="mglab-merge-$$"
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
ip netns exec "$NS" tcpdump -i lo -U -w "$WORK/lo.pcap" 'tcp portrange 7000-7020 or tcp portrange 17000-17020' 2>/dev/null &
sleep 1
C() { ip netns exec "$NS" redis-cli -p "$@"; }
PORTS="7000 7001 7002 7010 7011 7012"
for p in $PORTS; do
  mkdir -p "$WORK/$p"
  ip netns exec "$NS" "$BIN" --port "$p" --cluster-enabled yes --cluster-config-file "$WORK/$p/nodes.conf" \
    --cluster-node-timeout 3000 --dir "$WORK/$p" --daemonize yes --save "" --appendonly no --logfile "$WORK/$p/log" >/dev/null
done
for p in $PORTS; do
  for _ in $(seq 50); do C "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
INFO=$(C 7000 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
C 7000 cluster addslots $(seq 0 5460) >/dev/null
C 7001 cluster addslots $(seq 5461 10922) >/dev/null
C 7002 cluster addslots $(seq 10923 16383) >/dev/null
C 7010 cluster addslots $(seq 0 5460) >/dev/null
C 7011 cluster addslots $(seq 5461 10922) >/dev/null
C 7012 cluster addslots $(seq 10923 16383) >/dev/null
T_X=$(ms); C 7000 cluster meet 127.0.0.1 7001 >/dev/null; C 7000 cluster meet 127.0.0.1 7002 >/dev/null
T_Y=$(ms); C 7010 cluster meet 127.0.0.1 7011 >/dev/null; C 7010 cluster meet 127.0.0.1 7012 >/dev/null
for _ in $(seq 100); do
  [ "$(C 7000 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] &&
    [ "$(C 7010 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] && break
  sleep 0.1
done
T_OK=$(ms)
C 7001 cluster nodes > "$OUT/nodes-before-7001.txt"
sleep 2
T_MEET=$(ms)
[ "$(C 7001 cluster meet 127.0.0.1 7011)" = OK ] || { echo "CLUSTER MEET failed" >&2; exit 1; }
sleep 8
C 7001 cluster nodes > "$OUT/nodes-after-7001.txt"
for p in $PORTS; do C "$p" cluster info > "$OUT/info-$p.txt"; done
# The servers must have merged: 7001 knows all six nodes.
KNOWN=$(grep -c . "$OUT/nodes-after-7001.txt")
[ "$KNOWN" -eq 6 ] || { echo "expected a merge (6 nodes), 7001 knows $KNOWN" >&2; exit 1; }
{
  echo "{"
  echo "  \"scenario\": \"operator-merge\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_MEET,"
  echo "  \"nodes\": {"
  first=1
  for p in $PORTS; do
    id=$(C "$p" cluster myid | tr -d '\r')
    cl=X; [ "${p:2:1}" = 1 ] && cl=Y
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": {"id": "%s", "cluster": "%s", "where": "127.0.0.1:%s"}' "$p" "$id" "$cl" "$p"
  done
  echo ""
  echo "  },"
  echo "  \"merged\": true,"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: 7000 meets 7001 and 7002\"}, {\"t_ms\": $T_Y, \"what\": \"cluster Y: 7010 meets 7011 and 7012\"}, {\"t_ms\": $T_OK, \"what\": \"both clusters ok\"}, {\"t_ms\": $T_MEET, \"what\": \"operator: 7001 CLUSTER MEET 127.0.0.1 7011\"}]"
  echo "}"
} > "$OUT/truth.json"
sleep 1
ip netns pids "$NS" | xargs -r kill 2>/dev/null || true
sleep 1
gzip -9 -c "$WORK/lo.pcap" > "$OUT/lo.pcap.gz"
echo "wrote $OUT ($VERSION)"
