#!/bin/bash
# gen.sh [CASE_ID...]
#
# Makes the LOCAL kernel oracle (tests/Filter.Tests/Data/oracle-local): for
# each case of tools/oracle/cases.tsv (all of them, or the ids given), the
# Linux kernel's own audit rule engine decides which syscalls of one run of
# tools/oracle/workload.sh the case's rule selects.  For case <id>:
#
#   auditctl -a never,exit  -F arch=b64 <N>          -F auid=$AUID -k filterc_oracle_never  # only for "never: N ;; P"
#   auditctl -a always,exit -F arch=b64 <rule or P>  -F auid=$AUID -k case_<id>
#   auditctl -a always,exit -F arch=b64 -S all       -F auid=$AUID -k all
#
# then the workload runs with loginuid $AUID (its shell is pid 20000, set via
# /proc/sys/kernel/ns_last_pid), the rules are removed, an `auditctl -m`
# marker shows that auditd has written everything, and every event of that
# run (SYSCALL keyed case_<id> or all, same auid and session) is copied, all
# its lines byte for byte, to logs/case_<id>.log.  The kernel's `lost`
# counter is read before and after; if it rose (or the rule selected no
# event, or every event), the case is run again.
# Also writes, in the output directory: copies of cases.tsv and naive.tsv,
# workload.sha256 (the workload's checksum), summary.tsv and summary.tsv.json (counts, lost counters,
# session, the exact auditctl commands) and the counts table of README.md.
#
# Safety (this touches the live kernel rule list): only rules with
# `-F auid=$AUID` and the keys above are added; each is deleted with
# `auditctl -d` and the identical rule text on every exit path (EXIT, ERR,
# INT, TERM, HUP traps); `auditctl -l` must be the same after every case as
# before the first; never `-D`, never -e/-f/-b/--backlog_wait_time.
#
# Needs root, auditd running (`auditctl -s` says enabled 1 and a pid),
# python3 (tools/oracle/extract.py), setpriv.
#
# Environment: ORACLE_OUT (default tests/Filter.Tests/Data/oracle-local),
# ORACLE_AUID (default 4243), AUDIT_LOG_DIR (default /var/log/audit).
set -u -o pipefail -o errtrace
set -f          # rule texts are split on spaces below: never glob them
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUT=${ORACLE_OUT:-$repo/tests/Filter.Tests/Data/oracle-local}
AUID=${ORACLE_AUID:-4243}
LOGDIR=${AUDIT_LOG_DIR:-/var/log/audit}
PID0=20000
NEVER_KEY=filterc_oracle_never
MAX_ATTEMPTS=3
PY=/usr/bin/python3
EXTRACT="$here/extract.py"

die() { echo "gen.sh: $*" >&2; exit 1; }

