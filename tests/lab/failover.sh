#!/usr/bin/env bash
# Failover on loopback: masters 7000-7002 with replicas 7003-7005 in a
# private network namespace; 7002 is killed with SIGKILL and its replica is
# promoted. Captures data and bus ports on lo.
#
# usage: failover.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/lo.pcap.gz, truth.json, nodes-{before,after}-7000.txt,
# info-*.txt; removes the namespace, servers and tcpdump on exit.
BIN=$1
OUT=$2
NS="mglab-fo-$$"
FILTER='tcp portrange 7000-7010 or tcp portrange 17000-17010'
. "$(dirname "$0")/loopback_common.sh"
PORTS="7000 7001 7002 7003 7004 7005"
VALIDITY=--cluster-replica-validity-factor
version_lt 5.0 && VALIDITY=--cluster-slave-validity-factor
for p in $PORTS; do start "$p" "$p" --cluster-node-timeout 2000 "$VALIDITY" 0; done
VERSION=$(server_version 7000)
split_slots 7000 7001 7002
T_MEET=$(ms)
for p in 7001 7002 7003 7004 7005; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
sleep 2
for pair in "7003 7000" "7004 7001" "7005 7002"; do
  set -- $pair
  r=$(C "$1" cluster replicate "$(C "$2" cluster myid | tr -d '\r')"); [ "$r" = OK ] || { echo "replicate $1 -> $2: $r" >&2; exit 1; }
done
wait_ok 7000
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
finish_capture
echo "wrote $OUT ($VERSION)"
