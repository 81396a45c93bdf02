#!/usr/bin/env bash
# Time `meetgraph analyze` against `tcpdump -r FILE -w /dev/null` on the
# same capture in one run (page cache warm, best of RUNS each), and print
# the ratio and peak memory; with several FILEs also `--threads 1` against
# the default (one reading thread per capture). Not a test: nothing here
# asserts a time. Make a capture with tests/lab/large.sh (30 or 100 nodes).
#
# usage: benches/vs_tcpdump.sh MEETGRAPH FILE [FILE...]     (RUNS=3)
set -euo pipefail
MG=$1
shift
RUNS=${RUNS:-3}
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
best() { # best wall time (s) and its peak RSS (KiB) of RUNS runs of "$@"
  local b="" m=""
  for _ in $(seq "$RUNS"); do
    local out
    /usr/bin/time -o "$TMP" -f "%e %M" "$@" >/dev/null 2>&1 || true
    out=$(tail -1 "$TMP")
    local t=${out% *} k=${out#* }
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; m=$k; fi
  done
  echo "$b $m"
}
cat "$@" > /dev/null  # warm the page cache
bytes=$(cat "$@" | wc -c)
read -r tt tm < <(best sh -c 'for f; do tcpdump -r "$f" -w /dev/null; done' sh "$@")
read -r at am < <(best "$MG" analyze --no-progress "$@")
printf 'input                %s file(s), %s MB\n' "$#" "$((bytes / 1000000))"
printf 'tcpdump -r           %6.2f s  %7d KiB\n' "$tt" "$tm"
printf 'meetgraph analyze    %6.2f s  %7d KiB  (%.0f MB/s)\n' "$at" "$am" "$(awk "BEGIN{print $bytes/1e6/$at}")"
printf 'ratio analyze/tcpdump %5.2f\n' "$(awk "BEGIN{print $at/$tt}")"
if [ "$#" -gt 1 ]; then
  read -r ot om < <(best "$MG" analyze --no-progress --threads 1 "$@")
  printf 'analyze --threads 1  %6.2f s  %7d KiB\n' "$ot" "$om"
  printf 'speed-up of threads  %5.2f\n' "$(awk "BEGIN{print $ot/$at}")"
fi
