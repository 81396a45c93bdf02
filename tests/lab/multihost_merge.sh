#!/usr/bin/env bash
# Multi-host operator merge in network namespaces: three hosts h1, h2, h3
# (10.101.1.1-3) on a LAN bridge. Cluster X = x1, x2, x3, one per host on
# the host network (port 7000); cluster Y = containers y1, y2, y3
# (10.223.0.11-13:7000) whose only interface is on the LAN, so their traffic
# among themselves crosses no host's capture; an idle empty node c on h1
# (host network, port 7001). Once both clusters are ok the operator runs
# `CLUSTER MEET 10.101.1.1 7000` on c (c joins X) and 0.5 s later
# `CLUSTER MEET 10.223.0.11 7000` on c, which fuses X and Y.
#
# usage: multihost_merge.sh SERVER_BINARY OUT_DIR     (as root)
# writes OUT_DIR/{h1,h2,h3,dc}.pcap.gz (`tcpdump -i any` on each host, Linux
# cooked; the LAN bridge, Ethernet), truth.json, nodes-{before,after}-*.txt,
# info-*.txt. Namespaces (mglm<pid>*), servers and tcpdumps are removed on
# exit, also on failure or Ctrl-C. Addresses differ from docker_bridge.sh,
# so both can run at the same time.
set -euo pipefail
BIN=$1
OUT=$2
P="mglm$$"  # namespace / interface prefix (mgl*: cleanup.sh removes leftovers)
. "$(dirname "$0")/netns_common.sh"
BIN_VERSION=$("$BIN" --version | grep -o 'v=[0-9.]*' | cut -c3-)

LAN=${P}lan
mkns "$LAN"
x "$LAN" ip link add br0 type bridge
x "$LAN" ip link set br0 up
# lan_port NS IFNAME ADDR PEER: interface IFNAME of namespace NS on the LAN
# bridge with address ADDR (the veth pair is made inside the namespaces,
# never in the root namespace).
lan_port() {
  local ns=$1 ifname=$2 addr=$3 peer=$4
  ip link add name "$peer" netns "$LAN" type veth peer name "$ifname" netns "$ns"
  x "$LAN" ip link set "$peer" master br0 up
  x "$ns" ip addr add "$addr" dev "$ifname"
  x "$ns" ip link set "$ifname" up
}
# A host: eth0 on the LAN; the container network is on the same wire.
mkhost() {
  local h=$1 ip=$2
  mkns "$P$h"
  lan_port "$P$h" eth0 "$ip/24" "${P}${h}l"
  x "$P$h" ip route add 10.223.0.0/16 dev eth0
}
# A container whose only interface is on the LAN (macvlan-like).
mkcont() {
  local name=$1 ip=$2 ns="$P$1"
  mkns "$ns"
  lan_port "$ns" eth0 "$ip/16" "${P}${name}l"
  x "$ns" ip route add 10.101.1.0/24 dev eth0
}
declare -A HOSTIP=([h1]=10.101.1.1 [h2]=10.101.1.2 [h3]=10.101.1.3)
for h in h1 h2 h3; do mkhost "$h" "${HOSTIP[$h]}"; done
mkcont y1 10.223.0.11
mkcont y2 10.223.0.12
mkcont y3 10.223.0.13

# Captures first, before any server starts (`ip netns exec` execs tcpdump,
# so $! is tcpdump's pid).
declare -A TCPDUMP
for h in h1 h2 h3; do
  ip netns exec "$P$h" tcpdump -i any -U -w "$WORK/$h.pcap" tcp 2>"$WORK/tcpdump-$h.log" &
  TCPDUMP[$h]=$!
done
ip netns exec "$LAN" tcpdump -i br0 -U -w "$WORK/dc.pcap" tcp 2>"$WORK/tcpdump-dc.log" &
TCPDUMP[dc]=$!
sleep 1

# name → namespace, port, address, cluster, description
declare -A NS=([x1]="${P}h1" [x2]="${P}h2" [x3]="${P}h3" [y1]="${P}y1" [y2]="${P}y2" [y3]="${P}y3" [c]="${P}h1")
declare -A PORT=([x1]=7000 [x2]=7000 [x3]=7000 [y1]=7000 [y2]=7000 [y3]=7000 [c]=7001)
declare -A ADDR=([x1]=10.101.1.1 [x2]=10.101.1.2 [x3]=10.101.1.3 [y1]=10.223.0.11 [y2]=10.223.0.12 [y3]=10.223.0.13 [c]=10.101.1.1)
declare -A CL=([x1]=X [x2]=X [x3]=X [y1]=Y [y2]=Y [y3]=Y [c]=none)
declare -A WHERE=(
  [x1]="h1 host network 10.101.1.1:7000" [x2]="h2 host network 10.101.1.2:7000" [x3]="h3 host network 10.101.1.3:7000"
  [y1]="container, LAN only 10.223.0.11:7000" [y2]="container, LAN only 10.223.0.12:7000" [y3]="container, LAN only 10.223.0.13:7000"
  [c]="h1 host network 10.101.1.1:7001")
NAMES="x1 x2 x3 y1 y2 y3 c"
XY="x1 x2 x3 y1 y2 y3"
C() { local n=$1; shift; x "${NS[$n]}" "$CLI" -p "${PORT[$n]}" "$@"; }
for n in $NAMES; do
  mkdir -p "$WORK/$n"
  if ! x "${NS[$n]}" "$BIN" --port "${PORT[$n]}" --cluster-enabled yes --cluster-config-file "$WORK/$n/nodes.conf" \
    --cluster-node-timeout 5000 --dir "$WORK/$n" --daemonize yes --save "" --appendonly no \
    --protected-mode no --logfile "$WORK/$n/log" --pidfile "$WORK/$n/pid" >"$WORK/$n/stdout" 2>&1; then
    echo "node $n did not start ($BIN $BIN_VERSION): $(grep -v '^\s*$' "$WORK/$n/stdout" | tail -2 | tr '\n' ' ')" >&2
    exit 1
  fi
