# Shared by the loopback lab scripts (sourced, not run): a private network
# namespace with lo up and tcpdump on it, torn down on exit, failure or
# Ctrl-C, plus helpers to start servers and talk to them.
#
# Before sourcing: BIN (server binary), OUT (output dir), NS (namespace
# name), FILTER (tcpdump filter).
set -euo pipefail
mkdir -p "$OUT"
WORK=$(mktemp -d)
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  sleep 0.3
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ms() { date +%s%3N; }
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# A large kernel buffer (-B, KiB; TCPDUMP_BUFFER_KIB, default 256 MiB): with
# 100 servers on 2 cores tcpdump falls behind in bursts, and the default
# 2 MiB buffer dropped 70k packets of a 100-node run. tcpdump's own count
# ("packets dropped by kernel") is kept in OUT/tcpdump.log.
ip netns exec "$NS" tcpdump -i lo -U -B "${TCPDUMP_BUFFER_KIB:-262144}" -s "${SNAPLEN:-0}" -w "$WORK/lo.pcap" "$FILTER" 2>"$WORK/tcpdump.log" &
sleep 1
# The client: CLI if set, else the redis-cli/valkey-cli beside BIN (a
# build cache holds both), else redis-cli from PATH.
if [ -z "${CLI:-}" ]; then
  for c in "$(dirname "$BIN")/redis-cli" "$(dirname "$BIN")/valkey-cli" redis-cli; do
    command -v "$c" >/dev/null && { CLI=$c; break; }
  done
fi
C() { ip netns exec "$NS" "$CLI" -p "$@"; }
# The server's version (from --version, before any node starts) and
# version_lt X.Y: older servers know fewer options (Redis before 5.0 says
# "slave" where later ones say "replica").
BIN_VERSION=$("$BIN" --version | grep -o 'v=[0-9.]*' | cut -c3-)
version_lt() { [ "$BIN_VERSION" != "$1" ] && [ "$(printf '%s\n%s\n' "$BIN_VERSION" "$1" | sort -V | head -1)" = "$BIN_VERSION" ]; }
# start PORT NAME [extra server flags...]: a cluster node in its own dir,
# waits until it answers.
start() {
  local port=$1 name=$2
  shift 2
  mkdir -p "$WORK/$name"
  if ! ip netns exec "$NS" "$BIN" --port "$port" --cluster-enabled yes --cluster-config-file "$WORK/$name/nodes.conf" \
    --dir "$WORK/$name" --daemonize yes --save "" --appendonly no \
    --logfile "$WORK/$name/log" --pidfile "$WORK/$name/pid" "$@" >"$WORK/$name/stdout" 2>&1; then
    echo "node on port $port did not start ($BIN $BIN_VERSION): $(grep -v '^\s*$' "$WORK/$name/stdout" | tail -2 | tr '\n' ' ')" >&2
    return 1
  fi
  for _ in $(seq 50); do C "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "node on port $port did not start" >&2
  return 1
}
# split_slots P1 P2 P3: the 16384 slots in three ranges over three masters.
split_slots() {
  C "$1" cluster addslots $(seq 0 5460) >/dev/null
  C "$2" cluster addslots $(seq 5461 10922) >/dev/null
  C "$3" cluster addslots $(seq 10923 16383) >/dev/null
}
# wait_ok PORT...: until each of these nodes says its cluster is ok (10 s).
wait_ok() {
  local p
  for _ in $(seq 100); do
    local all=yes
    for p in "$@"; do
      [ "$(C "$p" cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] || all=no
    done
    [ "$all" = yes ] && return 0
    sleep 0.1
  done
}
server_version() {
  local info
  info=$(C "$1" info server | tr -d '\r')
  echo "$info" | grep -E '^valkey_version' || echo "$info" | grep -E '^redis_version'
}
# wait_master PORT: until PORT says it is a master (15 s); fails otherwise.
wait_master() {
  local _
  for _ in $(seq 150); do
    C "$1" cluster nodes 2>/dev/null | grep myself | grep -q master && return 0
    sleep 0.1
  done
  echo "$1 was not promoted" >&2
  return 1
}
# truth_nodes PORT...: the "nodes" entries of truth.json, one per port, from
# the array ID (port -> id); ports 70x0-70x9 with x = 1 are cluster Y.
truth_nodes() {
  local p cl sep=""
  for p in "$@"; do
    cl=X; [ "${p:2:1}" = 1 ] && cl=Y
    printf '%s    "%s": {"id": "%s", "cluster": "%s", "where": "127.0.0.1:%s"}' "$sep" "$p" "${ID[$p]}" "$cl" "$p"
    sep=$',\n'
  done
  echo ""
}
# finish: stop tcpdump cleanly and compress the capture into OUT (with
# RAW_PCAP=1 the capture is moved there uncompressed, as lo.pcap: what the
# benchmarks read).
finish_capture() {
  ip netns pids "$NS" | xargs -r kill 2>/dev/null || true
  sleep 1
  cp "$WORK/tcpdump.log" "$OUT/tcpdump.log" 2>/dev/null || true
  if [ "${RAW_PCAP:-0}" = 1 ]; then
    mv "$WORK/lo.pcap" "$OUT/lo.pcap"
  else
    gzip -9 -c "$WORK/lo.pcap" > "$OUT/lo.pcap.gz"
  fi
}
