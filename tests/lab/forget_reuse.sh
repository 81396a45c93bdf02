#!/usr/bin/env bash
# forget-reuse (cf. redis/redis issues 5234 and 7287): cluster X = 7000-7002
# (slots) + 7003 (slotless), cluster Y = 7010-7012. The operator removes
# 7003 from X with CLUSTER FORGET on 7000 and 7001 but not on 7002 (which
# still remembers it), stops it, and starts a fresh node on the same
# 127.0.0.1:7003 that joins Y. X's nodes then reach 127.0.0.1:17003 for the
# old node and a node of Y answers. Captured on lo for 75 s (past the 60 s
# FORGET blacklist).
#
# usage: forget_reuse.sh SERVER_BINARY OUT_DIR     (as root)
BIN=$1
OUT=$2
NS="mglab-fr-$$"
FILTER='tcp portrange 7000-7020 or tcp portrange 17000-17020'
. "$(dirname "$0")/loopback_common.sh"
for p in 7000 7001 7002 7003 7010 7011 7012; do start "$p" "$p" --cluster-node-timeout 3000; done
VERSION=$(server_version 7000)
split_slots 7000 7001 7002
split_slots 7010 7011 7012
T_X=$(ms); for p in 7001 7002 7003; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
T_Y=$(ms); for p in 7011 7012; do C 7010 cluster meet 127.0.0.1 "$p" >/dev/null; done
wait_ok 7000 7010
sleep 3
OLD=$(C 7003 cluster myid | tr -d '\r')
C 7000 cluster nodes > "$OUT/nodes-before-7000.txt"
T_FORGET=$(ms)
for p in 7000 7001; do
  r=$(C "$p" cluster forget "$OLD"); [ "$r" = OK ] || { echo "forget on $p: $r" >&2; exit 1; }
done
kill -9 "$(cat "$WORK/7003/pid")"
sleep 1
T_REUSE=$(ms)
start 7003 7003new --cluster-node-timeout 3000
NEW=$(C 7003 cluster myid | tr -d '\r')
C 7010 cluster meet 127.0.0.1 7003 >/dev/null
sleep 75
C 7000 cluster nodes > "$OUT/nodes-after-7000.txt"
C 7002 cluster nodes > "$OUT/nodes-after-7002.txt"
C 7010 cluster nodes > "$OUT/nodes-after-7010.txt"
for p in 7000 7001 7002 7003 7010 7011 7012; do C "$p" cluster info > "$OUT/info-$p.txt"; done
grep -q "^$NEW" "$OUT/nodes-after-7010.txt" || { echo "the new node did not join Y" >&2; exit 1; }
MERGED=false
ID7010=$(C 7010 cluster myid | tr -d '\r')
grep -v noaddr "$OUT/nodes-after-7000.txt" | grep -q "^$ID7010" && MERGED=true
{
  echo "{"
  echo "  \"scenario\": \"forget-reuse\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_FORGET,"
  echo "  \"nodes\": {"
  for p in 7000 7001 7002 7010 7011 7012; do
    cl=X; [ "${p:2:1}" = 1 ] && cl=Y
    printf '    "%s": {"id": "%s", "cluster": "%s", "where": "127.0.0.1:%s"},\n' "$p" "$(C "$p" cluster myid | tr -d '\r')" "$cl" "$p"
  done
  printf '    "7003-old": {"id": "%s", "cluster": "X", "where": "127.0.0.1:7003 until killed"},\n' "$OLD"
  printf '    "7003-new": {"id": "%s", "cluster": "Y", "where": "127.0.0.1:7003 after the reuse"}\n' "$NEW"
  echo "  },"
  echo "  \"merged\": $MERGED,"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: 7000 meets 7001, 7002, 7003\"}, {\"t_ms\": $T_Y, \"what\": \"cluster Y: 7010 meets 7011, 7012\"}, {\"t_ms\": $T_FORGET, \"what\": \"operator: CLUSTER FORGET old 7003 on 7000 and 7001 (not 7002), kill -9 old 7003\"}, {\"t_ms\": $T_REUSE, \"what\": \"operator: fresh node on 127.0.0.1:7003, 7010 CLUSTER MEET 127.0.0.1 7003\"}]"
  echo "}"
} > "$OUT/truth.json"
finish_capture
echo "wrote $OUT ($VERSION, merged=$MERGED)"
