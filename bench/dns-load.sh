#!/usr/bin/env bash
# DNS against DP, side by side in one run on the same 10^6 identifiers (+336 00000000 … +336 00999999):
#   1. Knot serves a TXT MIMI record at the ENUM name of each; dnsperf queries random ones.
#   2. The SDK's DnsDiscoveryResolver resolves random ones against the same Knot (TXT + private type),
#      and the two DNS libraries served here (ARSoft.Tools.Net, DnsClient.NET) query TXT side by side.
#   3. A DP on SQLite holds a signed mapping for each; once all are sealed (transparency on, the
#      default) the load driver looks random ones up over HTTPS.
#   Prints each run and the ratio DP lookups / Knot queries.
# Needs: knot, dnsperf (Debian packages).  bench/dns-load.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
count=${1:-1000000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
work=$(mktemp -d /tmp/mimi-dns-load-XXXX)
dns_port=15400
dp_port=9660

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
knot=""; server=""
trap 'kill $knot $server 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" "$count" <<'PY'
import random, sys
work, count = sys.argv[1], int(sys.argv[2])
def enum(i):
    return ".".join(reversed("336%08d" % i))
with open(f"{work}/e164.arpa.zone", "w") as z:
    z.write("$ORIGIN e164.arpa.\n$TTL 300\n@ SOA ns.e164.arpa. hostmaster.e164.arpa. 1 3600 600 86400 300\n@ NS ns.e164.arpa.\nns A 127.0.0.1\n")
    for i in range(count):
        z.write(f'_mimi.{enum(i)} TXT "v=MIMI1; p=10; a=@user; e=wire.example; s=wire"\n')
rng = random.Random(1)
with open(f"{work}/queries.txt", "w") as q:
    for _ in range(200000):
        q.write(f"_mimi.{enum(rng.randrange(count))}.e164.arpa TXT\n")
PY
mkdir -p "$work/run" "$work/db"
cat > "$work/knot.conf" <<CONF
server:
    rundir: "$work/run"
    listen: 127.0.0.1@$dns_port
database:
    storage: "$work/db"
zone:
  - domain: e164.arpa
    storage: "$work"
    file: e164.arpa.zone
    zonefile-load: whole
    journal-content: none
CONF
knotd -c "$work/knot.conf" >"$work/knotd.log" 2>&1 &
knot=$!
for _ in $(seq 1 600); do kdig @127.0.0.1 -p $dns_port +short SOA e164.arpa 2>/dev/null | grep -q ns && break; sleep 0.5; done

dnsperf_out=$(dnsperf -s 127.0.0.1 -p $dns_port -d "$work/queries.txt" -l "$seconds" -c "$concurrency" -q 200 2>&1)
dns_qps=$(echo "$dnsperf_out" | awk '/Queries per second/ {print $4}')
dns_lat=$(echo "$dnsperf_out" | awk '/Average Latency/ {print $4}')
echo "knot+dnsperf n=$count qps=$dns_qps avg_latency_s=$dns_lat lost=$(echo "$dnsperf_out" | awk '/Queries lost/ {print $3}')"
echo "sdk-resolver n=$count $($load dns-drive --server 127.0.0.1:$dns_port --count "$count" --seconds "$seconds" --concurrency "$concurrency")"
$load dns-libraries --server 127.0.0.1:$dns_port --count "$count" --seconds 10 --concurrency "$concurrency" | sed "s/^/libraries n=$count /"
kill $knot; wait $knot 2>/dev/null || true; knot=""

$load seed --data "$work/dp" --from 0 --to "$count" >/dev/null
Discovery__RequireTokens=false $cli serve --data "$work/dp" --urls "https://127.0.0.1:$dp_port" >"$work/serve.log" 2>&1 &
server=$!
wait_healthy "https://127.0.0.1:$dp_port" "$work/dp/tls.crt"
# Lookups are measured over the sealed set: wait until the last seeded CSI is found.
wait_sealed "https://127.0.0.1:$dp_port" "$work/dp/tls.crt" $((count - 1))
dp=$($load drive --dp "https://127.0.0.1:$dp_port/" --ca "$work/dp/tls.crt" --count "$count" --seconds "$seconds" --concurrency "$concurrency")
echo "dp-sqlite n=$count $dp"
kill $server; wait $server 2>/dev/null || true; server=""
echo "ratios n=$count dp/knot=$(ratio "$(field rps "$dp")" "$dns_qps")"
