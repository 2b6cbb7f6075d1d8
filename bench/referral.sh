#!/usr/bin/env bash
# A lookup referred by a root against the same lookup asked of the operator directly, side by side
# in one run (docs/benchmarks.md, "Referrals"): the operator's DP holds N seeded CSIs (+336…), a root
# DP holds nothing and delegates +336 to it; the sender verifies everything in both modes.
#   bench/referral.sh [N] [SECONDS] [CONCURRENCY]   (default 10000 CSIs, 20 s, 8 in flight)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
seconds=${2:-20}
concurrency=${3:-8}
port=${PORT:-9700}

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-referral-XXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
root="https://127.0.0.1:$port"
operator="https://127.0.0.1:$((port + 1))"

$load seed --data "$work/operator" --from 0 --to "$n" >/dev/null
for dp in root operator; do
  url=$([ "$dp" = root ] && echo "$root" || echo "$operator")
  Discovery__RequireTokens=false $cli serve --data "$work/$dp" --urls "$url" >"$work/$dp.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf --cacert "$work/$dp/tls.crt" "$url/health" >/dev/null 2>&1 && break; sleep 0.5; done
done

# Sealing: wait until the last seeded CSI is found at the operator.
last=$(printf '+336%08d' $((n - 1)) | sed 's/+/%2B/')
for _ in $(seq 1 3600); do
  curl -sf --cacert "$work/operator/tls.crt" "$operator/v1/lookup/$last" | grep -q '"result":"found"' && break
  sleep 1
done

$cli delegations add --data "$work/root" --origin "$root" --scope +336 --to "$operator" --to-ca "$work/operator/tls.crt" >/dev/null 2>&1
for _ in $(seq 1 120); do
  curl -sf --cacert "$work/root/tls.crt" "$root/v1/lookup/$last" | grep -q '"result":"referral"' && break
  sleep 0.5
done

$load referrals --root "$root/" --root-ca "$work/root/tls.crt" --dp "$operator/" --dp-ca "$work/operator/tls.crt" \
  --count "$n" --seconds "$seconds" --concurrency "$concurrency"
