#!/usr/bin/env bash
# The soak campaign (docs/reliability.md): MINUTES of mixed load on one DP with transparency on —
# paced lookups direct and through the relay with tokens, and the crash campaign's writer
# (publishes and removals, paced to about 20 a second, proof-of-control starts, token issuance)
# with an epoch sealed every second.
# Samples the DP's resident memory every 10 s. Passes when no request failed, every acknowledged
# write is honoured afterwards, and resident memory after the first sixth of the run (warm-up)
# stays within ±10 % of its median.
#   bench/soak.sh [MINUTES] [DIRECT_RATE] [PRIVATE_RATE]   (default 30 minutes, 100 and 20 lookups/s)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
direct_rate=${2:-100}
private_rate=${3:-20}
seconds=$((minutes * 60))
port=${PORT:-9690}
directory=10000

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-soak-XXXX)
data="$work/dp"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
dp="https://127.0.0.1:$port/"
relay="https://127.0.0.1:$((port + 1))/"

$load seed --data "$data" --from 0 --to "$directory" >/dev/null
writer_key=$($cli accounts add --data "$data" --name soak-writer --quota 40 --window 1h 2>/dev/null)
lookup_key=$($cli accounts add --data "$data" --name soak-lookups --quota 100000000 --window 1h 2>/dev/null)
Discovery__EpochInterval=00:00:01 Discovery__MaxSendsPerClientAndCsi=5 Discovery__MaxOutstandingPerCsi=6 Discovery__MaxSendsPerClient=20 \
  $cli serve --dev --data "$data" --urls "https://127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 600); do curl -sf --cacert "$data/tls.crt" "${dp}health" >/dev/null 2>&1 && break; sleep 0.5; done
$cli relay --gateway "${dp}.well-known/ohttp-gateway" --gateway-ca "$data/tls.crt" --urls "https://127.0.0.1:$((port + 1))" \
  --data "$work/relay" --rate 1000000 >"$work/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do [ -f "$work/relay/tls.crt" ] && curl -sf --cacert "$work/relay/tls.crt" "${relay}health" >/dev/null 2>&1 && break; sleep 0.5; done
[ -f "$work/relay/tls.crt" ] || { echo "the relay did not start:" >&2; cat "$work/relay.log" >&2; exit 1; }

( while kill -0 "$server" 2>/dev/null; do
    printf '%s\t%s\n' "$(date +%s)" "$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")"
    sleep 10
  done ) >"$work/rss.tsv" 2>/dev/null &
pids+=($!)

$load writes --dp "$dp" --ca "$data/tls.crt" --data "$data" --journal "$work/journal.jsonl" --stop "$work/stop" \
  --proof-csis +33611111111,+33622222222,+33633333333 --token-account "$writer_key" --pause-ms 100 >"$work/writer.log" 2>&1 &
writer=$!
$load drive --dp "$dp" --ca "$data/tls.crt" --count "$directory" --seconds "$seconds" --concurrency 4 --rate "$direct_rate" >"$work/direct.log" 2>&1 &
direct=$!
$load drive --dp "$dp" --ca "$data/tls.crt" --count "$directory" --seconds "$seconds" --concurrency 4 --rate "$private_rate" \
  --relay "$relay" --relay-ca "$work/relay/tls.crt" --token-account "$lookup_key" --tokens $(( (seconds + 10) * private_rate )) >"$work/private.log" 2>&1 &
private=$!

status=0
wait "$direct" || status=1
wait "$private" || status=1
touch "$work/stop"
wait "$writer" || status=1
$load verify --dp "$dp" --ca "$data/tls.crt" --journal "$work/journal.jsonl" \
  --max-sends-per-csi 5 --max-sends-per-client 20 --quota 40 --quota-window-seconds 3600 >"$work/verify.log" 2>&1 || status=1

echo "direct:  $(tail -1 "$work/direct.log")"
echo "private: $(tail -1 "$work/private.log")"
echo "writes:  $(tail -1 "$work/writer.log")"
echo "verify:  $(tail -1 "$work/verify.log")"
grep -q "unacknowledged" "$work/writer.log" && status=1
# Resident memory: the samples after warm-up against their median.
python3 - "$work/rss.tsv" "$seconds" <<'PY' || status=1
import statistics, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
start = rows[0][0]
after = [kib for t, kib in rows if t - start >= int(sys.argv[2]) / 6]
median = statistics.median(after)
low, high = min(after), max(after)
spread = max(median - low, high - median) / median * 100
print(f"rss: samples={len(after)} after warm-up, median={median / 1024:.0f} MiB, min={low / 1024:.0f} MiB, max={high / 1024:.0f} MiB, "
      f"first={after[0] / 1024:.0f} MiB, last={after[-1] / 1024:.0f} MiB, largest deviation from the median {spread:.1f} %")
sys.exit(0 if spread <= 10 else 1)
PY
echo "soak: $([ $status -eq 0 ] && echo passed || echo FAILED) (work folder $work${KEEP:+, kept})"
exit $status
