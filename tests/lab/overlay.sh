#!/usr/bin/env bash
# The pod-IP-reuse incident (address_reuse.sh) on a two-host overlay, as a
# Kubernetes node's `tcpdump -i eth0` sees it: hosts h1 (192.168.77.1) and
# h2 (192.168.77.2) on a LAN bridge (the uplink), each with a cni0-like
# bridge whose ports are the pods' veths and a real kernel VXLAN device
# (`vxlan0`: VNI 1, UDP 8472 as flannel uses, unicast to the other host),
# so the pods of both hosts share one L2 network and one /16 (10.78.0.0/16)
# and a pod IP can come back on the other host. Every server on port 7000.
#
#   h1: a1 (10.78.0.11), b2 (.22), b3 (.23), later n on a3's IP (.13)
#   h2: a2 (.12), a3 (.13), b1 (.21), later a4 (.14)
#
# Cluster A = a1, a2, a3, cluster B = b1, b2, b3 (3 masters each; every
# operator MEET crosses the hosts). a3 is killed (no CLUSTER FORGET; its pod
# is deleted); once A marks it FAIL, a new node n of B starts in a new pod
# on h1 with a3's IP, and b1 MEETs it; 5 s later A scales up: a4 (h2) is
# MET by a1 and learns from A's gossip that a3 lives at 10.78.0.13, which
# is now n, on the other host. Servers before 5.0.10/6.0.5 adopt n and the
# clusters merge.
#
# Captures: `uplink-h1`, `uplink-h2` (`tcpdump -i eth0 udp port 8472` on
# each host: every cross-host bus segment, VXLAN-encapsulated), `bridge-h1`
# and `bridge-h2` (`tcpdump -i cni0 tcp`: plain Ethernet; h1's sees every
# connection of its pods, local or remote), `any-h1` (`tcpdump -i any` on
# h1: each cross-host segment on a veth, cni0, vxlan0 and, encapsulated,
# eth0). Plus truth.json (address_reuse.sh's format, with `hosts` and
# `pods`), nodes-*.txt, info-*.txt, log-*.txt.
#
# usage: [ORDER=scale-first] overlay.sh SERVER_BINARY OUT_DIR   (as root)
# Namespaces mglo<pid>* (covered by cleanup.sh).
set -euo pipefail
BIN=$1
OUT=$2
P="mglo$$"
. "$(dirname "$0")/netns_common.sh"
NODE_TIMEOUT=${NODE_TIMEOUT:-3000}
MTU=1450 # 1500 minus VXLAN's 50 bytes

LAN=${P}lan
mkns "$LAN"
x "$LAN" ip link add br0 type bridge
x "$LAN" ip link set br0 up
declare -A HOSTIP=([h1]=192.168.77.1 [h2]=192.168.77.2)
declare -A OTHER=([h1]=h2 [h2]=h1)
for h in h1 h2; do
  ns="$P$h"
  mkns "$ns"
  ip link add name "${P}${h}u" netns "$LAN" type veth peer name eth0 netns "$ns"
  x "$LAN" ip link set "${P}${h}u" master br0 up
  x "$ns" ip addr add "${HOSTIP[$h]}/24" dev eth0
  x "$ns" ip link set eth0 up
  x "$ns" ip link add cni0 type bridge
  x "$ns" ip link set cni0 mtu $MTU up
  x "$ns" ip link add vxlan0 type vxlan id 1 dstport 8472 local "${HOSTIP[$h]}" remote "${HOSTIP[${OTHER[$h]}]}" dev eth0
  x "$ns" ip link set vxlan0 master cni0 mtu $MTU up
done
# Captures first (`ip netns exec` execs tcpdump: $! is its pid).
declare -A TCPDUMP
cap() {
  local name=$1 h=$2 iface=$3
  shift 3
  ip netns exec "$P$h" tcpdump -i "$iface" -U -s 0 -w "$WORK/$name.pcap" "$@" 2>"$WORK/tcpdump-$name.log" &
  TCPDUMP[$name]=$!
}
cap uplink-h1 h1 eth0 udp port 8472
cap uplink-h2 h2 eth0 udp port 8472
cap bridge-h1 h1 cni0 tcp
cap bridge-h2 h2 cni0 tcp
cap any-h1 h1 any tcp or udp port 8472
sleep 1

