# Shared steps of the load scripts (sourced): release builds, waiting for servers and for sealing,
# and the HTTPS floor. Every function fails the script (set -e) when what it waits for never comes.

# build_release PROJECT...: Release builds, quietly; sets $cli and $load.
build_release() {
  local project
  for project in "$@"; do dotnet build -c Release "$project" >/dev/null; done
  cli="dotnet src/Mimi.Discovery.Cli/bin/Release/net10.0/mimi-discovery.dll"
  load="dotnet bench/Mimi.Discovery.Load/bin/Release/net10.0/Mimi.Discovery.Load.dll"
}

# wait_healthy URL CA: until GET URL/health answers (5 minutes at most).
wait_healthy() {
  local _
  for _ in $(seq 1 600); do curl -sf --cacert "$2" "$1/health" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "$1 never became healthy" >&2; return 1
}

# csi_of I: the I-th seeded CSI (Mimi.Discovery.Load seed numbers them +336 00000000 …).
csi_of() { printf '+336%08d' "$1"; }

# wait_sealed URL CA I: until the I-th seeded CSI is found, i.e. the seed is sealed up to it (2 hours at most).
wait_sealed() {
  local path _
  path=$(csi_of "$3" | sed 's/+/%2B/')
  for _ in $(seq 1 7200); do
    curl -sf --cacert "$2" "$1/v1/lookup/$path" | grep -q '"result":"found"' && return 0
    sleep 1
  done
  echo "CSI $3 never sealed at $1" >&2; return 1
}

# floor_body URL CA I FILE: the body the DP answers for a single-CSI lookup of the I-th CSI, into FILE.
floor_body() {
  curl -sf --cacert "$2" -H 'content-type: application/json' -d "{\"csis\":[\"$(csi_of "$3")\"]}" "$1/v1/lookup" >"$4"
}

# start_floor DATA PORT FILE: the HTTPS floor on PORT with DATA's TLS certificate answering FILE; sets $floor.
start_floor() {
  $load floor --data "$1" --urls "https://127.0.0.1:$2" --body "$3" >/dev/null 2>&1 &
  floor=$!
  wait_healthy "https://127.0.0.1:$2" "$1/tls.crt"
}

# field NAME LINE: the value of NAME=… in a driver's result line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ratio A B: A/B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# PostgreSQL for the scripts that run on it, from MIMI_TEST_POSTGRES (as .ci/run sets it: a role that may
# create databases). pg_sql SQL [PORT]: runs SQL in the postgres database (of the cluster on PORT when
# given); pg_create NAME: creates database NAME and prints its connection string; pg_drop NAME.
pg_setting() { sed -n "s/.*$1=\([^;]*\).*/\1/p" <<<"${MIMI_TEST_POSTGRES:?set MIMI_TEST_POSTGRES to a PostgreSQL connection string of a role that may create databases}"; }
pg_sql() { PGPASSWORD=$(pg_setting Password) psql -h "$(pg_setting Host)" -p "${2:-$(pg_setting Port)}" -U "$(pg_setting Username)" -d postgres -qtAc "$1"; }
pg_create() { pg_sql "CREATE DATABASE $1" >/dev/null && sed "s/Database=[^;]*/Database=$1/" <<<"$MIMI_TEST_POSTGRES"; }
pg_drop() { pg_sql "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }
