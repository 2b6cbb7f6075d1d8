#!/usr/bin/env bash
# Transparency at scale: for each size N (default 10^4, 10^5, 10^6 CSIs) on a fresh database —
#   1. seed N CSIs, start the DP and wait until every one is sealed (seconds to seal);
#   2. single-CSI lookups with proofs over HTTPS keep-alive (the load driver), and one lookup's body size;
#   3. the DP's resident memory after the lookups (VmRSS) and its peak (VmHWM);
#   4. a restart: seconds from start until the DP answers a sealed CSI `found` (the tree rebuilt from
#      the database), and the resident memory then.
# Prints one line per size and the ratios of lookups/s and p50 to the smallest size. SQLite (the
# embedded default), or with STORE=postgres a fresh PostgreSQL database per size (MIMI_TEST_POSTGRES,
# as .ci/run sets it); restart time is polled once a second. CLI_DLL runs the DP of another build.
#   [STORE=postgres] [CLI_DLL=…/mimi-discovery.dll] bench/scale.sh [SIZES]   e.g. bench/scale.sh "10000 100000 1000000"
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
sizes=${1:-"10000 100000 1000000"}
seconds=${SECONDS_PER_RUN:-15}
concurrency=${CONCURRENCY:-16}
port=9680
url="https://127.0.0.1:$port"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
[ -n "${CLI_DLL:-}" ] && cli="dotnet $CLI_DLL"
work=$(mktemp -d /tmp/mimi-scale-XXXX)
server=""
store=${STORE:-sqlite}
database=()
name=""
trap 'kill $server 2>/dev/null || true; [ -n "$name" ] && pg_drop "$name"; rm -rf "$work"' EXIT

serve() { # data folder
  env Discovery__RequireTokens=false $cli serve --data "$1" "${database[@]}" --urls "$url" >"$1.log" 2>&1 &
  server=$!
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server/status"; }

first_rps=""; first_p50=""
for n in $sizes; do
  data="$work/dp-$n"
  if [ "$store" = postgres ]; then
    name="mimi_scale_${n}_$$"
    database=(--database "$(pg_create "$name")")
  fi
  $load seed --data "$data" "${database[@]}" --from 0 --to "$n" >/dev/null
  start=$(date +%s.%N)
  serve "$data"
  wait_healthy "$url" "$data/tls.crt"
  wait_sealed "$url" "$data/tls.crt" $((n - 1))
  sealed_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  run=$($load drive --dp "$url/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")
  floor_body "$url" "$data/tls.crt" $((n / 2)) "$work/body.json"
  rss=$(status_kb VmRSS); hwm=$(status_kb VmHWM)
  stop
  start=$(date +%s.%N)
  serve "$data"
  wait_sealed "$url" "$data/tls.crt" $((n - 1))
  restart_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  restart_rss=$(status_kb VmRSS)
  stop
  echo "scale store=$store n=$n seal_s=$sealed_s $run body_bytes=$(stat -c %s "$work/body.json") rss_mib=$((rss / 1024)) peak_rss_mib=$((hwm / 1024)) restart_s=$restart_s restart_rss_mib=$((restart_rss / 1024))"
  rps=$(field rps "$run"); p50=$(field p50_ms "$run")
  if [ -z "$first_rps" ]; then first_rps=$rps; first_p50=$p50; fi
  echo "ratios n=$n rps/first=$(ratio "$rps" "$first_rps") p50/first=$(ratio "$p50" "$first_p50")"
  rm -rf "$data"
  if [ -n "$name" ]; then pg_drop "$name"; name=""; fi
done
