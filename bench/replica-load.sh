#!/usr/bin/env bash
# Read replicas: single-CSI lookups with proofs served by one DP process on the PostgreSQL primary,
# against two DP processes — that one and one reading a streaming replica (Discovery:ReadReplica) —
# side by side in one run, on the same sealed database.
#   1. seeds N CSIs into a fresh database on the primary; a DP on the primary seals them all, and the
#      replica replays them;
#   2. one DP process on the primary, then one on the replica, each alone: one driver, CONCURRENCY workers;
#   3. both DP processes at once: the same driver process and workers, half of them asking each.
#   Prints each run and the ratios replica/primary and two/one.
#   bench/replica-load.sh [N]   (default 10000 CSIs; PostgreSQL: MIMI_TEST_POSTGRES as .ci/run sets it;
#   run as root: the replica is started by .ci/postgres-replica when it does not run yet)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
seconds=${SECONDS_PER_RUN:-20}
concurrency=${CONCURRENCY:-16}
port=9700

replica_port=$(.ci/postgres-replica)
name="mimi_replica_$$"

build_release src/Mimi.Discovery.Cli bench/Mimi.Discovery.Load
work=$(mktemp -d /tmp/mimi-replica-load-XXXX)
data="$work/dp"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pg_drop "$name" || true
  rm -rf "$work"
}
trap cleanup EXIT
primary_db=$(pg_create "$name")
replica_db=$(sed "s/Port=[^;]*/Port=$replica_port/" <<<"$primary_db")
$load seed --data "$data" --database "$primary_db" --from 0 --to "$n" >/dev/null

serve() { # index, then serve options
  local i=$1; shift
  env Discovery__RequireTokens=false $cli serve --data "$data" --urls "https://127.0.0.1:$((port + i))" "$@" >"$work/dp$i.log" 2>&1 &
  pids+=($!)
  wait_healthy "https://127.0.0.1:$((port + i))" "$data/tls.crt"
}
drive() { $load drive --dp "$1" --ca "$data/tls.crt" --count "$n" --seconds "$seconds" --concurrency "$concurrency"; }

# 1. Seal everything on the primary, then wait until the replica has replayed it.
serve 0 --database "$primary_db"
wait_sealed "https://127.0.0.1:$port" "$data/tls.crt" $((n - 1))
lsn=$(pg_sql "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 600); do
  [ "$(pg_sql "SELECT pg_wal_lsn_diff('$lsn', pg_last_wal_replay_lsn()) <= 0" "$replica_port")" = t ] && break
  sleep 0.5
done
serve 1 --database "$primary_db" --read-replica "$replica_db"
wait_sealed "https://127.0.0.1:$((port + 1))" "$data/tls.crt" $((n - 1))

# 2. One DP process at a time (the other idles meanwhile).
one=$(drive "https://127.0.0.1:$port/")
echo "one-process primary n=$n $one"
alone=$(drive "https://127.0.0.1:$((port + 1))/")
echo "one-process replica n=$n $alone"

# 3. Both DP processes at once, from one driver process.
two=$(drive "https://127.0.0.1:$port/,https://127.0.0.1:$((port + 1))/")
echo "two-processes n=$n $two"
echo "ratio replica/primary=$(ratio "$(field rps "$alone")" "$(field rps "$one")") two/one=$(ratio "$(field rps "$two")" "$(field rps "$one")")"
