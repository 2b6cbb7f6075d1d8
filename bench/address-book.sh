#!/usr/bin/env bash
# A 1,000-contact address book resolved privately — through a relay, paid with tokens, every answer
# verified and proven complete — as one AddressBookSync against 1,000 single private lookups, side
# by side on one seeded SQLite DP with transparency on and every mapping sealed. Each way runs twice,
# alternating, in a fresh client process; the sync's second pass (from its cache) is reported too.
# The DP, the relay and the client share this machine.
#   bench/address-book.sh [CONTACTS] [DIRECTORY]   (default 1000 contacts of a 100,000-number directory:
#                                                   of every 20 numbers, 6 found, 1 opted out, 13 none)
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${1:-1000}
directory=${2:-100000}
dp_port=9680
relay_port=9681

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-book-XXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
data="$work/dp"
dp="https://127.0.0.1:$dp_port/"
relay="https://127.0.0.1:$relay_port/"
$load seed --data "$data" --from 0 --to "$directory" --mix book >/dev/null
key=$($cli accounts add --name bench --service bench --quota 100000000 --data "$data")

Discovery__RequireTokens=true $cli serve --data "$data" --urls "https://127.0.0.1:$dp_port" >"$work/serve.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 600); do curl -sf --cacert "$data/tls.crt" "${dp}health" >/dev/null 2>&1 && break; sleep 0.5; done
$cli relay --gateway "${dp}.well-known/ohttp-gateway" --gateway-ca "$data/tls.crt" --urls "https://127.0.0.1:$relay_port" \
  --data "$work/relay" --rate 1000000 >"$work/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do [ -f "$work/relay/tls.crt" ] && curl -sf --cacert "$work/relay/tls.crt" "${relay}health" >/dev/null 2>&1 && break; sleep 0.5; done

# Every seeded mapping sealed before measuring: sealing is CPU work (a VRF proof per label), so wait
# until the DP has used less than 0.1 s of CPU in 3 s.
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(ticks)
for _ in $(seq 1 600); do
  sleep 3; now=$(ticks)
  [ $((now - before)) -lt 10 ] && break
  before=$now
done

for round in 1 2; do
  for mode in sync single; do
    $load book --mode "$mode" --contacts "$contacts" --dp "$dp" --ca "$data/tls.crt" --relay "$relay" \
      --relay-ca "$work/relay/tls.crt" --token-account "$key" --dp-pid "$server" | sed "s/^/round=$round /"
  done
done
