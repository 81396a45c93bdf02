#!/usr/bin/env bash
# CLUSTER NODES at known moments, for comparing `meetgraph nodes --as X
# --at T` with what the servers printed. On loopback in a private network
# namespace (mglnodes-<pid>): cluster X = masters 7000-7002 (all slots)
# with 7003 replicating 7002; cluster Y = master 7010 (slots 0-5460, the
# same as 7000) with replica 7011. Snapshots of every live node's CLUSTER
# NODES, each with the millisecond before the command was sent and after
# the reply was read:
#   before-merge   both clusters healthy
#   after-merge    7001 CLUSTER MEET 127.0.0.1 7010, settled (slot conflict
#                  on 0-5460 resolved by the servers)
#   after-failover 7002 killed (SIGKILL), its replica 7003 promoted
#   pfail          7011 killed, node timeout + 0.4 s later
#   after-fail     once every live node says 7011 is fail (or 8 s)
#
# usage: nodes_exact.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/lo.pcap.gz, truth.json (with "snapshots"),
# nodes-<label>-<port>.txt; removes namespace, servers, tcpdump on exit.
BIN=$1
OUT=$2
NS="mglnodes-$$"
FILTER='tcp portrange 7000-7011 or tcp portrange 17000-17011'
. "$(dirname "$0")/loopback_common.sh"
TIMEOUT=2000
PORTS="7000 7001 7002 7003 7010 7011"
VALIDITY=--cluster-replica-validity-factor
version_lt 5.0 && VALIDITY=--cluster-slave-validity-factor
for p in $PORTS; do start "$p" "$p" --cluster-node-timeout "$TIMEOUT" "$VALIDITY" 0; done
VERSION=$(server_version 7000)
declare -A ID
for p in $PORTS; do ID[$p]=$(C "$p" cluster myid | tr -d '\r'); done
split_slots 7000 7001 7002
C 7010 cluster addslots $(seq 0 5460) >/dev/null
T_X=$(ms)
for p in 7001 7002 7003; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
C 7010 cluster meet 127.0.0.1 7011 >/dev/null
sleep 2
replicate() {
  local r
  r=$(C "$1" cluster replicate "${ID[$2]}" | tr -d '\r')
  [ "$r" = OK ] || { echo "replicate $1 -> $2: $r" >&2; exit 1; }
}
replicate 7003 7002
replicate 7011 7010
wait_ok 7000 7001 7002 7003
sleep 3
# snapshot LABEL PORT...: CLUSTER NODES of each port with the time around
# it, one JSON object per line in $WORK/snapshots.
snapshot() {
  local label=$1
  shift
  ip netns exec "$NS" python3 - "$OUT" "$label" "$@" >>"$WORK/snapshots" <<'EOF'
import json, socket, sys, time
out, label, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
for p in ports:
    s = socket.create_connection(("127.0.0.1", int(p)))
    buf = b""
    before = int(time.time() * 1000)
    s.sendall(b"*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n")
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        head, _, rest = buf.partition(b"\r\n")
        if head.startswith(b"$") and len(rest) >= int(head[1:]) + 2:
            break
    after = int(time.time() * 1000)
    s.close()
    head, _, rest = buf.partition(b"\r\n")
    text = rest[: int(head[1:])].decode()
    name = "nodes-%s-%s.txt" % (label, p)
    open("%s/%s" % (out, name), "w").write(text)
    print(json.dumps({"label": label, "port": p, "file": name, "before_ms": before, "after_ms": after}))
EOF
}
snapshot before-merge $PORTS
T_MEET=$(ms)
[ "$(C 7001 cluster meet 127.0.0.1 7010 | tr -d '\r')" = OK ] || { echo "CLUSTER MEET failed" >&2; exit 1; }
sleep 8
snapshot after-merge $PORTS
KNOWN=$(grep -c . "$OUT/nodes-after-merge-7001.txt")
[ "$KNOWN" -eq 6 ] || { echo "expected a merge (6 nodes), 7001 knows $KNOWN" >&2; exit 1; }
T_KILL=$(ms)
kill -9 "$(cat "$WORK/7002/pid")"
wait_master 7003
T_PROMOTED=$(ms)
sleep 3
LIVE="7000 7001 7003 7010 7011"
snapshot after-failover $LIVE
T_KILL2=$(ms)
kill -9 "$(cat "$WORK/7011/pid")"
LIVE="7000 7001 7003 7010"
sleep "$(awk "BEGIN{print $TIMEOUT/1000 + 0.4}")"
snapshot pfail $LIVE
for _ in $(seq 80); do
  all=yes
  for p in $LIVE; do C "$p" cluster nodes | grep "^${ID[7011]}" | grep -q ',fail ' || all=no; done
  [ $all = yes ] && break
  sleep 0.1
done
sleep 0.5
snapshot after-fail $LIVE
sleep 1
{
  echo "{"
  echo "  \"scenario\": \"nodes-exact\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"node_timeout_ms\": $TIMEOUT,"
  echo "  \"nodes\": {"
  truth_nodes $PORTS
  echo "  },"
  echo "  \"merged\": true,"
  echo "  \"failover\": {\"failed\": \"7002\", \"promoted\": \"7003\"},"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: 7000 meets 7001-7003; cluster Y: 7010 meets 7011\"}, {\"t_ms\": $T_MEET, \"what\": \"operator: 7001 CLUSTER MEET 127.0.0.1 7010\"}, {\"t_ms\": $T_KILL, \"what\": \"operator: kill -9 master 7002\"}, {\"t_ms\": $T_PROMOTED, \"what\": \"7003 reports itself master\"}, {\"t_ms\": $T_KILL2, \"what\": \"operator: kill -9 7011\"}],"
  echo "  \"snapshots\": ["
  sed 's/^/    /; $!s/$/,/' "$WORK/snapshots"
  echo "  ]"
  echo "}"
} > "$OUT/truth.json"
finish_capture
echo "wrote $OUT ($VERSION)"
