#!/usr/bin/env bash
# tls-bus: the operator-merge scenario with an encrypted bus. Clusters
# X = 7000-7002 and Y = 7010-7012 on 127.0.0.1, every server TLS-only
# (`--port 0 --tls-port P --tls-cluster yes --tls-replication yes`, a
# self-signed CA made with openssl); then `CLUSTER MEET 127.0.0.1 7011` on
# 7001 merges them. Nothing of the bus is readable in the capture: the
# analysis must say so and still show who connected to whom.
#
# usage: tls_bus.sh SERVER_BINARY OUT_DIR     (as root; the server must be
# built with TLS; redis-cli with TLS is taken beside the binary, else
# /usr/bin/redis-cli). SNAPLEN=N captures N bytes per packet (the samples:
# 256, enough to see each stream's TLS records and keep the file small)
BIN=$1
OUT=$2
NS="mglab-tls-$$"
FILTER='tcp portrange 7000-7020 or tcp portrange 17000-17020'
. "$(dirname "$0")/loopback_common.sh"
CLI=$(dirname "$BIN")/redis-cli
[ -x "$CLI" ] || CLI=/usr/bin/redis-cli
if [ "$(strings "$BIN" | grep -c tls-cluster)" = 0 ]; then
  echo "$BIN has no TLS support" >&2; exit 2
fi
TLS="$WORK/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=meetgraph-lab-ca" \
  -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/node.key" -out "$TLS/node.csr" 2>/dev/null
openssl x509 -req -in "$TLS/node.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial -days 2 \
  -out "$TLS/node.crt" 2>/dev/null
TLSARGS=(--tls-cert-file "$TLS/node.crt" --tls-key-file "$TLS/node.key" --tls-ca-cert-file "$TLS/ca.crt")
C() { ip netns exec "$NS" "$CLI" --tls --cert "$TLS/node.crt" --key "$TLS/node.key" --cacert "$TLS/ca.crt" -p "$@"; }
tstart() {
  local port=$1
  mkdir -p "$WORK/$port"
  ip netns exec "$NS" "$BIN" --port 0 --tls-port "$port" --tls-cluster yes --tls-replication yes "${TLSARGS[@]}" \
    --cluster-enabled yes --cluster-config-file "$WORK/$port/nodes.conf" --cluster-node-timeout 3000 \
    --dir "$WORK/$port" --daemonize yes --save "" --appendonly no \
    --logfile "$WORK/$port/log" --pidfile "$WORK/$port/pid" >/dev/null
  for _ in $(seq 50); do C "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "TLS node on $port did not start" >&2; cat "$WORK/$port/log" >&2; return 1
}
for p in 7000 7001 7002 7010 7011 7012; do tstart "$p"; done
VERSION=$(C 7000 info server | tr -d '\r' | grep -E '^(valkey|redis)_version' | tail -1)
split_slots 7000 7001 7002
split_slots 7010 7011 7012
T_X=$(ms); for p in 7001 7002; do C 7000 cluster meet 127.0.0.1 "$p" >/dev/null; done
T_Y=$(ms); for p in 7011 7012; do C 7010 cluster meet 127.0.0.1 "$p" >/dev/null; done
wait_ok 7000 7010
sleep 5
C 7001 cluster nodes > "$OUT/nodes-before-7001.txt"
T_MEET=$(ms)
C 7001 cluster meet 127.0.0.1 7011 >/dev/null
sleep 6
C 7001 cluster nodes > "$OUT/nodes-after-7001.txt"
for p in 7000 7001 7002 7010 7011 7012; do C "$p" cluster info > "$OUT/info-$p.txt"; done
MERGED=false
[ "$(grep -c . "$OUT/nodes-after-7001.txt")" -ge 6 ] && MERGED=true
{
  echo "{"
  echo "  \"scenario\": \"tls-bus\","
  echo "  \"server\": \"$VERSION\","
  echo "  \"action_ms\": $T_MEET,"
  echo "  \"nodes\": {"
  for p in 7000 7001 7002 7010 7011; do
    cl=X; [ "${p:2:1}" = 1 ] && cl=Y
    printf '    "%s": {"id": "%s", "cluster": "%s", "where": "127.0.0.1:%s (TLS)"},\n' "$p" "$(C "$p" cluster myid | tr -d '\r')" "$cl" "$p"
  done
  printf '    "7012": {"id": "%s", "cluster": "Y", "where": "127.0.0.1:7012 (TLS)"}\n' "$(C 7012 cluster myid | tr -d '\r')"
  echo "  },"
  echo "  \"merged\": $MERGED,"
  echo "  \"events\": [{\"t_ms\": $T_X, \"what\": \"cluster X: 7000 meets 7001 and 7002\"}, {\"t_ms\": $T_Y, \"what\": \"cluster Y: 7010 meets 7011 and 7012\"}, {\"t_ms\": $T_MEET, \"what\": \"operator: 7001 CLUSTER MEET 127.0.0.1 7011 (TLS)\"}]"
  echo "}"
} > "$OUT/truth.json"
finish_capture
echo "wrote $OUT ($VERSION, merged=$MERGED)"
