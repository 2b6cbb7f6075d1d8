#!/usr/bin/env bash
# The load benchmark: for SQLite and PostgreSQL, seed 10^4, then 10^5, then 10^6 CSIs with real
# signed statements, and at each size drive single-CSI lookups over HTTPS keep-alive from a
# separate process; report req/s, p50/p99 and the server's resident memory. Tokens are not
# required here (this measures the lookup path; bench/private-load.sh adds relay and tokens).
#   bench/load.sh [POSTGRES_ADMIN_CONNECTION]   (default: the MIMI_TEST_POSTGRES of .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
pg_admin=${1:-${MIMI_TEST_POSTGRES:-}}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
sizes=(10000 100000 1000000)

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-load-XXXX)
port=9650

run_matrix() { # name, database-argument (empty for SQLite)
  local name=$1 database=$2 from=0 db_args=()
  [ -n "$database" ] && db_args=(--database "$database")
  local data="$work/$name"
  for n in "${sizes[@]}"; do
    $load seed --data "$data" "${db_args[@]}" --from "$from" --to "$n" >/dev/null
    from=$n
    Discovery__RequireTokens=false $cli serve --data "$data" "${db_args[@]}" --urls "https://127.0.0.1:$port" >"$work/$name-serve.log" 2>&1 &
    local server=$!
    for _ in $(seq 1 60); do [ -f "$data/tls.crt" ] && curl -sf --cacert "$data/tls.crt" "https://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
    local result
    result=$($load drive --dp "https://127.0.0.1:$port/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")
    local pid
    pid=$(pgrep -f "serve --data $data" | head -n 1)
    local rss
    rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
    echo "$name n=$n $result server_rss_mib=$rss"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
}

run_matrix sqlite ""
if [ -n "$pg_admin" ]; then
  db="mimi_load_$$"
  psql "$(echo "$pg_admin" | sed 's/;/ /g; s/Host=/host=/; s/Port=/port=/; s/Username=/user=/; s/Password=/password=/; s/Database=/dbname=/')" -qc "CREATE DATABASE $db" >/dev/null
  run_matrix postgresql "$(echo "$pg_admin" | sed "s/Database=[^;]*/Database=$db/")"
  psql "$(echo "$pg_admin" | sed 's/;/ /g; s/Host=/host=/; s/Port=/port=/; s/Username=/user=/; s/Password=/password=/; s/Database=/dbname=/')" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
rm -rf "$work"
