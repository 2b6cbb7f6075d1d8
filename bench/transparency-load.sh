#!/usr/bin/env bash
# Transparency on the lookup path, measured side by side on one seeded SQLite database:
#   1. end-to-end sealing throughput: the DP seals the seeded CSIs (VRF per new label, prefix
#      tree, signed tree head, SQL) in epochs of EpochMaxBatch; labels/s from its timestamped log;
#   2. after sealing, single-CSI lookups/s with proofs (the default), over HTTPS keep-alive;
#   3. the HTTPS floor: the same Kestrel/TLS set-up answering the body of one such lookup, precomputed;
#   4. the same lookups with Discovery:Transparency=false (the live table, no proofs).
#   Prints each run, with the serving process's CPU time per measured request (server_cpu_us), and the
#   ratios with-proofs/floor and without-proofs/floor.
#   With COMPARE_DLL (another build's mimi-discovery.dll, e.g. main's in a worktree), step 2 runs
#   2×PAIRS (default 2) more times on the same sealed database, alternating this build and that one, and prints the
#   ratio this/compare of their lookups/s per pair: a change measured against its base in one run.
#   bench/transparency-load.sh [N]   (default 10000 CSIs)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
warmup=${WARMUP:-3}
concurrency=${CONCURRENCY:-16}
port=9660
url="https://127.0.0.1:$port"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
work=$(mktemp -d /tmp/mimi-tx-load-XXXX)
data="$work/dp"
server=""; floor=""
trap 'kill $server $floor 2>/dev/null || true; rm -rf "$work"' EXIT
$load seed --data "$data" --from 0 --to "$n" >/dev/null

serve() { # label, then environment assignments
  local log="$work/$1.log"; shift
  env Discovery__RequireTokens=false Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " "$@" \
    $cli serve --data "$data" --urls "$url" >"$log" 2>&1 &
  server=$!
  wait_healthy "$url" "$data/tls.crt"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
drive() { $load drive --dp "$url/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" --server-pid "${server:-$floor}"; }

# 1. Sealing: wait until no CSI is pending (the last seeded CSI is found), then read the log.
serve with-proofs
wait_sealed "$url" "$data/tls.crt" $((n - 1))
# Each seal logs "HH:mm:ss.fff info: …TransparencyLog[400]" then "Sealed epoch E with K label change(s)".
sealing=$(awk '/TransparencyLog\[400\]/ { split($1, h, ":"); t = h[1] * 3600 + h[2] * 60 + h[3]; getline
    for (i = 1; i <= NF; i++) if ($i == "with") k = $(i + 1)
    if (!seen) { seen = 1; first = t } else { labels += k; last = t; epochs++ } }
  END { if (last > first) printf "epochs_after_first=%d labels=%d seconds=%.1f labels_per_s=%.0f", epochs, labels, last - first, labels / (last - first)
        else print "one epoch only: use a larger N" }' "$work/with-proofs.log")
echo "sealing n=$n $sealing"

# 2. Lookups with proofs, over the sealed set.
proofs=$(drive)
echo "lookup with-proofs n=$n $proofs"
floor_body "$url" "$data/tls.crt" $((n / 2)) "$work/body.json"
stop "$server"; server=""
if [ -n "${COMPARE_DLL:-}" ]; then
  this=$cli
  for pair in $(seq 1 "${PAIRS:-2}"); do
    cli="dotnet $COMPARE_DLL"; serve compare-$pair; base=$(drive); stop "$server"; server=""
    cli=$this; serve this-$pair; mine=$(drive); stop "$server"; server=""
    echo "lookup with-proofs compare pair=$pair this: $mine"
    echo "lookup with-proofs compare pair=$pair compare: $base"
    echo "ratio pair=$pair this/compare=$(ratio "$(field rps "$mine")" "$(field rps "$base")") p50_this/compare=$(ratio "$(field p50_ms "$mine")" "$(field p50_ms "$base")") server_cpu_this/compare=$(ratio "$(field server_cpu_us "$mine")" "$(field server_cpu_us "$base")")"
  done
fi

# 3. The floor: the same server set-up, one precomputed body of the same size.
start_floor "$data" "$port" "$work/body.json"
floor_run=$(drive)
echo "https-floor n=$n body_bytes=$(stat -c %s "$work/body.json") $floor_run"
stop "$floor"; floor=""

# 4. Lookups without proofs, on the same database.
serve without-proofs Discovery__Transparency=false
plain=$(drive)
echo "lookup without-proofs n=$n $plain"
stop "$server"; server=""

echo "ratios n=$n with-proofs/floor=$(ratio "$(field rps "$proofs")" "$(field rps "$floor_run")") without-proofs/floor=$(ratio "$(field rps "$plain")" "$(field rps "$floor_run")") p50_with-proofs/floor=$(ratio "$(field p50_ms "$proofs")" "$(field p50_ms "$floor_run")") server_cpu_with-proofs/floor=$(ratio "$(field server_cpu_us "$proofs")" "$(field server_cpu_us "$floor_run")")"
