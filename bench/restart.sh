#!/usr/bin/env bash
# Restart time side by side: one SQLite database of N sealed CSIs, started alternately by another
# build (COMPARE_DLL) and this one, ROUNDS times each. Per start: seconds from launch until a sealed
# CSI answers `found` (the prefix tree rebuilt from the database) and the resident memory then;
# then the median of each build and the ratio this/compare.
#   COMPARE_DLL=…/mimi-discovery.dll bench/restart.sh [N]   (N default 1000000; ROUNDS default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-1000000}
rounds=${ROUNDS:-2}
compare=${COMPARE_DLL:?set COMPARE_DLL to the mimi-discovery.dll of the build to compare with}
port=9685
url="https://127.0.0.1:$port"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
work=$(mktemp -d /tmp/mimi-restart-XXXX)
data="$work/dp"
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
$load seed --data "$data" --from 0 --to "$n" >/dev/null

serve() { env Discovery__RequireTokens=false $1 serve --data "$data" --urls "$url" >"$work/serve.log" 2>&1 & server=$!; }
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

# Sealed once, by this build.
serve "$cli"
wait_healthy "$url" "$data/tls.crt"
wait_sealed "$url" "$data/tls.crt" $((n - 1))
stop

probe=$(csi_of $((n / 2)) | sed 's/+/%2B/')
start_once() { # label, command
  local start
  start=$(date +%s.%N)
  serve "$2"
  until curl -sf --cacert "$data/tls.crt" "$url/v1/lookup/$probe" 2>/dev/null | grep -q '"result":"found"'; do
    kill -0 "$server" 2>/dev/null || { echo "the $1 build's DP exited: $(tail -n 5 "$work/serve.log")" >&2; return 1; }
    sleep 0.2
  done
  echo "restart build=$1 seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') rss_mib=$(($(awk '$1 == "VmRSS:" { print $2 }' "/proc/$server/status") / 1024))"
  stop
}
# In this shell, not a pipeline's, so the exit trap knows the DP running when a step fails.
for _ in $(seq 1 "$rounds"); do
  start_once compare "dotnet $compare" >>"$work/runs"
  start_once this "$cli" >>"$work/runs"
done
cat "$work/runs"

median() { grep "build=$1 " "$work/runs" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "medians n=$n this_s=$(median this seconds) compare_s=$(median compare seconds) this/compare=$(ratio "$(median this seconds)" "$(median compare seconds)") this_rss_mib=$(median this rss_mib) compare_rss_mib=$(median compare rss_mib)"
