#!/usr/bin/env bash
# Private lookups against plain ones, side by side on one seeded SQLite DP, every CSI sealed first
# (single-CSI lookups, HTTPS keep-alive, the DP, the relay and the driver on this machine):
#   plain     client → DP                                  (no tokens required)
#   oblivious client → relay → OHTTP gateway → lookup       (no tokens required)
#   private   client → relay → OHTTP gateway → token redemption → lookup
# Then plain and private again with the DP pinned to one core and the relay and driver to the other
# (taskset), the nearest this machine comes to a relay on its own machine.
# Prints each run (with the DP's and the relay's CPU time per measured lookup) and the ratios
# private/plain (shared cores and pinned), then the DP's CPU per plain lookup against per private one.
# Every drive first runs WARMUP seconds of unrecorded lookups (default 15: connections, JIT tiering, the
# DP's caches — a lookup on a token proves its service's label, absent for most CSIs here, whose VRF
# proof is made on first sight and kept), so the figures are steady-state ones.
#   bench/private-load.sh [N]   (default 10000 CSIs; TOKENS tokens per private run, default 40000,
#   enough for the warm-up and the measured phase; CLI_DLL runs the DP and relay of another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
tokens=${TOKENS:-40000}
warmup=${WARMUP:-15}
dp_port=9670
relay_port=9671
dp="https://127.0.0.1:$dp_port/"
relay="https://127.0.0.1:$relay_port/"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
[ -n "${CLI_DLL:-}" ] && cli="dotnet $CLI_DLL"
work=$(mktemp -d /tmp/mimi-private-load-XXXX)
data="$work/dp"
server=""; relay_pid=""
trap 'kill $server $relay_pid 2>/dev/null || true; rm -rf "$work"' EXIT
$load seed --data "$data" --from 0 --to "$n" >/dev/null

serve() { # tokens-required (true|false), cpu list for taskset
  env Discovery__RequireTokens="$1" taskset -c "$2" $cli serve --data "$data" --urls "https://127.0.0.1:$dp_port" >"$work/serve.log" 2>&1 &
  server=$!
  wait_healthy "https://127.0.0.1:$dp_port" "$data/tls.crt"
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }
start_relay() { # cpu list
  taskset -c "$1" $cli relay --gateway "${dp}.well-known/ohttp-gateway" --gateway-ca "$data/tls.crt" --urls "https://127.0.0.1:$relay_port" \
    --data "$work/relay" --rate 1000000 --max-request-bytes 65536 >"$work/relay.log" 2>&1 &
  relay_pid=$!
  for _ in $(seq 1 120); do [ -f "$work/relay/tls.crt" ] && break; sleep 0.5; done
  wait_healthy "https://127.0.0.1:$relay_port" "$work/relay/tls.crt"
}
stop_relay() { kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=""; }
drive() { # cpu list, then extra driver arguments
  local cpus=$1; shift
  taskset -c "$cpus" $load drive --dp "$dp" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" \
    --server-pid "$server" ${relay_pid:+--relay-pid "$relay_pid"} "$@"
}
via_relay=(--relay "$relay" --relay-ca "$work/relay/tls.crt")

key=$($cli accounts add --name bench --service bench --quota 100000000 --data "$data")
all=0-1

# Shared cores.
serve false "$all"
wait_sealed "https://127.0.0.1:$dp_port" "$data/tls.crt" $((n - 1))
start_relay "$all"
plain=$(drive "$all"); echo "plain n=$n $plain"
oblivious=$(drive "$all" "${via_relay[@]}"); echo "oblivious n=$n $oblivious"
stop_server
serve true "$all"
private=$(drive "$all" "${via_relay[@]}" --token-account "$key" --tokens "$tokens"); echo "private n=$n $private"
stop_server; stop_relay

# Pinned: the DP on core 1, the relay and the driver on core 0.
serve false 1
plain_pinned=$(drive 0); echo "plain-pinned n=$n $plain_pinned"
stop_server
serve true 1
start_relay 0
private_pinned=$(drive 0 "${via_relay[@]}" --token-account "$key" --tokens "$tokens"); echo "private-pinned n=$n $private_pinned"

echo "ratios n=$n oblivious/plain=$(ratio "$(field rps "$oblivious")" "$(field rps "$plain")") private/plain=$(ratio "$(field rps "$private")" "$(field rps "$plain")") private/plain_pinned=$(ratio "$(field rps "$private_pinned")" "$(field rps "$plain_pinned")")"
# What the DP alone could answer, whatever the driver and relay cost on these shared cores: its CPU
# time per plain lookup against per private one (a DP-bound private/plain ratio).
echo "dp_cpu n=$n plain/private=$(ratio "$(field server_cpu_us "$plain")" "$(field server_cpu_us "$private")") plain/oblivious=$(ratio "$(field server_cpu_us "$plain")" "$(field server_cpu_us "$oblivious")") plain/private_pinned=$(ratio "$(field server_cpu_us "$plain_pinned")" "$(field server_cpu_us "$private_pinned")")"
