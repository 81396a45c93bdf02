#!/usr/bin/env bash
# The incident (../shared/incident.md) in network namespaces: two hosts,
# each with its own docker0-like bridge 172.17.0.0/16 with NAT masquerade;
# cluster X on host network (a1, a2 on h1; b1 on h2); cluster Y in
# containers over a macvlan-like LAN (d, e on h2; f on h1); an idle
# container c on h1 whose bridge address equals d's (172.17.0.55). The
# operator runs `CLUSTER MEET 10.100.1.100 7000` on c.
#
# usage: docker_bridge.sh SERVER_BINARY OUT_DIR     (as root)
# Optional environment: WATCH=path/to/meetgraph runs `meetgraph watch -i any
# --json-events -` on h2 from before the MEET to the end and writes each
# line it prints, prefixed by the wall-clock ms it arrived and a tab, to
# OUT_DIR/watch-h2.tsv, and what it captured to OUT_DIR/watch-h2.pcapng
# (for the live-warning test); AFTER_MEET_S (default
# 30) is how long the script waits after the MEET. ADVICE=1 applies what
# `meetgraph analyze` / `audit` advise for a bridge address before the MEET:
# once both clusters are ok, every containerised node (c, d, e, f) gets
# `CONFIG SET cluster-announce-ip <its LAN address>` (Redis 4.0+, Valkey), so
# peers record the address they reach it at instead of 172.17.x.x;
# truth.json then has `advice`.
# writes OUT_DIR/{h1,h2,dc}.pcap.gz, truth.json, nodes-{before,after}-*.txt,
# info-*.txt. Namespaces, servers and tcpdumps are removed on exit, also on
# failure or Ctrl-C.
set -euo pipefail
BIN=$1
OUT=$2
P="mgl$$"  # namespace / interface prefix
. "$(dirname "$0")/netns_common.sh"

LAN=${P}lan
mkns "$LAN"
x "$LAN" ip link add br0 type bridge
x "$LAN" ip link set br0 up
# Attach interface $2 of namespace $1 to the LAN bridge with address $3.
lan_port() {
  local ns=$1 ifname=$2 addr=$3 peer=$4
  ip link add "$peer" type veth peer name "$ifname" netns "$ns"
  ip link set "$peer" netns "$LAN"
  x "$LAN" ip link set "$peer" master br0 up
  x "$ns" ip addr add "$addr" dev "$ifname"
  x "$ns" ip link set "$ifname" up
}
# A host: eth0 on the LAN, docker0 bridge with NAT.
mkhost() {
  local h=$1 ip=$2
  mkns "$P$h"
  lan_port "$P$h" eth0 "$ip/16" "${P}${h}l"
  x "$P$h" ip route add 10.222.0.0/16 dev eth0
  x "$P$h" ip link add docker0 type bridge
  x "$P$h" ip addr add 172.17.0.1/16 dev docker0
  x "$P$h" ip link set docker0 up
  x "$P$h" sysctl -qw net.ipv4.ip_forward=1
  x "$P$h" iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -o eth0 -j MASQUERADE
}
# A container on host $1: eth0 on docker0 (default route), eth1 on the LAN.
mkcont() {
  local h=$1 name=$2 bridge_ip=$3 lan_ip=$4 ns="$P$2"
  mkns "$ns"
  ip link add "${P}${name}d" type veth peer name eth0 netns "$ns"
  ip link set "${P}${name}d" netns "$P$h"
  x "$P$h" ip link set "${P}${name}d" master docker0 up
  x "$ns" ip addr add "$bridge_ip/16" dev eth0
  x "$ns" ip link set eth0 up
  x "$ns" ip route add default via 172.17.0.1
  lan_port "$ns" eth1 "$lan_ip/16" "${P}${name}l"
}
mkhost h1 10.100.1.100
mkhost h2 10.100.1.101
mkcont h1 c 172.17.0.55 10.222.0.3
mkcont h2 d 172.17.0.55 10.222.0.4
mkcont h2 e 172.17.0.56 10.222.0.5
mkcont h1 f 172.17.0.56 10.222.0.6

FILTER='tcp portrange 7000-7010 or tcp portrange 17000-17010'
x "$P"h1 tcpdump -i any -U -w "$WORK/h1.pcap" "$FILTER" 2>/dev/null &
x "$P"h2 tcpdump -i any -U -w "$WORK/h2.pcap" "$FILTER" 2>/dev/null &
x "$LAN" tcpdump -i br0 -U -w "$WORK/dc.pcap" "$FILTER" 2>/dev/null &
sleep 1

# name → namespace, port, address for redis-cli
declare -A NS=([a1]="${P}h1" [a2]="${P}h1" [b1]="${P}h2" [c]="${P}c" [d]="${P}d" [e]="${P}e" [f]="${P}f")
declare -A PORT=([a1]=7000 [a2]=7001 [b1]=7000 [c]=7000 [d]=7000 [e]=7000 [f]=7000)
declare -A CL=([a1]=X [a2]=X [b1]=X [c]=none [d]=Y [e]=Y [f]=Y)
declare -A WHERE=([a1]="h1 host network 10.100.1.100:7000" [a2]="h1 host network 10.100.1.100:7001" [b1]="h2 host network 10.100.1.101:7000" [c]="h1 container bridge 172.17.0.55 macvlan 10.222.0.3:7000" [d]="h2 container bridge 172.17.0.55 macvlan 10.222.0.4:7000" [e]="h2 container bridge 172.17.0.56 macvlan 10.222.0.5:7000" [f]="h1 container bridge 172.17.0.56 macvlan 10.222.0.6:7000")
NAMES="a1 a2 b1 c d e f"
C() { local n=$1; shift; x "${NS[$n]}" redis-cli -p "${PORT[$n]}" "$@"; }
for n in $NAMES; do
  mkdir -p "$WORK/$n"
  x "${NS[$n]}" "$BIN" --port "${PORT[$n]}" --cluster-enabled yes --cluster-config-file "$WORK/$n/nodes.conf" \
    --cluster-node-timeout 5000 --dir "$WORK/$n" --daemonize yes --save "" --appendonly no \
    --protected-mode no --logfile "$WORK/$n/log" >/dev/null
