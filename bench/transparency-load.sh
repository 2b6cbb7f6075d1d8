#!/usr/bin/env bash
# Transparency on the lookup path, measured side by side on one seeded SQLite database:
#   1. end-to-end sealing throughput: the DP seals the seeded CSIs (VRF per new label, prefix
#      tree, signed tree head, SQL) in epochs of EpochMaxBatch; labels/s from its timestamped log;
#   2. single-CSI lookups/s with proofs (the default) against the same lookups with
#      Discovery:Transparency=false (the live table, no proofs), over HTTPS keep-alive.
#   bench/transparency-load.sh [N]   (default 10000 CSIs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
port=9660

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-tx-load-XXXX)
data="$work/dp"
$load seed --data "$data" --from 0 --to "$n" >/dev/null

serve() { # label, then environment assignments
  local log="$work/$1.log"; shift
  env Discovery__RequireTokens=false Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " "$@" \
    $cli serve --data "$data" --urls "https://127.0.0.1:$port" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do curl -sf --cacert "$data/tls.crt" "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.5; done
}

# 1. Sealing: wait until no CSI is pending (the last seeded CSI is found), then read the log.
serve with-proofs
last=$(printf '+336%08d' $((n - 1)))
for _ in $(seq 1 3600); do
  curl -sf --cacert "$data/tls.crt" "https://127.0.0.1:$port/v1/lookup/$(printf %s "$last" | sed 's/+/%2B/')" | grep -q '"result":"found"' && break
  sleep 1
done
# Each seal logs "HH:mm:ss.fff info: …TransparencyLog[400]" then "Sealed epoch E with K label change(s)".
sealing=$(awk '/TransparencyLog\[400\]/ { split($1, h, ":"); t = h[1] * 3600 + h[2] * 60 + h[3]; getline
    for (i = 1; i <= NF; i++) if ($i == "with") k = $(i + 1)
    if (!seen) { seen = 1; first = t } else { labels += k; last = t; epochs++ } }
  END { if (last > first) printf "epochs_after_first=%d labels=%d seconds=%.1f labels_per_s=%.0f", epochs, labels, last - first, labels / (last - first)
        else print "one epoch only: use a larger N" }' "$work/with-proofs.log")
echo "sealing n=$n $sealing"

# 2. Lookups with proofs, then without, on the same database.
result=$($load drive --dp "https://127.0.0.1:$port/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")
echo "lookup with-proofs n=$n $result"
kill "$server"; wait "$server" 2>/dev/null || true

serve without-proofs Discovery__Transparency=false
result=$($load drive --dp "https://127.0.0.1:$port/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency")
echo "lookup without-proofs n=$n $result"
kill "$server"; wait "$server" 2>/dev/null || true
rm -rf "$work"
