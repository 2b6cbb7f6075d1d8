#!/usr/bin/env bash
# The crash campaign (docs/reliability.md): several DP processes on one database under mixed write
# load (publishes, removals, proof starts, token issuance); CYCLES times, SIGKILL one DP — on
# PostgreSQL the one holding the seal lock when one does — restart it, check it comes up (it rebuilds
# its tree and refuses to serve if a root or signature does not match) and audit the log
# incrementally. Then stop the load, let the DPs drain, and verify every acknowledged write.
#   bench/crash.sh sqlite|postgres [CYCLES]     (PostgreSQL: MIMI_TEST_POSTGRES, as .ci/run sets it; PORT: first port, 9680;
#   CLI_DLL runs the DPs of another build)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}
cycles=${2:-20}
port=${PORT:-9680}
quota=40
case "$mode" in
  sqlite) processes=${PROCESSES:-2} ;;
  postgres) processes=${PROCESSES:-3} ;;
  *) echo "usage: bench/crash.sh sqlite|postgres [CYCLES]" >&2; exit 2 ;;
esac

for project in src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load; do dotnet build -c Release "$project" >/dev/null; done
cli="dotnet ${CLI_DLL:-src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll}"
load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
work=$(mktemp -d /tmp/mimi-crash-XXXX)
data="$work/dp"
mkdir -p "$data"

database=""
if [ "$mode" = postgres ]; then
  admin=${MIMI_TEST_POSTGRES:?set MIMI_TEST_POSTGRES to a PostgreSQL connection string of a role that may create databases}
  name="mimi_crash_$$"
  field() { sed -n "s/.*$1=\([^;]*\).*/\1/p" <<<"$admin"; }
  psql_on() { PGPASSWORD=$(field Password) psql -h "$(field Host)" -p "$(field Port)" -U "$(field Username)" -d "$1" -qtAc "$2"; }
  psql_admin() { psql_on postgres "$1"; }
  psql_admin "CREATE DATABASE $name" >/dev/null
  database=$(sed "s/Database=[^;]*/Database=$name/" <<<"$admin")
fi

pids=()
# Each process names itself to PostgreSQL (application_name), so the seal lock's holder can be found.
db_args=()
set_db_args() { db_args=(); [ -n "$database" ] && db_args=(--database "$database;Application Name=dp$1"); return 0; }
start_dp() {
  local i=$1
  set_db_args "$i"
  # Codes to the outbox (--dev), but epochs every second as in production, not at every change.
  Discovery__EpochInterval=00:00:01 Discovery__MaxSendsPerClientAndCsi=5 Discovery__MaxOutstandingPerCsi=6 Discovery__MaxSendsPerClient=20 \
    $cli serve --dev --data "$data" "${db_args[@]}" --urls "https://127.0.0.1:$((port + i))" >>"$work/dp$i.log" 2>&1 &
  pids[$i]=$!
}
healthy() { curl -sf --max-time 2 --cacert "$data/tls.crt" "https://127.0.0.1:$((port + $1))/health" >/dev/null 2>&1; }
wait_healthy() {
  for _ in $(seq 1 300); do healthy "$1" && return 0; kill -0 "${pids[$1]}" 2>/dev/null || break; sleep 0.2; done
  echo "DP $1 did not come back (see $work/dp$1.log)" >&2; tail -5 "$work/dp$1.log" >&2; return 1
}
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$database" ] && psql_admin "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq 1 "$processes"); do start_dp "$i"; wait_healthy "$i"; done
set_db_args 0
key=$($cli accounts add --data "$data" "${db_args[@]}" --name crash --quota "$quota" --window 1h 2>/dev/null)
urls=$(for i in $(seq 1 "$processes"); do printf 'https://127.0.0.1:%d/,' $((port + i)); done)

$load writes --dp "${urls%,}" --ca "$data/tls.crt" --data "$data" --journal "$work/journal.jsonl" --stop "$work/stop" \
  --proof-csis +33611111111,+33622222222,+33633333333 --token-account "$key" >"$work/writer.log" 2>&1 &
writer=$!

# The seal lock is a session advisory lock; pg_locks shows its key split into classid and objid.
seal_holder() {
  psql_on "$name" "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1296649545 AND l.objid = 1162891075" | sed -n 's/^dp\([0-9]*\)$/\1/p' | head -1
}

audits=0
sealer_kills=0
for cycle in $(seq 1 "$cycles"); do
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.1f", 2 + 3 * r / 32768 }')"
  victim=""
  if [ "$mode" = postgres ]; then
    for _ in $(seq 1 60); do victim=$(seal_holder); [ -n "$victim" ] && break; sleep 0.05; done
    [ -n "$victim" ] && sealer_kills=$((sealer_kills + 1))
  fi
  [ -n "$victim" ] || victim=$((RANDOM % processes + 1))
  kill -9 "${pids[$victim]}"
  wait "${pids[$victim]}" 2>/dev/null || true
  start_dp "$victim"
  wait_healthy "$victim"
  $cli audit --dp "https://127.0.0.1:$((port + victim))/" --ca "$data/tls.crt" --state "$work/audit.json" >>"$work/audit.log" 2>&1 \
    || { echo "cycle $cycle: the audit failed (see $work/audit.log)" >&2; tail -3 "$work/audit.log" >&2; exit 1; }
  audits=$((audits + 1))
  echo "cycle $cycle: killed dp$victim, it came back, audit clean"
done

touch "$work/stop"
wait "$writer"
echo "load: $(tail -1 "$work/writer.log")"
echo "mode=$mode processes=$processes cycles=$cycles sealer_kills=$sealer_kills incremental_audits=$audits"
$load verify --dp "https://127.0.0.1:$((port + 1))/" --ca "$data/tls.crt" --journal "$work/journal.jsonl" \
  --max-sends-per-csi 5 --max-sends-per-client 20 --quota "$quota" --quota-window-seconds 3600
