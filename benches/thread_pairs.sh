#!/usr/bin/env bash
# Several captures: how much faster the default run (a reading thread per
# capture) is than `--threads 1`, timed as PAIRS adjacent pairs (one
# parallel run, then one `--threads 1` run) so that both runs of a pair
# see the machine in the same state; prints the median, lowest and
# highest ratio. On a VM whose speed moves by the minute this says more
# than two best-of times taken apart. Not a test: nothing here asserts a
# time. Make captures with tests/lab/three_hosts.sh.
#
# usage: benches/thread_pairs.sh MEETGRAPH FILE FILE [FILE...]     (PAIRS=15)
set -euo pipefail
MG=$1
shift
PAIRS=${PAIRS:-15}
ms() { # wall milliseconds of "$@"
  local s
  s=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  echo $((($(date +%s%N) - s) / 1000000))
}
cat "$@" >/dev/null # warm the page cache
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
for _ in $(seq "$PAIRS"); do
  p=$(ms "$MG" analyze --no-progress --json /dev/null "$@")
  o=$(ms "$MG" analyze --no-progress --threads 1 --json /dev/null "$@")
  echo "$p $o" >>"$TMP"
done
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf 'pairs                %s\n' "$PAIRS"
printf 'parallel, median     %s ms\n' "$(awk '{print $1}' "$TMP" | median)"
printf -- '--threads 1, median  %s ms\n' "$(awk '{print $2}' "$TMP" | median)"
awk '{printf "%.3f\n", $2 / $1}' "$TMP" | sort -n |
  awk '{v[NR] = $1} END {printf "speed-up             median %.2f, lowest %.2f, highest %.2f\n", v[int((NR + 1) / 2)], v[1], v[NR]}'
