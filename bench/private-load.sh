#!/usr/bin/env bash
# Private lookups against plain ones, side by side on one seeded SQLite DP (single-CSI lookups,
# HTTPS keep-alive, the DP, the relay and the driver on this machine):
#   plain     client → DP                                  (no tokens required)
#   oblivious client → relay → OHTTP gateway → lookup       (no tokens required)
#   private   client → relay → OHTTP gateway → token redemption → lookup
#   bench/private-load.sh [N]   (default 10000 CSIs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
tokens=${TOKENS:-4000}
dp_port=9670
relay_port=9671

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-private-load-XXXX)
data="$work/dp"
dp="https://127.0.0.1:$dp_port/"
relay="https://127.0.0.1:$relay_port/"
$load seed --data "$data" --from 0 --to "$n" >/dev/null

serve() { # tokens-required (true|false)
  env Discovery__RequireTokens="$1" $cli serve --data "$data" --urls "https://127.0.0.1:$dp_port" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do curl -sf --cacert "$data/tls.crt" "${dp}health" >/dev/null 2>&1 && break; sleep 0.5; done
}

$cli relay --gateway "${dp}.well-known/ohttp-gateway" --gateway-ca "$data/tls.crt" --urls "https://127.0.0.1:$relay_port" \
  --data "$work/relay" --rate 1000000 --max-request-bytes 65536 >"$work/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 120); do [ -f "$work/relay/tls.crt" ] && curl -sf --cacert "$work/relay/tls.crt" "${relay}health" >/dev/null 2>&1 && break; sleep 0.5; done

serve false
# Every seeded CSI sealed into the transparency log before measuring.
for _ in $(seq 1 600); do
  curl -s --cacert "$data/tls.crt" "${dp}v1/lookup/%2B336$(printf %08d $((n - 1)))" | grep -q '"result":"found"' && break
  sleep 1
done
echo "plain n=$n $($load drive --dp "$dp" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")"
echo "oblivious n=$n $($load drive --dp "$dp" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency" --relay "$relay" --relay-ca "$work/relay/tls.crt")"
kill "$server"; wait "$server" 2>/dev/null || true

key=$($cli accounts add --name bench --service bench --quota 100000000 --data "$data")
serve true
echo "private n=$n $($load drive --dp "$dp" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency" --relay "$relay" --relay-ca "$work/relay/tls.crt" --token-account "$key" --tokens "$tokens")"
kill "$server" "$relay_pid"; wait 2>/dev/null || true
rm -rf "$work"
