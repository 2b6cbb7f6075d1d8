#!/usr/bin/env bash
# Lookups on the process that seals, while it seals a backlog and after (idle), side by side:
#   1. seed N CSIs (bulk load: all pending) into a fresh database;
#   2. start the DP (SQLite, or PostgreSQL with a connection argument) and at once drive single-CSI
#      lookups for S seconds while it seals the backlog (answers are "found" or, not yet sealed, "none");
#   3. wait until the last CSI is sealed, then drive the same lookups again (idle);
#   4. print both and the p99 ratio.
#   bench/seal-stall.sh [N] [POSTGRES_CONNECTION]      (N default 20000; CLI_DLL picks another build)
#   PROCESSES=3 starts two more DP processes on the same database once the first (the one driven,
#   which starts sealing first) is up.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
database=${2:-}
seconds=${SECONDS_PER_RUN:-15}
concurrency=${CONCURRENCY:-4}
port=9670

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet ${CLI_DLL:-src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll}"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-seal-stall-XXXX)
data="$work/dp"
db_args=()
[ -n "$database" ] && db_args=(--database "$database")
$load seed --data "$data" "${db_args[@]}" --from 0 --to "$n" >/dev/null

Discovery__RequireTokens=false $cli serve --data "$data" "${db_args[@]}" --urls "https://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
servers=($server)
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do curl -sf --cacert "$data/tls.crt" "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.2; done
for i in $(seq 2 "${PROCESSES:-1}"); do
  Discovery__RequireTokens=false $cli serve --data "$data" "${db_args[@]}" --urls "https://127.0.0.1:$((port + i))" >"$work/serve-$i.log" 2>&1 &
  servers+=($!)
done

drive() { $load drive --dp "https://127.0.0.1:$port/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency" || true; }
during=$(drive)
echo "sealing n=$n $during"
last=$(printf '+336%08d' $((n - 1)) | sed 's/+/%2B/')
for _ in $(seq 1 3600); do
  curl -sf --cacert "$data/tls.crt" "https://127.0.0.1:$port/v1/lookup/$last" | grep -q '"result":"found"' && break
  sleep 1
done
idle=$(drive)
echo "idle    n=$n $idle"
p99() { sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p'; }
echo "p99 sealing/idle = $(echo "$(echo "$during" | p99) $(echo "$idle" | p99)" | awk '{printf "%.1f", $1 / $2}')"
