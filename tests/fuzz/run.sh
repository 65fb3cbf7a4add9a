#!/usr/bin/env bash
# Coverage-guided fuzzing of one target for a fixed time (tests/fuzz/README.md).
#
#   tests/fuzz/run.sh TARGET SECONDS [extra afl-fuzz options...]
#
# TARGET is verifier or parser. Builds tests/fuzz/Filter.Fuzz in Release into tests/fuzz/build/TARGET,
# instruments the copies of Filter.Compiler, Filter.Verifier and Filter.VM there with sharpfuzz (never
# the ones under src/), runs afl-fuzz for SECONDS on one core, then prints the campaign's numbers and
# replays every crash and hang in process so that each one's exception and stack trace is printed.
#
# Needs afl-fuzz (Debian: apt-get install -y afl++) and sharpfuzz
# (dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0).
#
# Environment:
#   RESUME=1          continue the last campaign's queue (tests/fuzz/findings/TARGET) instead of a new one
#   INSTRUMENT_PIDGIN=1  also instrument Pidgin.dll (the parser combinators: more paths, slower)
#   AFL_TIMEOUT_MS    per-input time limit (default 2000); over it, the input is saved as a hang
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
target="${1:-}"
seconds="${2:-}"
case "$target" in verifier|parser) ;; *) echo "usage: $0 verifier|parser SECONDS [afl-fuzz options...]" >&2; exit 2 ;; esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 $target SECONDS [afl-fuzz options...]" >&2; exit 2; }
shift 2

export PATH="$PATH:$HOME/.dotnet/tools"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 1; }
command -v sharpfuzz >/dev/null || { echo "sharpfuzz not found: dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0" >&2; exit 1; }

build="$here/build/$target"
findings="$here/findings/$target"
corpus="$here/corpus/$target"

echo "== build and instrument ($build)"
rm -rf "$build"
dotnet publish "$here/Filter.Fuzz/Filter.Fuzz.csproj" -c Release -o "$build" --nologo -v quiet
assemblies=(Filter.Compiler.dll Filter.Verifier.dll Filter.VM.dll)
[[ "${INSTRUMENT_PIDGIN:-0}" == 1 ]] && assemblies+=(Pidgin.dll)
for dll in "${assemblies[@]}"; do
  echo "instrumenting $dll"
  sharpfuzz "$build/$dll"
done

input=(-i "$corpus")
if [[ "${RESUME:-0}" == 1 && -d "$findings/default/queue" ]]; then
  input=(-i -)
else
  rm -rf "$findings"
fi
mkdir -p "$findings"
dict=()
[[ "$target" == parser ]] && dict=(-x "$here/dict/filter.dict")

echo "== afl-fuzz $target for ${seconds}s (findings in $findings)"
# AFL_SKIP_BIN_CHECK: the program afl-fuzz starts is dotnet, not an instrumented binary.
# AFL_NO_AFFINITY: the machine is shared; let the scheduler place the one fuzzing process.
# Fuzzer.OutOfProcess restarts the .NET child after a crash or timeout, so neither ends the campaign.
status=0
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 \
AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
DOTNET_gcServer=0 \
  nice -n 10 afl-fuzz "${input[@]}" -o "$findings" -t "${AFL_TIMEOUT_MS:-2000}" -m none -V "$seconds" "${dict[@]}" "$@" \
  -- dotnet "$build/Filter.Fuzz.dll" "$target" > "$findings/afl.log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  echo "afl-fuzz exited with $status; the end of $findings/afl.log:" >&2
  tail -n 40 "$findings/afl.log" >&2
fi

stats="$findings/default/fuzzer_stats"
[[ -f "$stats" ]] || { echo "no fuzzer_stats: afl-fuzz did not start" >&2; exit 1; }
echo "== results"
grep -E '^(start_time|last_update|run_time|execs_done|execs_per_sec|corpus_count|corpus_found|paths_total|paths_found|bitmap_cvg|stability|saved_crashes|unique_crashes|saved_hangs|unique_hangs) ' "$stats"

found=()
for kind in crashes hangs; do
  for f in "$findings/default/$kind"/id:*; do [[ -e "$f" ]] && found+=("$f"); done
done
if [[ ${#found[@]} -eq 0 ]]; then
  echo "no crashes, no hangs"
  exit "$status"
fi
echo "== replaying ${#found[@]} crash/hang inputs in process"
# A hang replays as ok (it only ran too long under instrumentation) or fails like a crash.
timeout 600 dotnet "$build/Filter.Fuzz.dll" "$target" --repro "${found[@]}" || true
exit "$status"
