#!/usr/bin/env bash
# Operator-merge on loopback: two healthy 3-master clusters (X = 7000-7002,
# Y = 7010-7012) in a private network namespace, then `CLUSTER MEET
# 127.0.0.1 7011` on 7001. Captures data and bus ports on lo with tcpdump.
#
# usage: loopback_merge.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/lo.pcap.gz, truth.json, nodes-before-7001.txt,
# nodes-after-7001.txt, info-*.txt. Everything (namespace, servers,
# tcpdump) is removed on exit, also on failure or Ctrl-C.
BIN=$1
OUT=$2
NS="mglab-merge-$$"
FILTER='tcp portrange 7000-7020 or tcp portrange 17000-17020'
. "$(dirname "$0")/loopback_common.sh"
PORTS="7000 7001 7002 7010 7011 7012"
for p in $PORTS; do start "$p" "$p" --cluster-node-timeout 3000; done
VERSION=$(server_version 7000)
split_slots 7000 7001 7002
split_slots 7010 7011 7012
T_X=$(ms); C 7000 cluster meet 127.0.0.1 7001 >/dev/null; C 7000 cluster meet 127.0.0.1 7002 >/dev/null
T_Y=$(ms); C 7010 cluster meet 127.0.0.1 7011 >/dev/null; C 7010 cluster meet 127.0.0.1 7012 >/dev/null
wait_ok 7000 7010
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
finish_capture
echo "wrote $OUT ($VERSION)"
