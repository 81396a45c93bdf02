#!/usr/bin/env bash
# Time `meetgraph analyze` against `tcpdump -r FILE -w /dev/null` on the
# same capture (page cache warm), in RUNS rounds taken in turns (each round
# runs every tool once, so a slow minute of a shared machine hits them
# all), and print per tool the median and best wall time, the median CPU
# time (user + sys: steadier than wall on a shared machine) and the
# largest peak RSS, then the ratios of the medians and the median (and
# range) of each round's own ratio. BASE=OTHER_MEETGRAPH
# adds a row for another build in the same rounds (before/after). With
# several FILEs also `--threads 1` against the default (one reading thread
# per capture). Not a test: nothing here asserts a time. Make a capture
# with tests/lab/large.sh (RAW_PCAP=1: uncompressed, so decompression does
# not dominate).
#
# usage: [RUNS=5] [BASE=BIN] benches/vs_tcpdump.sh MEETGRAPH FILE [FILE...]
set -euo pipefail
MG=$1
shift
RUNS=${RUNS:-5}
BASE=${BASE:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# once NAME CMD...: one run; appends "wall cpu rss_kib" to $TMP/NAME.
once() {
  local name=$1
  shift
  /usr/bin/time -o "$TMP/t" -f "%e %U %S %M" "$@" >/dev/null 2>&1 || true
  tail -1 "$TMP/t" | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' >> "$TMP/$name"
}
# row NAME LABEL: median wall, best wall, median CPU, max RSS of NAME's runs;
# sets MED_WALL and MED_CPU.
row() {
  local f=$TMP/$1
  MED_WALL=$(cut -d' ' -f1 "$f" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  MED_CPU=$(cut -d' ' -f2 "$f" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  local best rss
  best=$(cut -d' ' -f1 "$f" | sort -g | head -1)
  rss=$(cut -d' ' -f3 "$f" | sort -g | tail -1)
  printf '%-22s %7.2f %7.2f %7.2f %9d\n' "$2" "$MED_WALL" "$best" "$MED_CPU" "$rss"
}
# The ratios hold only on an otherwise idle machine: a two-thread run
# slows far more than tcpdump when other work takes a core (on the 2-core
# development VM at load 7-10 the 30-node ratio read 2.3x, idle 1.2x).
load() { cut -d' ' -f1 /proc/loadavg; }
LOAD_START=$(load)
cat "$@" > /dev/null  # warm the page cache
bytes=$(cat "$@" | wc -c)
for _ in $(seq "$RUNS"); do
  once tcpdump sh -c 'for f; do tcpdump -r "$f" -w /dev/null; done' sh "$@"
  once analyze "$MG" analyze --no-progress "$@"
  [ -n "$BASE" ] && once base "$BASE" analyze --no-progress "$@"
  [ "$#" -gt 1 ] && once threads1 "$MG" analyze --no-progress --threads 1 "$@"
done
LOAD_END=$(load)
printf 'input: %s file(s), %s MB; %s rounds; %s cores, load average %s at the start, %s at the end\n' \
  "$#" "$((bytes / 1000000))" "$RUNS" "$(nproc)" "$LOAD_START" "$LOAD_END"
# (The 1-minute average lags: the rounds themselves and the work just
# before them add about 1.5 on 2 cores; other jobs show as more.)
if awk "BEGIN { exit !($LOAD_START > $(nproc) * 0.75 || $LOAD_END > $(nproc) + 0.5) }"; then
  echo "warning: the machine was busy with other work: these times and ratios are not comparable"
fi
printf '%-22s %7s %7s %7s %9s\n' "" "wall md" "best" "cpu md" "RSS KiB"
row tcpdump 'tcpdump -r'
tw=$MED_WALL tc=$MED_CPU
row analyze 'meetgraph analyze'
aw=$MED_WALL ac=$MED_CPU
# round_ratios NAME: the median and the range of NAME's wall time over
# tcpdump's in the same round (a round's tools ran within seconds of each
# other, so a slow minute of the VM cancels out of each round's ratio).
round_ratios() {
  paste -d' ' "$TMP/$1" "$TMP/tcpdump" | awk '{ print $1 / $4 }' | sort -g |
    awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %.2f, rounds %.2f-%.2f", m, v[1], v[NR] }'
}
printf 'ratio analyze/tcpdump  wall %.2f  cpu %.2f  (%.0f MB/s); per round: %s\n' \
  "$(awk "BEGIN{print $aw/$tw}")" "$(awk "BEGIN{print $ac/$tc}")" "$(awk "BEGIN{print $bytes/1e6/$aw}")" "$(round_ratios analyze)"
if [ -n "$BASE" ]; then
  row base 'BASE analyze'
  printf 'ratio BASE/tcpdump     wall %.2f  cpu %.2f; per round: %s\n' \
    "$(awk "BEGIN{print $MED_WALL/$tw}")" "$(awk "BEGIN{print $MED_CPU/$tc}")" "$(round_ratios base)"
fi
if [ "$#" -gt 1 ]; then
  row threads1 'analyze --threads 1'
  printf 'speed-up of threads    wall %.2f\n' "$(awk "BEGIN{print $MED_WALL/$aw}")"
fi
