#!/usr/bin/env bash
# cloned-identity: a server started from a copy of another node's
# nodes.conf (a cloned VM or container image) claims that node's id from a
# second address. Cluster X = 7000-7002 on 127.0.0.1; once healthy, 7002's
# nodes.conf is copied to a new server on 127.0.0.1:7005. Both instances
# run for ~20 s while 7000 and 7001's CLUSTER NODES are sampled every 2 s
# (nodes-timeline-*.txt). Captured on lo. (A clone bound to another
# loopback address would still dial from 127.0.0.1: servers do not bind
# outgoing bus connections unless told to, so it would differ from the
# original by nothing on the wire but its extra connections.)
#
# ADVICE=1 applies what `meetgraph audit` / `analyze` advise against this
# before the trigger: the copy's nodes.conf is deleted before it starts
# (as CLUSTER RESET HARD would), so it starts as a new node with an id of
# its own, and 7000 CLUSTER MEETs it (the way to add a node); truth.json
# then has `advice`, `conflict` null and the copy's own id.
#
# usage: [ADVICE=1] cloned_identity.sh SERVER_BINARY OUT_DIR     (as root)
BIN=$1
OUT=$2
NS="mglab-ci-$$"
FILTER='tcp portrange 7000-7020 or tcp portrange 17000-17020'
. "$(dirname "$0")/loopback_common.sh"
for p in 7000 7001 7002; do start "$p" "$p" --cluster-node-timeout 3000; done
VERSION=$(server_version 7000)
split_slots 7000 7001 7002
T_X=$(ms); for p in 7001 7002; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
wait_ok 7000
sleep 3
ID=$(C 7002 cluster myid | tr -d '\r')
C 7000 cluster nodes > "$OUT/nodes-before-7000.txt"
mkdir -p "$WORK/clone"
cp "$WORK/7002/nodes.conf" "$WORK/clone/nodes.conf"
ADVICE_JSON=null
if [ "${ADVICE:-}" = 1 ]; then
  T_ADV=$(ms)
  rm -f "$WORK/clone/nodes.conf"
  ADVICE_JSON="{\"t_ms\": $T_ADV, \"what\": \"rm nodes.conf on the copy before it starts (a new id), then 7000 CLUSTER MEET 127.0.0.1 7005\"}"
fi
T_CLONE=$(ms)
ip netns exec "$NS" "$BIN" --port 7005 --cluster-enabled yes \
  --cluster-config-file "$WORK/clone/nodes.conf" --cluster-node-timeout 3000 --dir "$WORK/clone" \
  --daemonize yes --save "" --appendonly no --logfile "$WORK/clone/log" --pidfile "$WORK/clone/pid" >/dev/null
for _ in $(seq 50); do C 7005 ping >/dev/null 2>&1 && break; sleep 0.1; done
CLONE_ID=$(C 7005 cluster myid | tr -d '\r')
if [ "${ADVICE:-}" = 1 ]; then
  [ "$CLONE_ID" != "$ID" ] || { echo "the advised copy kept id $ID" >&2; exit 1; }
  C 7000 cluster meet 127.0.0.1 7005 >/dev/null
else
  [ "$CLONE_ID" = "$ID" ] || { echo "the clone has id $CLONE_ID, not $ID" >&2; exit 1; }
fi
: > "$OUT/nodes-timeline-7000.txt"
: > "$OUT/nodes-timeline-7001.txt"
for _ in $(seq 10); do
  sleep 2
  for p in 7000 7001; do
    echo "# t_ms=$(ms)" >> "$OUT/nodes-timeline-$p.txt"
    C "$p" cluster nodes | grep "^$ID" >> "$OUT/nodes-timeline-$p.txt"
  done
done
for p in 7000 7001 7002; do C "$p" cluster nodes > "$OUT/nodes-after-$p.txt"; C "$p" cluster info > "$OUT/info-$p.txt"; done
C 7005 cluster nodes > "$OUT/nodes-after-clone.txt"
C 7005 cluster info > "$OUT/info-clone.txt"
for n in 7000 7001 7002 clone; do
  grep -iE "cluster|node|link|fail|sender|address|epoch" "$WORK/$n/log" | tail -200 > "$OUT/log-$n.txt" || true
done
# What the peers ended up believing about the id (address, flags, link).
ADDRS=$(cut -d' ' -f2 "$OUT/nodes-timeline-7000.txt" "$OUT/nodes-timeline-7001.txt" | grep -v '^t_ms' | grep -v '^$' | sort -u | tr '\n' ' ')
FLAGS=$(cut -d' ' -f3,8 "$OUT/nodes-timeline-7000.txt" "$OUT/nodes-timeline-7001.txt" | grep -v t_ms | sort | uniq -c | tr -s ' ' | tr '\n' ';')
{
  echo "{"
  echo "  \"scenario\": \"cloned-identity\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_CLONE,"
  echo "  \"nodes\": {"
  for p in 7000 7001 7002; do
    printf '    "%s": {"id": "%s", "cluster": "X", "where": "127.0.0.1:%s"},\n' "$p" "$(C "$p" cluster myid | tr -d '\r')" "$p"
  done
  printf '    "clone": {"id": "%s", "cluster": "X", "where": "127.0.0.1:7005 (a copy of 7002'"'"'s nodes.conf)"}\n' "$CLONE_ID"
  echo "  },"
  if [ "${ADVICE:-}" = 1 ]; then
    echo "  \"conflict\": null, \"peer_addresses_seen\": \"$ADDRS\", \"peer_flags_seen\": \"$FLAGS\","
  else
    echo "  \"conflict\": {\"id\": \"$ID\", \"addresses\": [\"127.0.0.1:7002@17002\", \"127.0.0.1:7005@17005\"], \"began_ms\": $T_CLONE,"
    echo "               \"peer_addresses_seen\": \"$ADDRS\", \"peer_flags_seen\": \"$FLAGS\"},"
  fi
  echo "  \"advice\": $ADVICE_JSON,"
  echo "  \"merged\": false,"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: 7000 meets 7001, 7002\"}, {\"t_ms\": $T_CLONE, \"what\": \"operator: a copy of 7002's nodes.conf starts at 127.0.0.1:7005\"}]"
  echo "}"
} > "$OUT/truth.json"
finish_capture
echo "wrote $OUT ($VERSION, id $ID at 127.0.0.1:7002 and 127.0.0.1:7005)"