done
for n in $NAMES; do
  for _ in $(seq 50); do C "$n" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
INFO=$(C a1 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
C a1 cluster addslots $(seq 0 5460) >/dev/null
C a2 cluster addslots $(seq 5461 10922) >/dev/null
C b1 cluster addslots $(seq 10923 16383) >/dev/null
C d cluster addslots $(seq 0 5460) >/dev/null
C e cluster addslots $(seq 5461 10922) >/dev/null
C f cluster addslots $(seq 10923 16383) >/dev/null
T_X=$(ms); C a1 cluster meet 10.100.1.100 7001 >/dev/null; C a1 cluster meet 10.100.1.101 7000 >/dev/null
T_Y=$(ms); C d cluster meet 10.222.0.5 7000 >/dev/null; C d cluster meet 10.222.0.6 7000 >/dev/null
ok=0
for _ in $(seq 200); do
  if [ "$(C a1 cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] &&
     [ "$(C d cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ]; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "clusters X and Y did not become healthy" >&2; exit 1; }
T_OK=$(ms)
sleep 2
C a1 cluster nodes > "$OUT/nodes-before-a1.txt"
C d cluster nodes > "$OUT/nodes-before-d.txt"
ADVICE_JSON=null
if [ "${ADVICE:-0}" = 1 ]; then
  declare -A LANIP=([c]=10.222.0.3 [d]=10.222.0.4 [e]=10.222.0.5 [f]=10.222.0.6)
  T_ADVICE=$(ms)
  for n in c d e f; do
    [ "$(C "$n" config set cluster-announce-ip "${LANIP[$n]}" | tr -d '\r')" = OK ] ||
      { echo "CONFIG SET cluster-announce-ip on $n failed (needs Redis 4.0+)" >&2; exit 1; }
  done
  ADVICE_JSON="{\"t_ms\": $T_ADVICE, \"what\": \"CONFIG SET cluster-announce-ip <LAN address> on c, d, e, f\"}"
  sleep 2
  C d cluster nodes > "$OUT/nodes-advised-d.txt"
fi
if [ -n "${WATCH:-}" ]; then
  x "$P"h2 "$WATCH" watch -i any -w "$OUT/watch-h2.pcapng" --json-events - 2>"$OUT/watch-h2.err" |
    while IFS= read -r line; do printf '%s\t%s\n' "$(date +%s%3N)" "$line"; done > "$OUT/watch-h2.tsv" &
  WATCH_PID=$!
  sleep 1.5
fi
T_MEET=$(ms)
[ "$(C c cluster meet 10.100.1.100 7000)" = OK ] || { echo "CLUSTER MEET on c failed" >&2; exit 1; }
sleep "${AFTER_MEET_S:-30}"
C a1 cluster nodes > "$OUT/nodes-after-a1.txt"
C b1 cluster nodes > "$OUT/nodes-after-b1.txt"
C d cluster nodes > "$OUT/nodes-after-d.txt"
for n in $NAMES; do C "$n" cluster info > "$OUT/info-$n.txt"; done
# The collision setup must be real: c was MEETed into X.
CID=$(C c cluster myid | tr -d '\r')
grep -q "^$CID" "$OUT/nodes-after-a1.txt" || { echo "c never joined X" >&2; exit 1; }
DID=$(C d cluster myid | tr -d '\r')
MERGED=false
grep -q "^$DID" "$OUT/nodes-after-b1.txt" && grep -v noaddr "$OUT/nodes-after-b1.txt" | grep -q "^$DID" && MERGED=true
{
  echo "{"
  echo "  \"scenario\": \"docker-bridge\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"meet_ms\": $T_MEET,"
  echo "  \"hosts\": {\"h1\": \"10.100.1.100\", \"h2\": \"10.100.1.101\"},"
  echo "  \"nodes\": {"
  first=1
  for n in $NAMES; do
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": {"id": "%s", "cluster": "%s", "where": "%s"}' "$n" "$(C "$n" cluster myid | tr -d '\r')" "${CL[$n]}" "${WHERE[$n]}"
  done
  echo ""
  echo "  },"
  echo "  \"merged\": $MERGED,"
  echo "  \"advice\": $ADVICE_JSON,"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: a1 meets a2 and b1\"}, {\"t_ms\": $T_Y, \"what\": \"cluster Y: d meets e and f\"}, {\"t_ms\": $T_OK, \"what\": \"both clusters ok\"}, {\"t_ms\": $T_MEET, \"what\": \"operator: c CLUSTER MEET 10.100.1.100 7000\"}]"
  echo "}"
} > "$OUT/truth.json"
for ns in "${P}h1" "${P}h2" "$LAN"; do ip netns pids "$ns" | xargs -r kill 2>/dev/null || true; done
sleep 1
[ -n "${WATCH_PID:-}" ] && wait "$WATCH_PID"
for f in h1 h2 dc; do gzip -9 -c "$WORK/$f.pcap" > "$OUT/$f.pcap.gz"; done
echo "wrote $OUT ($VERSION, merged=$MERGED)"
