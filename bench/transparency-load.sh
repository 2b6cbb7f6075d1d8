#!/usr/bin/env bash
# Transparency on the lookup path, measured side by side on one seeded SQLite database:
#   1. end-to-end sealing throughput: the DP seals the seeded CSIs (VRF per new label, prefix
#      tree, signed tree head, SQL) in epochs of EpochMaxBatch; labels/s from its timestamped log;
#   2. after sealing, single-CSI lookups/s with proofs (the default), over HTTPS keep-alive, against
#      the HTTPS floor: the same Kestrel/TLS set-up answering the body of one such lookup, precomputed.
#      Both stay up and are driven in turn, ROUNDS times (default 3), so each ratio compares runs
#      seconds apart on this shared machine; the script prints each round's ratio and their median;
#   3. the same lookups with Discovery:Transparency=false (the live table, no proofs).
#   Prints each run, with the serving process's CPU time per measured request (server_cpu_us).
#   With COMPARE_DLL (another build's mimi-discovery.dll, e.g. main's in a worktree), lookups with
#   proofs run 2×PAIRS (default 2) more times on the same sealed database, alternating this build and
#   that one, and it prints the ratio this/compare of their lookups/s per pair: a change measured
#   against its base in one run.
#   Every drive first runs WARMUP seconds of unrecorded lookups (default 15: connections, JIT tiering,
#   the DP's proof and answer caches), the floor's as well, so the figures are steady-state ones.
#   bench/transparency-load.sh [N]   (default 10000 CSIs)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
warmup=${WARMUP:-15}
concurrency=${CONCURRENCY:-16}
port=9660
url="https://127.0.0.1:$port"
floor_url="https://127.0.0.1:$((port + 1))"

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
drive() { # URL, PID of the process serving it
  $load drive --dp "$1/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" --server-pid "$2"
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

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

# 2. Lookups with proofs against the floor, in turn, both processes up.
floor_body "$url" "$data/tls.crt" $((n / 2)) "$work/body.json"
start_floor "$data" $((port + 1)) "$work/body.json"
echo "https-floor body_bytes=$(stat -c %s "$work/body.json")"
rps_ratios=""; cpu_ratios=""
for round in $(seq 1 "${ROUNDS:-3}"); do
  proofs=$(drive "$url" "$server"); echo "lookup with-proofs n=$n round=$round $proofs"
  floor_run=$(drive "$floor_url" "$floor"); echo "https-floor n=$n round=$round $floor_run"
  rps=$(ratio "$(field rps "$proofs")" "$(field rps "$floor_run")")
  cpu=$(ratio "$(field server_cpu_us "$floor_run")" "$(field server_cpu_us "$proofs")")
  echo "ratio round=$round with-proofs/floor=$rps floor_cpu/with-proofs_cpu=$cpu"
  rps_ratios="$rps_ratios $rps"; cpu_ratios="$cpu_ratios $cpu"
done
echo "dp_rss_mib=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/$server/status) (after the rounds)"
stop "$floor"; floor=""
stop "$server"; server=""
echo "ratios n=$n median with-proofs/floor=$(echo $rps_ratios | median) floor_cpu/with-proofs_cpu=$(echo $cpu_ratios | median)"

if [ -n "${COMPARE_DLL:-}" ]; then
  this=$cli
  for pair in $(seq 1 "${PAIRS:-2}"); do
    cli="dotnet $COMPARE_DLL"; serve compare-$pair; base=$(drive "$url" "$server"); stop "$server"; server=""
    cli=$this; serve this-$pair; mine=$(drive "$url" "$server"); stop "$server"; server=""
    echo "lookup with-proofs compare pair=$pair this: $mine"
    echo "lookup with-proofs compare pair=$pair compare: $base"
    echo "ratio pair=$pair this/compare=$(ratio "$(field rps "$mine")" "$(field rps "$base")") p50_this/compare=$(ratio "$(field p50_ms "$mine")" "$(field p50_ms "$base")") server_cpu_this/compare=$(ratio "$(field server_cpu_us "$mine")" "$(field server_cpu_us "$base")")"
  done
fi

# 3. Lookups without proofs, on the same database.
serve without-proofs Discovery__Transparency=false
plain=$(drive "$url" "$server")
echo "lookup without-proofs n=$n $plain"
stop "$server"; server=""