# ---- kernel rules: add / remove exactly what we added -----------------------
ADDED=()        # rule texts (what follows -a), in the order added
remove_rules() {
    local i
    for ((i = ${#ADDED[@]} - 1; i >= 0; i--)); do
        # shellcheck disable=SC2086  # split on purpose; globbing is off
        auditctl -d ${ADDED[i]} > /dev/null || echo "gen.sh: could not delete rule: -d ${ADDED[i]}" >&2
    done
    ADDED=()
}
add_rule() {
    # recorded first, so that a signal right after auditctl returns still removes it
    ADDED+=("$1")
    # shellcheck disable=SC2086
    if ! auditctl -a $1 > /dev/null; then
        unset 'ADDED[${#ADDED[@]}-1]'
        return 1
    fi
}
RUN_TMP=""      # the workload's scratch directory while a case runs
cleanup() {
    remove_rules
    if [ -n "$RUN_TMP" ]; then rm -rf "$RUN_TMP"; RUN_TMP=""; fi
}
trap 'cleanup' EXIT
trap 'rc=$?; echo "gen.sh: command failed (status $rc) near line $LINENO; removing rules" >&2; cleanup; exit 1' ERR
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# lost, log_files, flush_marker
# shellcheck source=/dev/null
. "$here/lib.sh"

# runs the workload as pid $PID0 with loginuid $AUID; status 99: pid was taken
run_workload() {
    local tmp=$1
    echo $((PID0 - 1)) > /proc/sys/kernel/ns_last_pid
    setpriv --clear-groups /bin/bash -c "[ \"\$\$\" = $PID0 ] || exit 99
echo $AUID > /proc/self/loginuid || exit 98
exec /bin/bash $here/workload.sh $tmp" < /dev/null > /dev/null
}

# ---- preconditions -----------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root"
auditctl -s | grep -q '^enabled 1$' || die "auditing is not enabled: start auditd (/usr/sbin/auditd)"
[ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" != 0 ] || die "auditd is not running"
[ -f "$here/cases.tsv" ] || die "no $here/cases.tsv"
rules_before=$(auditctl -l)
if grep -qE "auid=$AUID( |$)|key=(all|case_|$NEVER_KEY)" <<< "$rules_before"; then
    die "rules with auid=$AUID or our keys are already loaded (left over?):
$rules_before"
fi
mkdir -p "$OUT/logs"
cp "$here/cases.tsv" "$OUT/cases.tsv"
cp "$here/naive.tsv" "$OUT/naive.tsv"
(cd "$here" && sha256sum workload.sh) > "$OUT/workload.sha256" # which workload ran, without a second copy of it

check_rules_unchanged() {
    local now
    now=$(auditctl -l)
    [ "$now" = "$rules_before" ] || die "auditctl -l changed!
before:
$rules_before
after:
$now"
}

# ---- one case ----------------------------------------------------------------
# run_case ID RULE FILTER
run_case() {
    local id=$1 rule=$2 filter=$3 never="" main tmp attempt start lb la ses files stats rc split
    local -a rules
    case $rule in
        never:*)
            never=${rule#never:}
            main=${never#*;;}
            never=${never%%;;*}
            ;;
        *) main=$rule ;;
    esac
    rules=()
    [ -n "$never" ] && rules+=("never,exit -F arch=b64 $(echo $never) -F auid=$AUID -k $NEVER_KEY")
    rules+=("always,exit -F arch=b64 $(echo $main) -F auid=$AUID -k case_$id")
    rules+=("always,exit -F arch=b64 -S all -F auid=$AUID -k all")

    for ((attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)); do
        RUN_TMP=$(mktemp -d /tmp/filterc_oracle.XXXXXX)
        tmp=$RUN_TMP
        start=$(date +%s.%N)
        lb=$(lost)
        for r in "${rules[@]}"; do
            add_rule "$r" || { remove_rules; die "$id: auditctl rejected: -a $r"; }
        done
        rc=99
        for ((i = 0; i < 50 && rc == 99; i++)); do
            run_workload "$tmp" && rc=0 || rc=$?
        done
        remove_rules
        check_rules_unchanged
        rm -rf "$tmp"
        RUN_TMP=""
        [ "$rc" = 0 ] || die "$id: workload exited $rc"
        flush_marker "${start%.*}" "filterc_oracle_mark_$$_$RANDOM$RANDOM" || die "$id: auditd did not write the marker within 30 s"
        la=$(lost)
        files=$(log_files "${start%.*}")
        # shellcheck disable=SC2086
        ses=$($PY "$EXTRACT" session --auid "$AUID" --pid "$PID0" --since "${start%.*}" $files) \
            || die "$id: no session found"
        # shellcheck disable=SC2086
        stats=$($PY "$EXTRACT" events --auid "$AUID" --ses "$ses" --key "case_$id" \
            --out "$OUT/logs/case_$id.log" $files) || die "$id: extraction failed"
        echo "$id: attempt $attempt: ses $ses lost $lb->$la $stats" >&2
        # a case proves something only if the kernel selected some events and not all (pid cases can
        # miss when other processes take the pids after 20000 first)
        split=$($PY -c 'import json, sys; s = json.loads(sys.argv[1]); print(int(s["match"] > 0 and s["nomatch"] > 0))' "$stats")
        [ "$la" = "$lb" ] && [ "$split" = 1 ] && break
        echo "$id: lost records, or the kernel selected no event or every event; running again" >&2
    done
    [ "$la" = "$lb" ] || die "$id: records lost in all $MAX_ATTEMPTS attempts"
    [ "$split" = 1 ] || die "$id: the kernel selected no event or every event in all $MAX_ATTEMPTS attempts"
    $PY - "$OUT" "$id" "$filter" "$lb" "$la" "$ses" "$start" "$attempt" "$stats" "${rules[@]}" <<'PYEOF'
import json, os, subprocess, sys
out, cid, expr, lb, la, ses, start, attempts, stats = sys.argv[1:10]
rules = ["auditctl -a " + r for r in sys.argv[10:]]
s = json.loads(stats)
entry = {"id": cid, "events": s["events"], "match": s["match"], "nomatch": s["nomatch"],
         "other_keys": s["other_keys"], "lost_before": int(lb), "lost_after": int(la), "ses": ses,
         "start": float(start), "attempts": int(attempts), "rules": rules, "expr": expr}
subprocess.run([sys.executable, os.environ["EXTRACT"], "summary", "--dir", out, "--entry", json.dumps(entry)], check=True)
if s["other_keys"]:
    sys.stderr.write("%s: WARNING: events with other keys: %r\n" % (cid, s["other_keys"]))
if s["match"] == 0:
    sys.stderr.write("%s: WARNING: the kernel selected no event\n" % cid)
PYEOF
}

# ---- all cases ---------------------------------------------------------------
export EXTRACT
n=0
while IFS=$'\t' read -r id rule filter note || [ -n "$id" ]; do
    case $id in ''|'#'*|id) continue ;; esac
    if [ $# -gt 0 ]; then
        want=0
        for a in "$@"; do [ "$a" = "$id" ] && want=1; done
        [ $want = 1 ] || continue
    fi
    run_case "$id" "$rule" "$filter"
    n=$((n + 1))
done < "$here/cases.tsv"
check_rules_unchanged
echo "gen.sh: $n case(s) done; auditctl -l unchanged" >&2
