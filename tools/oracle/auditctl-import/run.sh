#!/bin/bash
# run.sh -- the auditctl-import kernel differential (issue 7).
#
# Loads tools/oracle/auditctl-import/rules.rules into the live kernel, runs
# workload.py under it, and saves what the kernel logged, so that
# tests/Filter.Tests/Import/AuditctlKernelDifferentialTests.cs can check that the
# policy `filterc import-auditctl rules.rules` computes, for every SYSCALL event,
# the key the kernel logged (the catch-all's key <=> verdict 0).  Two passes:
#   1. the rules as written, then a catch-all `-a always,exit -S all` rule;
#   2. the same with every never rule turned into an always rule keyed
#      never@LINE (rules-never-pass.rules), to see what the never rules match --
#      in pass 1 the events they drop are simply absent.
# Each pass runs the workload in a fresh audit session (loginuid 4245, written
# by the workload's shell; no supplementary groups: setpriv --clear-groups), and
# every loaded rule, the catch-all too, gets `-F sessionid=<that session>`: no
# other process on the machine is audited by them.  On those events the added
# field is true, so the kernel's keys are those of the rules as written.  Every
# key is prefixed with a run tag (filterc-imp<pid>x<random>-), removed again
# when the log is read; an event keyed otherwise stops the run.
#
# Safety: refuses to start if any exit/exclude/task rule or watch is loaded (it
# would decide before ours, or drop our records) -- it never flushes.  Control
# lines of rules.rules (-D -b -f --backlog_wait_time ...) are never executed.
# Exactly the rules it added are deleted (auditctl -d with the same text) on
# every exit path (EXIT, ERR, INT, TERM, HUP traps); `auditctl -l` must be the
# same afterwards.  Never -D, -e, -f, -b or --backlog_wait_time.
#
# Needs root, auditd running, python3, setpriv.  Output (default
# tests/Filter.Tests/Data/auditctl-import): rules.rules, rules-never-pass.rules,
# exe-map.tsv, pass1.log.gz / pass2.log.gz (the session's SYSCALL lines, byte for
# byte), pass1.verdicts.tsv / pass2.verdicts.tsv, run.json.
# Environment: IMPORT_OUT, IMPORT_AUID (4245), AUDIT_LOG_DIR (/var/log/audit).
set -u -o pipefail -o errtrace
set -f
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
OUT=${IMPORT_OUT:-$repo/tests/Filter.Tests/Data/auditctl-import}
AUID=${IMPORT_AUID:-4245}
LOGDIR=${AUDIT_LOG_DIR:-/var/log/audit}
PY=/usr/bin/python3
PREP="$here/prepare.py"
TAG="filterc-imp$$x$RANDOM"

die() { echo "run.sh: $*" >&2; exit 1; }