IP_a1=10.78.0.11; IP_a2=10.78.0.12; IP_a3=10.78.0.13; IP_a4=10.78.0.14
IP_b1=10.78.0.21; IP_b2=10.78.0.22; IP_b3=10.78.0.23
IP_n=$IP_a3 # n: a new node of B in a new pod with a3's IP
declare -A HOST=([a1]=h1 [b2]=h1 [b3]=h1 [a2]=h2 [a3]=h2 [b1]=h2 [a4]=h2)
ipof() { local v="IP_$1"; echo "${!v}"; }
# pod NAME HOST IP: a namespace with eth0 (a veth) on HOST's cni0.
pod() {
  local ns="$P$1" h=$2 ip=$3
  mkns "$ns"
  ip link add name "${P}$1v" netns "$P$h" mtu $MTU type veth peer name eth0 netns "$ns" mtu $MTU
  x "$P$h" ip link set "${P}$1v" master cni0 up
  x "$ns" ip addr add "$ip/16" dev eth0
  x "$ns" ip link set eth0 up
}
declare -A POD
C() { local n=$1; shift; x "$P${POD[$n]}" "$CLI" -h "$(ipof "${POD[$n]}")" -p 7000 "$@"; }
# start NAME [POD]: a server named NAME in pod POD (default NAME).
start() {
  local name=$1 p=${2:-$1}
  POD[$name]=$p
  mkdir -p "$WORK/$name"
  x "$P$p" "$BIN" --port 7000 --cluster-enabled yes --cluster-config-file "$WORK/$name/nodes.conf" \
    --cluster-node-timeout "$NODE_TIMEOUT" --dir "$WORK/$name" --daemonize yes --save "" --appendonly no \
    --protected-mode no --logfile "$WORK/$name/log" --pidfile "$WORK/$name/pid" >"$WORK/$name.stdout" 2>&1 ||
    { echo "$name did not start: $(tail -2 "$WORK/$name.stdout")" >&2; return 1; }
  for _ in $(seq 50); do C "$name" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$name did not answer" >&2; return 1
}
for n in a1 a2 a3 b1 b2 b3; do pod "$n" "${HOST[$n]}" "$(ipof "$n")"; done
for n in a1 a2 a3 b1 b2 b3; do start "$n"; done
# The overlay works: a1 (h1) reaches a2 (h2).
[ "$(x "${P}a1" "$CLI" -h "$IP_a2" -p 7000 ping | tr -d '\r')" = PONG ] || { echo "no path over the VXLAN overlay" >&2; exit 1; }
INFO=$(C a1 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
C a1 cluster addslots $(seq 0 5460) >/dev/null; C a2 cluster addslots $(seq 5461 10922) >/dev/null
C a3 cluster addslots $(seq 10923 16383) >/dev/null
C b1 cluster addslots $(seq 0 5460) >/dev/null; C b2 cluster addslots $(seq 5461 10922) >/dev/null
C b3 cluster addslots $(seq 10923 16383) >/dev/null
T_A=$(ms); C a1 cluster meet "$IP_a2" 7000 >/dev/null; C a1 cluster meet "$IP_a3" 7000 >/dev/null
T_B=$(ms); C b1 cluster meet "$IP_b2" 7000 >/dev/null; C b1 cluster meet "$IP_b3" 7000 >/dev/null
state() { C "$1" cluster info | tr -d '\r' | grep '^cluster_state:' | cut -d: -f2; }
ok=0
for _ in $(seq 200); do
  [ "$(state a1)" = ok ] && [ "$(state b1)" = ok ] && { ok=1; break; }
  sleep 0.1
done
[ $ok = 1 ] || { echo "clusters A and B did not become healthy" >&2; exit 1; }
pause 3
declare -A ID
for n in a1 a2 a3 b1 b2 b3; do ID[$n]=$(C "$n" cluster myid | tr -d '\r'); done
C a1 cluster nodes > "$OUT/nodes-before-a1.txt"
C b1 cluster nodes > "$OUT/nodes-before-b1.txt"
T_KILL=$(ms)
kill -9 "$(cat "$WORK/a3/pid")"
T_FAIL=0
for _ in $(seq 300); do
  if C a1 cluster nodes | grep "^${ID[a3]}" | grep -q ' master,fail '; then T_FAIL=$(ms); break; fi
  sleep 0.1
done
[ "$T_FAIL" != 0 ] || { echo "A never marked a3 FAIL" >&2; exit 1; }
C a1 cluster nodes > "$OUT/nodes-failed-a1.txt"
# The pod is deleted (its veth goes with it).
ip netns del "${P}a3"
pause 1
reuse() {
  T_REUSE=$(ms)
  # A new pod on the OTHER host gets a3's IP; every pod forgets the old
  # MAC (as a gratuitous ARP from the new pod would make them).
  HOST[n]=${OTHER[${HOST[a3]}]}
  pod n "${HOST[n]}" "$IP_a3"
  for p in a1 a2 b1 b2 b3 ${POD[a4]:+a4}; do x "$P$p" ip neigh flush dev eth0; done
  start n n
  ID[n]=$(C n cluster myid | tr -d '\r')
  C b1 cluster meet "$IP_a3" 7000 >/dev/null
}
scale() {
  T_SCALE=$(ms)
  pod a4 "${HOST[a4]}" "$IP_a4"
  start a4
  ID[a4]=$(C a4 cluster myid | tr -d '\r')
  C a1 cluster meet "$IP_a4" 7000 >/dev/null
}
if [ "${ORDER:-reuse-first}" = scale-first ]; then scale; pause 5; reuse; else reuse; pause 5; scale; fi
pause 20
for n in a1 a2 a4 b1 b2 n; do C "$n" cluster nodes > "$OUT/nodes-after-$n.txt"; C "$n" cluster info > "$OUT/info-$n.txt"; done
for n in a1 a2 a3 a4 b1 n; do
  grep -iE "cluster|node|link|fail|sender|address|epoch|handshake" "$WORK/$n/log" | tail -200 > "$OUT/log-$n.txt" || true
done
# Merged: a node of A lists a node of B with an address (not noaddr).
MERGED=false
for a in a1 a2 a4; do
  for b in b1 b2 b3; do
    grep "^${ID[$b]}" "$OUT/nodes-after-$a.txt" | grep -qv noaddr && MERGED=true
  done
done
pause 1
T_END=$(ms)
for k in "${!TCPDUMP[@]}"; do kill -INT "${TCPDUMP[$k]}" 2>/dev/null || true; done
for k in "${!TCPDUMP[@]}"; do wait "${TCPDUMP[$k]}" || true; done
{
  echo "{"
  echo "  \"scenario\": \"overlay-reuse\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_KILL,"
  echo "  \"hosts\": {\"h1\": \"${HOSTIP[h1]}\", \"h2\": \"${HOSTIP[h2]}\"},"
  echo "  \"overlay\": {\"kind\": \"vxlan\", \"vni\": 1, \"port\": 8472, \"pod_network\": \"10.78.0.0/16\"},"
  echo "  \"nodes\": {"
  for n in a1 a2 a3 a4; do printf '    "%s": {"id": "%s", "cluster": "X", "where": "%s:7000", "host": "%s"},\n' "$n" "${ID[$n]}" "$(ipof "$n")" "${HOST[$n]}"; done
  for n in b1 b2 b3; do printf '    "%s": {"id": "%s", "cluster": "Y", "where": "%s:7000", "host": "%s"},\n' "$n" "${ID[$n]}" "$(ipof "$n")" "${HOST[$n]}"; done
  printf '    "n": {"id": "%s", "cluster": "Y", "where": "%s:7000 (a3'"'"'s pod IP, reused on the other host)", "host": "%s"}\n' "${ID[n]}" "$IP_a3" "${HOST[n]}"
  echo "  },"
  echo "  \"reuse\": {\"address\": \"$IP_a3:17000\", \"dead\": \"${ID[a3]}\", \"killed_ms\": $T_KILL, \"fail_seen_ms\": $T_FAIL, \"new\": \"${ID[n]}\", \"reused_ms\": $T_REUSE},"
  echo "  \"merged\": $MERGED,"
  echo "  \"events\": [{\"t_ms\": $T_A, \"what\": \"cluster X: a1 meets a2, a3\"}, {\"t_ms\": $T_B, \"what\": \"cluster Y: b1 meets b2, b3\"}, {\"t_ms\": $T_KILL, \"what\": \"operator: kill -9 a3 (no CLUSTER FORGET), its pod deleted\"}, {\"t_ms\": $T_REUSE, \"what\": \"operator: new Y node n on a3's IP $IP_a3:7000 on ${HOST[n]}, b1 CLUSTER MEET it\"}, {\"t_ms\": $T_SCALE, \"what\": \"operator: scale X up: a1 CLUSTER MEET a4 ($IP_a4, ${HOST[a4]})\"}, {\"t_ms\": $T_END, \"what\": \"end\"}],"
  echo "  \"order\": \"${ORDER:-reuse-first}\""
  echo "}"
} > "$OUT/truth.json"
for f in uplink-h1 uplink-h2 bridge-h1 bridge-h2 any-h1; do
  gzip -9 -c "$WORK/$f.pcap" > "$OUT/$f.pcap.gz"
  cp "$WORK/tcpdump-$f.log" "$OUT/tcpdump-$f.log"
done
echo "wrote $OUT ($VERSION, merged=$MERGED)"
