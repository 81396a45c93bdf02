#!/usr/bin/env bash
# Three captures of one incident, big enough to time: hosts h1, h2, h3
# (10.102.1.1-3, network namespaces on a LAN bridge) each run PER_HOST
# nodes (default 10) on ports 7000.. (bus 17000..). Cluster X = the first
# half of each host's ports, cluster Y = the second half, so both clusters
# span all three hosts and most bus connections cross two hosts' captures.
# Each host captures its own traffic (`tcpdump -i any`, LAN and loopback)
# with a large kernel buffer (-B). After SECONDS/2 the operator runs
# `CLUSTER MEET <h3> <second Y port>` on h2's second X node (7001; the
# first ones when PER_HOST is 2): the clusters merge; the capture goes on
# for another SECONDS/2.
#
# usage: three_hosts.sh SERVER_BINARY OUT_DIR [PER_HOST] [SECONDS]   (as root)
#   PER_HOST default 10 (even), SECONDS default 120, NODE_TIMEOUT ms default
#   2000, TCPDUMP_BUFFER_KIB default 262144, GZIP=1 compresses the captures.
# writes OUT_DIR/{h1,h2,h3}.pcap (.pcap.gz with GZIP=1), tcpdump-*.log
# (tcpdump's drop counts), truth.json, info-*.txt. Too big to commit: keep
# OUT_DIR outside the repository. With PER_HOST=10, SECONDS=120 and Redis
# 7.0 each capture is about 200 MB.
#
# Namespaces (mgl3h<pid>*), servers and tcpdumps are removed on exit, also
# on failure or Ctrl-C; leftovers of a killed run: tests/lab/cleanup.sh.
set -euo pipefail
BIN=$1
OUT=$2
PER_HOST=${3:-10}
SECS=${4:-120}
HALF=$((PER_HOST / 2))
[ "$HALF" -ge 1 ] && [ $((HALF * 2)) = "$PER_HOST" ] || { echo "PER_HOST must be even and at least 2" >&2; exit 2; }
P="mgl3h$$"
FILTER='tcp portrange 7000-7999 or tcp portrange 17000-17999'
. "$(dirname "$0")/netns_common.sh"

LAN=${P}lan
mkns "$LAN"
x "$LAN" ip link add br0 type bridge
x "$LAN" ip link set br0 up
declare -A HOSTIP=([h1]=10.102.1.1 [h2]=10.102.1.2 [h3]=10.102.1.3)
HOSTS="h1 h2 h3"
for h in $HOSTS; do
  mkns "$P$h"
  # The veth pair is made inside the namespaces, never in the root one.
  ip link add name "${P}${h}l" netns "$LAN" type veth peer name eth0 netns "$P$h"
  x "$LAN" ip link set "${P}${h}l" master br0 up
  x "$P$h" ip addr add "${HOSTIP[$h]}/24" dev eth0
  x "$P$h" ip link set eth0 up
done

# Captures first, before any server starts (`ip netns exec` itself, not
# the x function, which would fork a subshell: it execs tcpdump, so $! is
# tcpdump's pid and SIGINT reaches it).
declare -A TCPDUMP
for h in $HOSTS; do
  ip netns exec "$P$h" tcpdump -i any -U -B "${TCPDUMP_BUFFER_KIB:-262144}" -w "$WORK/$h.pcap" "$FILTER" 2>"$WORK/tcpdump-$h.log" &
  TCPDUMP[$h]=$!
done
sleep 1

# A node is HOST:PORT; X = ports 7000..7000+HALF-1, Y = the rest.
NODES=()
for h in $HOSTS; do
  for k in $(seq 0 $((PER_HOST - 1))); do NODES+=("$h:$((7000 + k))"); done