done
for n in $NAMES; do
  up=0
  for _ in $(seq 50); do C "$n" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
  [ $up = 1 ] || { echo "node $n did not answer" >&2; exit 1; }
done
INFO=$(C x1 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
declare -A ID
for n in $NAMES; do ID[$n]=$(C "$n" cluster myid | tr -d '\r'); done

# Form X and Y with CLUSTER ADDSLOTS / CLUSTER MEET (any server version).
C x1 cluster addslots $(seq 0 5460) >/dev/null
C x2 cluster addslots $(seq 5461 10922) >/dev/null
C x3 cluster addslots $(seq 10923 16383) >/dev/null
C y1 cluster addslots $(seq 0 5460) >/dev/null
C y2 cluster addslots $(seq 5461 10922) >/dev/null
C y3 cluster addslots $(seq 10923 16383) >/dev/null
T_X=$(ms); C x1 cluster meet 10.101.1.2 7000 >/dev/null; C x1 cluster meet 10.101.1.3 7000 >/dev/null
T_Y=$(ms); C y1 cluster meet 10.223.0.12 7000 >/dev/null; C y1 cluster meet 10.223.0.13 7000 >/dev/null
state() { C "$1" cluster info | tr -d '\r' | grep '^cluster_state:' | cut -d: -f2; }
ok=0
for _ in $(seq 300); do
  all=yes
  for n in $XY; do [ "$(state "$n")" = ok ] || { all=no; break; }; done
  [ $all = yes ] && { ok=1; break; }
  sleep 0.1
done
[ $ok = 1 ] || { echo "clusters X and Y did not become healthy" >&2; exit 1; }
T_OK=$(ms)
pause 2
for n in $NAMES; do C "$n" cluster nodes > "$OUT/nodes-before-$n.txt"; done

# The incident.
T_MEET_X=$(ms)
[ "$(C c cluster meet 10.101.1.1 7000 | tr -d '\r')" = OK ] || { echo "CLUSTER MEET 10.101.1.1 7000 on c failed" >&2; exit 1; }
pause 0.5
T_MEET_Y=$(ms)
[ "$(C c cluster meet 10.223.0.11 7000 | tr -d '\r')" = OK ] || { echo "CLUSTER MEET 10.223.0.11 7000 on c failed" >&2; exit 1; }
pause 25
for n in $NAMES; do C "$n" cluster nodes > "$OUT/nodes-after-$n.txt"; done
for n in $NAMES; do C "$n" cluster info > "$OUT/info-$n.txt"; done
# c must have joined X (x1 knows it with an address).
grep -v noaddr "$OUT/nodes-after-x1.txt" | grep -q "^${ID[c]} " || { echo "c never joined X" >&2; exit 1; }
# Merged: every node of X and Y knows every other node of X, Y and c with
# an address, past the handshake.
MERGED=true
for n in $XY; do
  for m in $NAMES; do
    [ "$n" = "$m" ] && continue
    grep -v -e noaddr -e handshake "$OUT/nodes-after-$n.txt" | grep -q "^${ID[$m]} " || { MERGED=false; break 2; }
  done
done
X_KNOWS_Y=$(grep -v noaddr "$OUT/nodes-after-x1.txt" | grep -c -e "^${ID[y1]} " -e "^${ID[y2]} " -e "^${ID[y3]} " || true)
sleep 1
T_END=$(ms)
# Stop the captures cleanly (SIGINT lets tcpdump flush and close the file).
for k in "${!TCPDUMP[@]}"; do kill -INT "${TCPDUMP[$k]}" 2>/dev/null || true; done
for k in "${!TCPDUMP[@]}"; do wait "${TCPDUMP[$k]}" || true; done
{
  echo "{"
  echo "  \"scenario\": \"multihost-merge\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_MEET_Y,"
  echo "  \"hosts\": {\"h1\": \"10.101.1.1\", \"h2\": \"10.101.1.2\", \"h3\": \"10.101.1.3\"},"
  echo "  \"nodes\": {"
  first=1
  for n in $NAMES; do
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": {"id": "%s", "cluster": "%s", "where": "%s"}' "$n" "${ID[$n]}" "${CL[$n]}" "${WHERE[$n]}"
  done
  echo ""
  echo "  },"
  echo "  \"merged\": $MERGED,"
  echo "  \"events\": ["
  echo "    {\"t_ms\": $T_X, \"what\": \"cluster X: x1 meets x2 and x3\"},"
  echo "    {\"t_ms\": $T_Y, \"what\": \"cluster Y: y1 meets y2 and y3\"},"
  echo "    {\"t_ms\": $T_OK, \"what\": \"both clusters ok\"},"
  echo "    {\"t_ms\": $T_MEET_X, \"what\": \"operator: c CLUSTER MEET 10.101.1.1 7000 (x1)\"},"
  echo "    {\"t_ms\": $T_MEET_Y, \"what\": \"operator: c CLUSTER MEET 10.223.0.11 7000 (y1)\"},"
  echo "    {\"t_ms\": $T_END, \"what\": \"end\"}"
  echo "  ]"
  echo "}"
} > "$OUT/truth.json"
for f in h1 h2 h3 dc; do gzip -9 -c "$WORK/$f.pcap" > "$OUT/$f.pcap.gz"; done
echo "wrote $OUT ($VERSION, merged=$MERGED, x1 knows $X_KNOWS_Y of y1-y3)"
