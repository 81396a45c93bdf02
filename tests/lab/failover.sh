#!/usr/bin/env bash
# Failover on loopback: masters 7000-7002 with replicas 7003-7005 in a
# private network namespace; 7002 is killed with SIGKILL and its replica is
# promoted. Captures data and bus ports on lo.
#
# usage: failover.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/lo.pcap.gz, truth.json, nodes-{before,after}-7000.txt,
# info-*.txt; removes the namespace, servers and tcpdump on exit.
set -euo pipefail
BIN=$1
OUT=$2
NS="mglab-fo-$$"
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
ip netns exec "$NS" tcpdump -i lo -U -w "$WORK/lo.pcap" 'tcp portrange 7000-7010 or tcp portrange 17000-17010' 2>/dev/null &
sleep 1
C() { ip netns exec "$NS" redis-cli -p "$@"; }
PORTS="7000 7001 7002 7003 7004 7005"
for p in $PORTS; do
  mkdir -p "$WORK/$p"
  ip netns exec "$NS" "$BIN" --port "$p" --cluster-enabled yes --cluster-config-file "$WORK/$p/nodes.conf" \
    --cluster-node-timeout 2000 --cluster-replica-validity-factor 0 --dir "$WORK/$p" --daemonize yes --save "" --appendonly no \
    --logfile "$WORK/$p/log" --pidfile "$WORK/$p/pid" >/dev/null
done
for p in $PORTS; do
  for _ in $(seq 50); do C "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
INFO=$(C 7000 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
C 7000 cluster addslots $(seq 0 5460) >/dev/null
C 7001 cluster addslots $(seq 5461 10922) >/dev/null
C 7002 cluster addslots $(seq 10923 16383) >/dev/null
T_MEET=$(ms)
for p in 7001 7002 7003 7004 7005; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
sleep 2
for pair in "7003 7000" "7004 7001" "7005 7002"; do
  set -- $pair
  r=$(C "$1" cluster replicate "$(C "$2" cluster myid | tr -d '\r')"); [ "$r" = OK ] || { echo "replicate $1 -> $2: $r" >&2; exit 1; }
done
for _ in $(seq 100); do
  [ "$(C 7000 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] && break
  sleep 0.1
done
sleep 3
C 7000 cluster nodes > "$OUT/nodes-before-7000.txt"
declare -A ID
for p in $PORTS; do ID[$p]=$(C "$p" cluster myid | tr -d '\r'); done
T_KILL=$(ms)
kill -9 "$(cat "$WORK/7002/pid")"
promoted=0
for _ in $(seq 150); do
  if C 7005 cluster nodes 2>/dev/null | grep myself | grep -q master; then promoted=1; break; fi
  sleep 0.1
done
[ $promoted = 1 ] || { echo "7005 was not promoted" >&2; C 7005 cluster nodes >&2; tail -5 "$WORK/7005/log" >&2; exit 1; }
T_PROMOTED=$(ms)
sleep 3
C 7000 cluster nodes > "$OUT/nodes-after-7000.txt"
for p in 7000 7001 7003 7004 7005; do C "$p" cluster info > "$OUT/info-$p.txt"; done
{
  echo "{"
  echo "  \"scenario\": \"failover\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"nodes\": {"
  first=1
  for p in $PORTS; do
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": {"id": "%s", "cluster": "X", "where": "127.0.0.1:%s"}' "$p" "${ID[$p]}" "$p"
  done
  echo ""
  echo "  },"
  echo "  \"merged\": false,"
  echo "  \"failover\": {\"failed\": \"7002\", \"promoted\": \"7005\"},"
  echo "  \"events\": [{\"t_ms\": $T_MEET, \"what\": \"cluster X: 7000 meets all\"}, {\"t_ms\": $T_KILL, \"what\": \"operator: kill -9 master 7002\"}, {\"t_ms\": $T_PROMOTED, \"what\": \"7005 reports itself master\"}]"
  echo "}"
} > "$OUT/truth.json"
ip netns pids "$NS" | xargs -r kill 2>/dev/null || true
sleep 1
gzip -9 -c "$WORK/lo.pcap" > "$OUT/lo.pcap.gz"
echo "wrote $OUT ($VERSION)"
