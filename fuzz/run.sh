#!/usr/bin/env bash
# The fuzz campaign: every target of fuzz/Mimi.Discovery.Fuzz under AFL++ (SharpFuzz instrumentation
# of the core library), EXECS executions each, starting from fuzz/corpus/<target>. Prints one line
# per target (executions, executions/s, corpus entries, crashes, hangs, seconds), adds the entries
# that reached new coverage to fuzz/corpus/<target>/ and puts any crash or hang in fuzz/findings/.
#   fuzz/run.sh [EXECS] [TARGET ...]     (default 1000000, every target)
# Needs afl++ (Debian package) and the SharpFuzz.CommandLine tool (dotnet tool install -g SharpFuzz.CommandLine).
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${1:-1000000}
shift || true
bin=$(mktemp -d /tmp/mimi-fuzz-bin-XXXX)
out=$(mktemp -d /tmp/mimi-fuzz-out-XXXX)
trap 'rm -rf "$bin"' EXIT
dotnet publish -c Release -o "$bin" fuzz/Mimi.Discovery.Fuzz >/dev/null
"${SHARPFUZZ:-$HOME/.dotnet/tools/sharpfuzz}" "$bin/Mimi.Discovery.dll" >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz/corpus)
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
status=0
for target in "${targets[@]}"; do
  afl-fuzz -i "fuzz/corpus/$target" -o "$out/$target" -E "$execs" -t 10000 -m none -- \
    dotnet "$bin/Mimi.Discovery.Fuzz.dll" run "$target" >"$out/$target.log" 2>&1 || { echo "$target: afl-fuzz failed (see $out/$target.log)"; status=1; continue; }
  stats="$out/$target/default/fuzzer_stats"
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  crashes=$(get saved_crashes); hangs=$(get saved_hangs)
  echo "$target: execs=$(get execs_done) execs_per_sec=$(get execs_per_sec) corpus=$(get corpus_count) crashes=$crashes hangs=$hangs run_time_s=$(get run_time)"
  # New coverage joins the corpus under a content name (so reruns do not duplicate it); crashes and
  # hangs go to fuzz/findings/ for a look before they become regression inputs.
  for entry in "$out/$target/default/queue"/id:*; do
    case "$entry" in *orig:*) continue ;; esac
    cp "$entry" "fuzz/corpus/$target/q-$(sha256sum "$entry" | cut -c1-16)"
  done
  for kind in crashes hangs; do
    for entry in "$out/$target/default/$kind"/id:*; do
      [ -e "$entry" ] || continue
      mkdir -p "fuzz/findings/$target"
      cp "$entry" "fuzz/findings/$target/$kind-$(sha256sum "$entry" | cut -c1-16)"
    done
  done
  [ "$crashes" = "0" ] && [ "$hangs" = "0" ] || status=1
done
echo "AFL++ output: $out"
exit $status
