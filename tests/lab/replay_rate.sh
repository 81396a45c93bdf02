#!/usr/bin/env bash
# replay_rate: how fast `meetgraph watch -i` keeps up. A private namespace
# with a veth pair; tcpreplay sends CAPTURE out of one end, `meetgraph
# watch -i` (or tcpdump, for comparison: TOOL=tcpdump) listens on the other;
# when the replay ends the listener is stopped and says how many packets it
# captured and how many libpcap dropped. Its peak memory is sampled from
# /proc every SAMPLE seconds into OUT_DIR/rss.tsv (seconds, RSS KiB, peak RSS KiB,
# RssAnon KiB: the heap, without the libpcap ring and the binary's pages).
#
# usage: replay_rate.sh MEETGRAPH CAPTURE OUT_DIR [tcpreplay speed args]   (as root)
#   e.g. replay_rate.sh target/release/meetgraph big.pcap /tmp/r --topspeed
#        replay_rate.sh target/release/meetgraph big.pcap /tmp/r --pps=100000
#   LOOP=N: replay N times (tcpreplay --loop; with --unique-ip each pass
#   gets new addresses, so every pass is new connections to the listener);
#   DURATION=S: stop the replay after S seconds (tcpreplay --duration).
set -euo pipefail
MG=$1
CAP=$2
OUT=$3
shift 3
SPEED=("${@:---topspeed}")
SAMPLE=${SAMPLE:-10}
TOOL=${TOOL:-meetgraph}
NS="mgrate-$$"
mkdir -p "$OUT"
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  sleep 0.3
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
x() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
x ip link add veth0 type veth peer name veth1
x ip link set veth0 mtu 65535 up
x ip link set veth1 mtu 65535 up
x ip link set lo up
# No IPv6 chatter on the pair: only the replay is on the wire.
x sysctl -qw net.ipv6.conf.all.disable_ipv6=1
if [ "$TOOL" = tcpdump ]; then
  x tcpdump -i veth1 -s 0 -B 4096 -w /dev/null tcp 2>"$OUT/listener.err" &
else
  x "$MG" watch -i veth1 --json-events "$OUT/events.jsonl" >/dev/null 2>"$OUT/listener.err" &
fi
sleep 1.5
LPID=$(ip netns pids "$NS" | head -1)
: > "$OUT/rss.tsv"
(
  t0=$(date +%s)
  while kill -0 "$LPID" 2>/dev/null; do
    printf "%s\t%s\t%s\t%s\n" $(($(date +%s) - t0)) "$(awk '/VmRSS/ {print $2}' /proc/"$LPID"/status 2>/dev/null)" "$(awk '/VmHWM/ {print $2}' /proc/"$LPID"/status 2>/dev/null)" "$(awk '/RssAnon/ {print $2}' /proc/"$LPID"/status 2>/dev/null)" >> "$OUT/rss.tsv"
    sleep "$SAMPLE"
  done
) &
SAMPLER=$!
EXTRA=()
[ -n "${LOOP:-}" ] && EXTRA+=(--loop="$LOOP" --unique-ip)
[ -n "${DURATION:-}" ] && EXTRA+=(--duration="$DURATION")
x tcpreplay -i veth0 --preload-pcap "${SPEED[@]}" "${EXTRA[@]}" "$CAP" > "$OUT/tcpreplay.txt" 2>&1
sleep 2
kill -INT "$LPID"
while kill -0 "$LPID" 2>/dev/null; do sleep 0.2; done
kill "$SAMPLER" 2>/dev/null || true
grep -E "Actual|Rated|Failed" "$OUT/tcpreplay.txt" || cat "$OUT/tcpreplay.txt"
grep -E "captured|dropped" "$OUT/listener.err" || tail -3 "$OUT/listener.err"
last=$(awk -F'\t' '$2 != ""' "$OUT/rss.tsv" | tail -1)
echo "RSS at the last sample ($(echo "$last" | cut -f1) s) $(echo "$last" | cut -f2) KiB, peak $(echo "$last" | cut -f3) KiB"
