#!/usr/bin/env bash
# A federated lookup with 1 and 3 peers against a local lookup, in one run (docs/benchmarks.md,
# "Federation"): a DP seeded with N CSIs is driven with single-CSI lookups three times — without
# peers, with one, with three (each peer a DP seeded with the same numbers, so every peer answers
# found and its answer is verified by the federating DP) — with transparency on, after sealing.
#   bench/federation.sh [N] [SECONDS] [CONCURRENCY]   (default 10000 CSIs, 20 s, 8 in flight)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
seconds=${2:-20}
concurrency=${3:-8}
port=${PORT:-9720}

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-federation-XXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
last=$(printf '+336%08d' $((n - 1)) | sed 's/+/%2B/')

start() { # name port [environment…]: starts a DP on its own seeded data folder and waits until it has sealed
  local name=$1 at=$2; shift 2
  env Discovery__RequireTokens=false "$@" $cli serve --data "$work/$name" --urls "https://127.0.0.1:$at" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 3600); do
    curl -sf --cacert "$work/$name/tls.crt" "https://127.0.0.1:$at/v1/lookup/$last" 2>/dev/null | grep -q '"result":"found"' && return
    sleep 1
  done
  echo "$name did not seal its seed" >&2; exit 1
}

for dp in local peer1 peer2 peer3; do $load seed --data "$work/$dp" --from 0 --to "$n" >/dev/null; done
for i in 1 2 3; do start "peer$i" $((port + i)); done

peer_env() { # count: the environment naming the first COUNT peers
  for i in $(seq 1 "$1"); do
    local dir="$work/peer$i" k=$((i - 1))
    local keys
    keys=$(curl -sf --cacert "$dir/tls.crt" "https://127.0.0.1:$((port + i))/.well-known/mimi-discovery")
    echo "Discovery__Peers__${k}__Url=https://127.0.0.1:$((port + i))"
    echo "Discovery__Peers__${k}__TlsCa=$dir/tls.crt"
    echo "Discovery__Peers__${k}__CredentialCas=$dir/ca.crt"
    echo "Discovery__Peers__${k}__VrfKey=$(printf %s "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["transparency"]["vrfKey"])')"
    echo "Discovery__Peers__${k}__LogKey=$(printf %s "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["transparency"]["logKey"])')"
  done
}

for peers in 0 1 3; do
  mapfile -t environment < <(peer_env "$peers")
  start local "$port" "${environment[@]}"
  local_pid=${pids[-1]}
  result=$($load drive --dp "https://127.0.0.1:$port/" --ca "$work/local/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")
  echo "peers=$peers $result"
  kill "$local_pid"; wait "$local_pid" 2>/dev/null || true
  unset 'pids[-1]'
done
