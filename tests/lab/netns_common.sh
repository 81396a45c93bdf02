# Shared by the lab scripts that build hosts out of network namespaces
# (sourced, not run): a temporary directory WORK, namespaces made with
# mkns (listed in NSS) and everything running in them removed on exit,
# failure or Ctrl-C, plus small helpers.
#
# Before sourcing: OUT (output dir). Sets CLI (the client: CLI if set, else
# the redis-cli/valkey-cli beside BIN, else redis-cli from PATH).
set -euo pipefail
mkdir -p "$OUT"
WORK=$(mktemp -d)
NSS=()
cleanup() {
  for ns in "${NSS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  sleep 0.3
  for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
# INT/TERM exit (the EXIT trap then cleans up) instead of running on
# after the cleanup; pause sleeps in a way a signal interrupts.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ms() { date +%s%3N; }
pause() { sleep "$1" & wait $!; }
x() { ip netns exec "$@"; }
mkns() { ip netns add "$1"; NSS+=("$1"); x "$1" ip link set lo up; }
if [ -z "${CLI:-}" ]; then
  for c in "$(dirname "$BIN")/redis-cli" "$(dirname "$BIN")/valkey-cli" redis-cli; do
    command -v "$c" >/dev/null && { CLI=$c; break; }
  done
fi
CLI=$(command -v "$CLI")