ADDED=()        # rule texts as loaded (starting with -a or -A), in order
remove_rules() {
    local i r
    for ((i = ${#ADDED[@]} - 1; i >= 0; i--)); do
        r=${ADDED[i]}
        # shellcheck disable=SC2086  # split on purpose; globbing is off
        auditctl -d ${r#-? } > /dev/null || echo "run.sh: could not delete rule: ${ADDED[i]}" >&2
    done
    ADDED=()
}
add_rule() {
    ADDED+=("$1")
    # shellcheck disable=SC2086
    if ! auditctl $1 > /dev/null; then
        unset 'ADDED[${#ADDED[@]}-1]'
        return 1
    fi
}
WORK=""
HOLDER=""
cleanup() {
    remove_rules
    if [ -n "$HOLDER" ]; then kill "$HOLDER" 2> /dev/null; HOLDER=""; fi
    if [ -n "$WORK" ]; then rm -rf "$WORK"; WORK=""; fi
}
trap 'cleanup' EXIT
trap 'rc=$?; echo "run.sh: command failed (status $rc) near line $LINENO; removing rules" >&2; cleanup; exit 1' ERR
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# lost, log_files, flush_marker
# shellcheck source=/dev/null
. "$here/../lib.sh"

# ---- preconditions -----------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root"
auditctl -s | grep -q '^enabled 1$' || die "auditing is not enabled: start auditd (/usr/sbin/auditd)"
[ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" != 0 ] || die "auditd is not running"
command -v setpriv > /dev/null || die "setpriv is missing"
rules_before=$(auditctl -l)
if [ "$rules_before" != "No rules" ] && grep -qvE '^-a [a-z]+,user|^-a user,' <<< "$rules_before"; then
    die "refusing to run: audit rules are loaded, and exit/exclude/task rules or watches would decide before ours
or drop our records.  This script never flushes the rule list; remove them yourself if they are yours:
$rules_before"
fi
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/filterc_import.XXXXXX)
cp "$here/rules.rules" "$OUT/rules.rules"
$PY "$PREP" never-pass "$here/rules.rules" "$OUT/rules-never-pass.rules"

# exe= paths as the kernel resolves them on this machine: intermediate symlinks
# followed, the last component not (a symlink marks itself: "-")
{
    echo "# -F exe= paths of rules.rules as resolved on the machine that made the logs (run.sh)"
    grep -oE 'exe=[^ ]+' "$here/rules.rules" | sort -u | while read -r e; do
        p=${e#exe=}
        if [ -L "$p" ]; then printf '%s\t-\n' "$p"
        else printf '%s\t%s\n' "$p" "$(realpath -e "$p")"; fi
    done
} > "$OUT/exe-map.tsv"

# none of our rules may be left; other engineers' oracles may load their own
# (with their own keys) meanwhile, which we only report
check_rules_unchanged() {
    local now
    now=$(auditctl -l)
    if grep -qF "$TAG" <<< "$now"; then die "rules of this run are still loaded:
$now"; fi
    [ "$now" = "$rules_before" ] || echo "run.sh: note: someone else changed the rule list meanwhile:
$now" >&2
}

# ---- one pass ------------------------------------------------------------------
# run_pass N: the workload in a new session under the pass's rules; prints a JSON summary
run_pass() {
    local pass=$1 fifo ses start lb la rc i stats files
    fifo="$WORK/go$pass"
    mkfifo "$fifo"
    mkdir -p "$WORK/tmp$pass"
    start=$(date +%s)
    # the holder: a new audit session, waiting for the rules
    setpriv --clear-groups /bin/bash -c "echo $AUID > /proc/self/loginuid || exit 98
cat /proc/self/sessionid > $WORK/ses$pass
read -r go < $fifo
[ \"\$go\" = go ] || exit 97
exec $PY -S $here/workload.py $WORK/tmp$pass" < /dev/null > "$WORK/workload$pass.out" 2>&1 &
    HOLDER=$!
    for ((i = 0; i < 100; i++)); do [ -s "$WORK/ses$pass" ] && break; sleep 0.05; done
    ses=$(cat "$WORK/ses$pass" 2> /dev/null) || die "pass $pass: the workload shell did not start a session"
    [ -n "$ses" ] && [ "$ses" != 4294967295 ] || die "pass $pass: no session id"
    $PY "$PREP" load "$here/rules.rules" "$pass" "$TAG" "$ses" "$WORK/load$pass"
    lb=$(lost)
    while IFS= read -r r; do
        add_rule "$r" || die "pass $pass: auditctl rejected: $r"
    done < "$WORK/load$pass"
    add_rule "-a always,exit -S all -F sessionid=$ses -k $TAG-catchall" || die "pass $pass: catch-all rejected"
    # events of the session from before this point (the loginuid write) are not decided by our rules
    auditctl -m "$TAG-start$pass"
    echo go > "$fifo"
    rc=0
    wait "$HOLDER" || rc=$?
    HOLDER=""
    remove_rules
    check_rules_unchanged
    [ "$rc" = 0 ] || die "pass $pass: the workload exited $rc: $(cat "$WORK/workload$pass.out")"
    flush_marker "$start" "${TAG}-mark" || die "pass $pass: auditd did not write the marker within 30 s"
    la=$(lost)
    [ "$la" = "$lb" ] || die "pass $pass: the kernel lost records ($lb -> $la): run again"
    files=$(log_files "$start")
    # shellcheck disable=SC2086
    stats=$($PY "$PREP" extract "$TAG" "$ses" "$TAG-start$pass" "$OUT/pass$pass.log.gz" "$OUT/pass$pass.verdicts.tsv" $files) \
        || die "pass $pass: extraction failed"
    echo "{\"pass\": $pass, \"session\": $ses, \"lost_before\": $lb, \"lost_after\": $la, \"stats\": $stats}"
}

p1=$(run_pass 1)
echo "run.sh: pass 1: $p1" >&2
p2=$(run_pass 2)
echo "run.sh: pass 2: $p2" >&2
cat > "$OUT/run.json" <<JSON
{
 "kernel": "$(uname -r)",
 "auditctl": "$(auditctl -v | awk '{ print $3 }')",
 "tag": "$TAG",
 "auid": $AUID,
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "passes": [
  $p1,
  $p2
 ]
}
JSON
check_rules_unchanged
echo "run.sh: done; auditctl -l unchanged; data in $OUT" >&2
