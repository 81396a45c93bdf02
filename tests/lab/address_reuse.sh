#!/usr/bin/env bash
# address-reuse (redis/redis#6174, #7287, Tendis#293): pods on one bridge,
# one IP each, all on port 7000. Cluster A = a1, a2, a3 (10.77.0.11-13),
# cluster B = b1, b2, b3 (10.77.0.21-23), 3 masters each. a3 dies (kill -9,
# no CLUSTER FORGET); once A marks it FAIL, a NEW node of cluster B starts
# in a3's pod, on a3's IP and port, and b1 MEETs it into B (the pod IP was
# reused). Then A scales up: a4 (10.77.0.14) is MET by a1 and learns from
# A's gossip that a3 lives at 10.77.0.13. Servers before 5.0.10/6.0.5
# handshake that address blindly, adopt the B node that answers, and the
# clusters merge; later ones add a3 by id and mark it noaddr. Captured on
# the bridge (every pod's bus traffic). With ORDER=scale-first, A scales up
# before the IP is reused: a4 then keeps handshaking the dead node's
# gossiped address and, on servers before 5.0.10/6.0.5, adopts the B node
# that answers there.
#
# ADVICE=1 applies what `meetgraph audit` / `analyze` advise for this
# hazard before the trigger: one second after A marks a3 FAIL (before the
# IP is reused or A scales up), `CLUSTER FORGET <a3>` on every survivor of
# A (a1, a2), within the 60 s ban; truth.json then has `advice`.
# ADVICE=late applies it only just before the IP is reused (after A has
# scaled up, with ORDER=scale-first), and waits ADVICE_WAIT_S (default 0)
# seconds before reusing it.
#
# usage: [ORDER=scale-first] [ADVICE=1|late] address_reuse.sh SERVER_BINARY OUT_DIR  (as root)
set -euo pipefail
BIN=$1
OUT=$2
P="mgr$$"
mkdir -p "$OUT"
WORK=$(mktemp -d)
NSS=()
cleanup() {
  for ns in "${NSS[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  sleep 0.3
  for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ms() { date +%s%3N; }
x() { ip netns exec "$@"; }
SW=${P}sw
ip netns add "$SW"; NSS+=("$SW")
x "$SW" ip link set lo up
x "$SW" ip link add br0 type bridge
x "$SW" ip link set br0 up
x "$SW" tcpdump -i br0 -U -s 0 -w "$WORK/br0.pcap" 'tcp port 7000 or tcp port 17000' 2>/dev/null &
# pod NAME IP: a namespace on the bridge.
pod() {
  local ns="$P$1"
  ip netns add "$ns"; NSS+=("$ns")
  x "$ns" ip link set lo up
  ip link add "${P}$1v" type veth peer name eth0 netns "$ns"
  ip link set "${P}$1v" netns "$SW"
  x "$SW" ip link set "${P}$1v" master br0 up
  x "$ns" ip addr add "$2/24" dev eth0
  x "$ns" ip link set eth0 up
}
IP_a1=10.77.0.11; IP_a2=10.77.0.12; IP_a3=10.77.0.13; IP_a4=10.77.0.14
IP_b1=10.77.0.21; IP_b2=10.77.0.22; IP_b3=10.77.0.23
ipof() { local v="IP_$1"; echo "${!v}"; }
C() { local n=$1; shift; x "$P${POD[$n]}" redis-cli -h "$(ipof "${POD[$n]}")" -p 7000 "$@"; }
declare -A POD
# start NAME [POD]: a server named NAME in pod POD (default NAME).
start() {
  local name=$1 p=${2:-$1}
  POD[$name]=$p
  mkdir -p "$WORK/$name"
  x "$P$p" "$BIN" --port 7000 --cluster-enabled yes --cluster-config-file "$WORK/$name/nodes.conf" \
    --cluster-node-timeout 3000 --dir "$WORK/$name" --daemonize yes --save "" --appendonly no --protected-mode no \
    --logfile "$WORK/$name/log" --pidfile "$WORK/$name/pid" >/dev/null
  for _ in $(seq 50); do C "$name" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$name did not start" >&2; return 1
}
for n in a1 a2 a3 a4 b1 b2 b3; do pod "$n" "$(ipof "$n")"; done
sleep 1
for n in a1 a2 a3 b1 b2 b3; do start "$n"; done
VERSION=$(C a1 info server | tr -d '\r' | grep -E '^(valkey|redis)_version' | tail -1)
C a1 cluster addslots $(seq 0 5460) >/dev/null; C a2 cluster addslots $(seq 5461 10922) >/dev/null
C a3 cluster addslots $(seq 10923 16383) >/dev/null
C b1 cluster addslots $(seq 0 5460) >/dev/null; C b2 cluster addslots $(seq 5461 10922) >/dev/null
C b3 cluster addslots $(seq 10923 16383) >/dev/null
T_A=$(ms); C a1 cluster meet "$IP_a2" 7000 >/dev/null; C a1 cluster meet "$IP_a3" 7000 >/dev/null
T_B=$(ms); C b1 cluster meet "$IP_b2" 7000 >/dev/null; C b1 cluster meet "$IP_b3" 7000 >/dev/null
for _ in $(seq 100); do
  [ "$(C a1 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] &&
    [ "$(C b1 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] && break
  sleep 0.1
done
sleep 3
declare -A ID
for n in a1 a2 a3 b1 b2 b3; do ID[$n]=$(C "$n" cluster myid | tr -d '\r'); done
C a1 cluster nodes > "$OUT/nodes-before-a1.txt"
C b1 cluster nodes > "$OUT/nodes-before-b1.txt"
T_KILL=$(ms)
kill -9 "$(cat "$WORK/a3/pid")"
T_FAIL=0
for _ in $(seq 200); do
  if C a1 cluster nodes | grep "^${ID[a3]}" | grep -q ' master,fail '; then T_FAIL=$(ms); break; fi
  sleep 0.1
done
[ "$T_FAIL" != 0 ] || { echo "A never marked a3 FAIL" >&2; exit 1; }
C a1 cluster nodes > "$OUT/nodes-failed-a1.txt"
sleep 1
ADVICE_JSON=null
advise() {
  T_ADVICE=$(ms)
  for n in a1 a2; do
    [ "$(C "$n" cluster forget "${ID[a3]}" | tr -d '\r')" = OK ] || { echo "CLUSTER FORGET on $n failed" >&2; exit 1; }
  done
  T_ADVICE_END=$(ms)
  C a1 cluster nodes > "$OUT/nodes-advised-a1.txt"
  ADVICE_JSON="{\"t_ms\": $T_ADVICE, \"end_ms\": $T_ADVICE_END, \"when\": \"${ADVICE}\", \"what\": \"CLUSTER FORGET ${ID[a3]} on a1, a2\"}"
}
if [ "${ADVICE:-0}" = 1 ]; then advise; fi
reuse() {
  if [ "${ADVICE:-0}" = late ]; then advise; sleep "${ADVICE_WAIT_S:-0}"; fi
  T_REUSE=$(ms)
  start n a3
  ID[n]=$(C n cluster myid | tr -d '\r')
  C b1 cluster meet "$IP_a3" 7000 >/dev/null
}
scale() {
  T_SCALE=$(ms)
  start a4
  ID[a4]=$(C a4 cluster myid | tr -d '\r')
  C a1 cluster meet "$IP_a4" 7000 >/dev/null
}
# ORDER=scale-first: A scales up while the dead pod's IP is free, then the
# IP is reused (a4 keeps handshaking the dead node's gossiped address).
if [ "${ORDER:-reuse-first}" = scale-first ]; then scale; sleep 5; reuse; else reuse; sleep 5; scale; fi
sleep 20
for n in a1 a2 a4 b1 b2 n; do C "$n" cluster nodes > "$OUT/nodes-after-$n.txt"; C "$n" cluster info > "$OUT/info-$n.txt"; done
for n in a1 a2 a3 a4 b1 n; do
  grep -iE "cluster|node|link|fail|sender|address|epoch|handshake" "$WORK/$n/log" | tail -200 > "$OUT/log-$n.txt" || true
done
# Merged: a node of A lists a node of B with an address (not noaddr, not handshake).
MERGED=false
for a in a1 a2 a4; do
  for b in b1 b2 b3; do
    grep "^${ID[$b]}" "$OUT/nodes-after-$a.txt" | grep -qv noaddr && MERGED=true
  done
done
{
  echo "{"
  echo "  \"scenario\": \"address-reuse\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_KILL,"
  echo "  \"nodes\": {"
  for n in a1 a2 a3 a4; do printf '    "%s": {"id": "%s", "cluster": "X", "where": "%s:7000"},\n' "$n" "${ID[$n]}" "$(ipof "$n")"; done
  for n in b1 b2 b3; do printf '    "%s": {"id": "%s", "cluster": "Y", "where": "%s:7000"},\n' "$n" "${ID[$n]}" "$(ipof "$n")"; done
  printf '    "n": {"id": "%s", "cluster": "Y", "where": "%s:7000 (a3'"'"'s pod IP, reused)"}\n' "${ID[n]}" "$IP_a3"
  echo "  },"
  echo "  \"reuse\": {\"address\": \"$IP_a3:17000\", \"dead\": \"${ID[a3]}\", \"killed_ms\": $T_KILL, \"fail_seen_ms\": $T_FAIL, \"new\": \"${ID[n]}\", \"reused_ms\": $T_REUSE},"
  echo "  \"merged\": $MERGED,"
  echo "  \"advice\": $ADVICE_JSON,"
  echo "  \"events\": [{\"t_ms\": $T_A, \"what\": \"cluster X: a1 meets a2, a3\"}, {\"t_ms\": $T_B, \"what\": \"cluster Y: b1 meets b2, b3\"}, {\"t_ms\": $T_KILL, \"what\": \"operator: kill -9 a3 (no CLUSTER FORGET)\"}, {\"t_ms\": $T_REUSE, \"what\": \"operator: new Y node n on a3's IP $IP_a3:7000, b1 CLUSTER MEET it\"}, {\"t_ms\": $T_SCALE, \"what\": \"operator: scale X up: a1 CLUSTER MEET a4 ($IP_a4)\"}],"
  echo "  \"order\": \"${ORDER:-reuse-first}\""
  echo "}"
} > "$OUT/truth.json"
# Only this lab's tcpdump (a bare `pkill tcpdump` stops every session's
# captures: network namespaces do not separate process ids).
for pid in $(ip netns pids "$SW"); do [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tcpdump ] && kill "$pid"; done || true
sleep 1
gzip -9 -c "$WORK/br0.pcap" > "$OUT/br0.pcap.gz"
echo "wrote $OUT ($VERSION, merged=$MERGED)"
