#!/usr/bin/env bash
# cross-check.sh FILTERC_A FILTERC_B
#
# Runs two filterc builds (e.g. the normal one and the NativeAOT one) on the same inputs and checks that
# stdout, stderr and exit status are identical: every vector of spec/conformance/*.tsv (run, with each
# engine, on its records file, and compile -d), every filter of spec/conformance/errors.txt (compile:
# the parser's error paths), and every oracle case under tests/Filter.Tests/Data/oracle*/ (run and
# run --count on its auditd log). The test suite runs in-process on the JIT build only; this is the
# check that a differently compiled binary (NativeAOT: trimmed, no DynamicMethod, interpreter only,
# Pidgin's IL3054 suppressed) behaves the same. The NativeAOT build's note that --engine jit runs the
# interpreter is the one line ignored. Takes about 2 minutes. Exit 1 on any difference.
set -uo pipefail

if [[ $# -ne 2 || $1 == -h || $1 == --help ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
a=$1 b=$2
for f in "$a" "$b"; do [[ -x $f ]] || { echo "cross-check.sh: $f is not executable" >&2; exit 2; }; done
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0 bad=0

same() { # ARGS...: run both, compare
    local oa ob ra rb
    oa=$("$a" "$@" 2>&1 | grep -v '^note: --engine jit is not available'; exit "${PIPESTATUS[0]}"); ra=$?
    ob=$("$b" "$@" 2>&1 | grep -v '^note: --engine jit is not available'; exit "${PIPESTATUS[0]}"); rb=$?
    n=$((n + 1))
    if [[ $oa != "$ob" || $ra != "$rb" ]]; then
        bad=$((bad + 1))
        echo "DIFFERENT: filterc $*"
        echo "  A (exit $ra): ${oa:0:300}"
        echo "  B (exit $rb): ${ob:0:300}"
    fi
}

for f in "$repo"/spec/conformance/*.tsv; do
    records=$repo/spec/conformance/$(grep -m1 '^# records:' "$f" | sed 's/^# records: *//')
    while IFS=$'\t' read -r filter _; do
        [[ -z $filter || $filter == \#* ]] && continue
        same run --engine jit --filter "$filter" "$records"
        same run --engine interp --filter "$filter" "$records"
        same compile -d "$filter"
    done < "$f"
done
while IFS=$'\t' read -r filter _; do
    [[ -z $filter || $filter == \#* ]] && continue
    same compile "${filter//\\n/$'\n'}"
done < "$repo/spec/conformance/errors.txt"
for cases in "$repo"/tests/Filter.Tests/Data/oracle*/cases.tsv; do
    while IFS=$'\t' read -r id _ filter _; do
        [[ $id == id || -z $id ]] && continue
        log=$(ls "$(dirname "$cases")/logs/case_$id.log"* 2> /dev/null | head -1)
        [[ -n $log ]] || continue
        same run --format auditd --filter "$filter" "$log"
        same run --format auditd --count --filter "$filter" "$log"
    done < "$cases"
done
echo "$n comparisons, $bad different"
((bad == 0))
