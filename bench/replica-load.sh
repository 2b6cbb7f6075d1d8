#!/usr/bin/env bash
# Read replicas: single-CSI lookups with proofs served by one DP process on the PostgreSQL primary,
# against two DP processes — that one and one reading a streaming replica (Discovery:ReadReplica) —
# side by side in one run, on the same sealed database.
#   1. seeds N CSIs into a fresh database on the primary; a DP on the primary seals them all, and the
#      replica replays them;
#   2. one DP process: one driver, CONCURRENCY workers;
#   3. two DP processes: the primary's and the replica's, one driver each with half the workers
#      (the same number of lookups in flight); their lookups/s added.
#   Prints each run and the ratio two/one.
#   bench/replica-load.sh [N]   (default 10000 CSIs; PostgreSQL: MIMI_TEST_POSTGRES as .ci/run sets it;
#   run as root: the replica is started by .ci/postgres-replica when it does not run yet)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
port=9700

admin=${MIMI_TEST_POSTGRES:?set MIMI_TEST_POSTGRES to a PostgreSQL connection string of a role that may create databases}
replica_port=$(.ci/postgres-replica)
setting() { sed -n "s/.*$1=\([^;]*\).*/\1/p" <<<"$admin"; }
psql_at() { PGPASSWORD=$(setting Password) psql -h "$(setting Host)" -p "$1" -U "$(setting Username)" -d postgres -qtAc "$2"; }
name="mimi_replica_$$"
primary_db=$(sed "s/Database=[^;]*/Database=$name/" <<<"$admin")
replica_db=$(sed "s/Port=[^;]*/Port=$replica_port/" <<<"$primary_db")

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
work=$(mktemp -d /tmp/mimi-replica-load-XXXX)
data="$work/dp"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql_at "$(setting Port)" "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
psql_at "$(setting Port)" "CREATE DATABASE $name" >/dev/null
$load seed --data "$data" --database "$primary_db" --from 0 --to "$n" >/dev/null

serve() { # index, then serve options
  local i=$1; shift
  env Discovery__RequireTokens=false $cli serve --data "$data" --urls "https://127.0.0.1:$((port + i))" "$@" >"$work/dp$i.log" 2>&1 &
  pids+=($!)
  wait_healthy "https://127.0.0.1:$((port + i))" "$data/tls.crt"
}
drive() { $load drive --dp "https://127.0.0.1:$((port + $1))/" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$2"; }

# 1. Seal everything on the primary, then wait until the replica has replayed it.
serve 0 --database "$primary_db"
wait_sealed "https://127.0.0.1:$port" "$data/tls.crt" $((n - 1))
lsn=$(psql_at "$(setting Port)" "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 600); do
  [ "$(psql_at "$replica_port" "SELECT pg_wal_lsn_diff('$lsn', pg_last_wal_replay_lsn()) <= 0")" = t ] && break
  sleep 0.5
done
serve 1 --database "$primary_db" --read-replica "$replica_db"
wait_sealed "https://127.0.0.1:$((port + 1))" "$data/tls.crt" $((n - 1))

# 2. One DP process (the replica's process idles meanwhile).
one=$(drive 0 "$concurrency")
echo "one-process n=$n $one"

# 3. Two DP processes, half the workers each, at once.
half=$((concurrency / 2))
drive 0 "$half" >"$work/a.out" & a=$!
drive 1 "$half" >"$work/b.out" & b=$!
wait $a; wait $b
first=$(cat "$work/a.out"); second=$(cat "$work/b.out")
echo "two-processes primary n=$n $first"
echo "two-processes replica n=$n $second"
two=$(awk -v a="$(field rps "$first")" -v b="$(field rps "$second")" 'BEGIN { print a + b }')
echo "ratio two/one=$(ratio "$two" "$(field rps "$one")") (two: $two /s, one: $(field rps "$one") /s)"