done
C() { local h=${1%%:*} p=${1##*:}; shift; x "$P$h" "$CLI" -h "${HOSTIP[$h]}" -p "$p" "$@"; }
cluster_of() { local p=${1##*:}; [ "$p" -lt $((7000 + HALF)) ] && echo X || echo Y; }
for n in "${NODES[@]}"; do
  h=${n%%:*} p=${n##*:} d="$WORK/$h-$p"
  mkdir -p "$d"
  if ! x "$P$h" "$BIN" --bind "${HOSTIP[$h]}" --port "$p" --cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
    --cluster-node-timeout "${NODE_TIMEOUT:-2000}" --dir "$d" --daemonize yes --save "" --appendonly no \
    --protected-mode no --logfile "$d/log" --pidfile "$d/pid" >"$d/stdout" 2>&1; then
    echo "node $n did not start: $(grep -v '^\s*$' "$d/stdout" | tail -2 | tr '\n' ' ')" >&2
    exit 1
  fi
done
for n in "${NODES[@]}"; do
  up=0
  for _ in $(seq 50); do C "$n" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
  [ $up = 1 ] || { echo "node $n did not answer" >&2; exit 1; }
done
INFO=$(C h1:7000 info server | tr -d '\r')
VERSION=$(echo "$INFO" | grep -E '^valkey_version' || echo "$INFO" | grep -E '^redis_version')
declare -A ID
for n in "${NODES[@]}"; do ID[$n]=$(C "$n" cluster myid | tr -d '\r'); done

# Each cluster: its 3*HALF masters share the slots; its first node MEETs the
# others.
T_FORM=$(ms)
for cl in X Y; do
  members=()
  for n in "${NODES[@]}"; do [ "$(cluster_of "$n")" = $cl ] && members+=("$n"); done
  m=${#members[@]} per=$((16384 / ${#members[@]}))
  for i in $(seq 0 $((m - 1))); do
    lo=$((i * per)); hi=$(( i == m - 1 ? 16383 : (i + 1) * per - 1 ))
    C "${members[$i]}" cluster addslots $(seq $lo $hi) >/dev/null
    if [ "$i" -gt 0 ]; then
      h=${members[$i]%%:*}
      C "${members[0]}" cluster meet "${HOSTIP[$h]}" "${members[$i]##*:}" >/dev/null
    fi
  done
done
state() { C "$1" cluster info | tr -d '\r' | grep '^cluster_state:' | cut -d: -f2; }
ok=0
for _ in $(seq 300); do
  all=yes
  for n in "${NODES[@]}"; do [ "$(state "$n")" = ok ] || { all=no; break; }; done
  [ $all = yes ] && { ok=1; break; }
  sleep 0.2
done
[ $ok = 1 ] || { echo "clusters X and Y did not become healthy" >&2; exit 1; }
T_OK=$(ms)

# The incident: a node of X on h2 MEETs a node of Y on h3 (the second of
# each when there are two or more).
pause $((SECS / 2))
K=$(( HALF > 1 ? 1 : 0 ))
FROM=h2:$((7000 + K))
TO=h3:$((7000 + HALF + K))
T_MEET=$(ms)
[ "$(C $FROM cluster meet "${HOSTIP[h3]}" "${TO##*:}" | tr -d '\r')" = OK ] || { echo "CLUSTER MEET on $FROM failed" >&2; exit 1; }
pause $((SECS / 2))
for n in "${NODES[@]}"; do C "$n" cluster info > "$OUT/info-${n/:/-}.txt"; done
KNOWN=$(C h1:7000 cluster nodes | grep -v -e noaddr -e handshake | grep -c .)
T_END=$(ms)
for h in $HOSTS; do kill -INT "${TCPDUMP[$h]}" 2>/dev/null || true; done
for h in $HOSTS; do wait "${TCPDUMP[$h]}" || true; done
for h in $HOSTS; do cp "$WORK/tcpdump-$h.log" "$OUT/"; done
{
  echo "{"
  echo "  \"scenario\": \"three-hosts-merge\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_MEET,"
  echo "  \"hosts\": {\"h1\": \"${HOSTIP[h1]}\", \"h2\": \"${HOSTIP[h2]}\", \"h3\": \"${HOSTIP[h3]}\"},"
  echo "  \"nodes\": {"
  sep=""
  for n in "${NODES[@]}"; do
    printf '%s    "%s": {"id": "%s", "cluster": "%s", "where": "%s:%s"}' "$sep" "$n" "${ID[$n]}" "$(cluster_of "$n")" "${HOSTIP[${n%%:*}]}" "${n##*:}"
    sep=$',\n'
  done
  echo ""
  echo "  },"
  echo "  \"known_by_h1_7000_at_end\": $KNOWN,"
  echo "  \"events\": ["
  echo "    {\"t_ms\": $T_FORM, \"what\": \"clusters X and Y formed, $((3 * HALF)) masters each\"},"
  echo "    {\"t_ms\": $T_OK, \"what\": \"both clusters ok\"},"
  echo "    {\"t_ms\": $T_MEET, \"what\": \"operator: $FROM CLUSTER MEET ${HOSTIP[h3]} ${TO##*:}\"},"
  echo "    {\"t_ms\": $T_END, \"what\": \"end\"}"
  echo "  ]"
  echo "}"
} > "$OUT/truth.json"
for h in $HOSTS; do
  if [ "${GZIP:-0}" = 1 ]; then gzip -c "$WORK/$h.pcap" > "$OUT/$h.pcap.gz"; else mv "$WORK/$h.pcap" "$OUT/$h.pcap"; fi
done
echo "wrote $OUT ($VERSION, $((3 * PER_HOST)) nodes, h1:7000 knows $KNOWN)"
