#!/usr/bin/env bash
# Lookups on the process that seals, while it seals a backlog and after (idle), side by side:
#   1. seed N CSIs into a fresh database, start the DP, wait until they are sealed, stop it;
#   2. seed N more (all pending) while the DP is down;
#   3. start the DP and at once drive single-CSI lookups of the first, sealed N for S seconds while it
#      seals the new N (every answer must be "found": a sealed CSI never answers otherwise);
#   4. wait until the last new CSI is sealed, then drive the same lookups again (idle);
#   5. print both, the sealing rate and the p99 ratio sealing/idle.
#   bench/seal-stall.sh [N] [POSTGRES_CONNECTION]      (N default 100000; CLI_DLL picks another build)
#   PROCESSES=3 starts two more DP processes on the same database once the first (the one driven,
#   which starts sealing first) is up.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-100000}
database=${2:-}
seconds=${SECONDS_PER_RUN:-10}
concurrency=${CONCURRENCY:-4}
port=9670
url="https://127.0.0.1:$port"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
[ -n "${CLI_DLL:-}" ] && cli="dotnet $CLI_DLL"
work=$(mktemp -d /tmp/mimi-seal-stall-XXXX)
data="$work/dp"
db_args=()
[ -n "$database" ] && db_args=(--database "$database")
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

serve() { # port, log
  env Discovery__RequireTokens=false Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " \
    $cli serve --data "$data" "${db_args[@]}" --urls "https://127.0.0.1:$1" >"$2" 2>&1 &
  servers+=($!)
}

# 1, 2: the sealed set, then the backlog.
$load seed --data "$data" "${db_args[@]}" --from 0 --to "$n" >/dev/null
serve "$port" "$work/first.log"
wait_healthy "$url" "$data/tls.crt"
wait_sealed "$url" "$data/tls.crt" $((n - 1))
kill "${servers[@]}"; wait "${servers[@]}" 2>/dev/null || true; servers=()
$load seed --data "$data" "${db_args[@]}" --from "$n" --to $((2 * n)) >/dev/null

# 3. Lookups of the sealed set while the new set seals.
serve "$port" "$work/serve.log"
wait_healthy "$url" "$data/tls.crt"
for i in $(seq 2 "${PROCESSES:-1}"); do serve $((port + i)) "$work/serve-$i.log"; done
drive() { $load drive --dp "$url/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency" || true; }
during=$(drive)
still=$(curl -sf --cacert "$data/tls.crt" "$url/v1/lookup/$(csi_of $((2 * n - 1)) | sed 's/+/%2B/')" | grep -q '"result":"found"' && echo no || echo yes)
echo "sealing n=$n $during sealing_outlasted_drive=$still"

# 4. Idle, once everything is sealed.
wait_sealed "$url" "$data/tls.crt" $((2 * n - 1))
idle=$(drive)
echo "idle    n=$n $idle"
rate=$(awk '/TransparencyLog\[400\]/ { split($1, h, ":"); t = h[1] * 3600 + h[2] * 60 + h[3]; getline
    for (i = 1; i <= NF; i++) if ($i == "with") k = $(i + 1)
    if (!seen) { seen = 1; first = t; firstk = k } else { labels += k; last = t } }
  END { if (last > first) printf "%.0f", labels / (last - first); else print "n/a" }' "$work/serve.log")
echo "ratios n=$n p99_sealing/idle=$(ratio "$(field p99_ms "$during")" "$(field p99_ms "$idle")") p50_sealing/idle=$(ratio "$(field p50_ms "$during")" "$(field p50_ms "$idle")") sealing_labels_per_s=$rate"
