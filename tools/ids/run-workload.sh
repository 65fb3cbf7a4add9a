#!/bin/bash
# run-workload.sh OUT.log
#
# The IDS workload under the kernel's audit (spec/ids.md): compiles superserver.c and service.c,
# adds a temporary audit rule set of its own, runs the three scenarios
#
#   superserver service crash    the service reads the request, then dies of SIGSEGV (one alert)
#   superserver service exit     the service reads the request, then exits normally (no alert)
#   superserver service noread   the service dies of SIGSEGV without reading (no alert)
#
# removes exactly its rules, and writes to OUT.log every audit event of the run, all lines as auditd
# wrote them: the SYSCALL events its rules selected and the kernel's ANOM_ABEND records (which no rule
# selects and which carry no key), both found by the run's audit session. Prints the superserver's
# lines ("service PID (MODE) killed by signal 11") on standard output.
#
# Rules: `-a always,exit -F arch=b64|b32 -S all -F auid=$AUID -k $KEY` — every system call of the
# processes of this run only (the run writes $AUID to /proc/self/loginuid first), with a unique key.
# Each is deleted with `auditctl -d` and the identical rule text on every exit path (EXIT, ERR, INT,
# TERM, HUP traps); never `auditctl -D`, never -e/-f/-b. Afterwards no rule with $KEY may be left.
#
# Needs root, auditd running (`auditctl -s` shows a pid; start it with `auditd`), gcc, ausearch.
# Environment: IDS_AUID (default 4244), AUDIT_LOG_DIR (default /var/log/audit).
# Exit status: 0 done; 1 failure; 77 a precondition is missing (the message says which).
set -u -o pipefail -o errtrace
set -f          # rule texts are split on spaces below: never glob them
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin

here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: run-workload.sh OUT.log}
AUID=${IDS_AUID:-4244}
LOGDIR=${AUDIT_LOG_DIR:-/var/log/audit}
KEY="filter-ids-$$-$RANDOM$RANDOM"

skip() { echo "run-workload.sh: cannot run: $*" >&2; exit 77; }
die() { echo "run-workload.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "must run as root"
command -v auditctl > /dev/null || skip "auditctl is not installed"
command -v ausearch > /dev/null || skip "ausearch is not installed"
command -v gcc > /dev/null || skip "gcc is not installed"
auditctl -s 2> /dev/null | grep -q '^enabled 1$' || skip "kernel auditing is not enabled (auditctl -s)"
[ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" != 0 ] || skip "auditd is not running (start it with: auditd)"
[ -w /proc/self/loginuid ] || skip "/proc/self/loginuid is not writable"

ADDED=()
TMP=""
remove_rules() {
    local i
    for ((i = ${#ADDED[@]} - 1; i >= 0; i--)); do
        # shellcheck disable=SC2086  # split on purpose; globbing is off
        auditctl -d ${ADDED[i]} > /dev/null || echo "run-workload.sh: could not delete rule: -d ${ADDED[i]}" >&2
    done
    ADDED=()
}
add_rule() {
    ADDED+=("$1")   # recorded first: a signal right after auditctl returns still removes it
    # shellcheck disable=SC2086
    if ! auditctl -a $1 > /dev/null; then
        unset 'ADDED[${#ADDED[@]}-1]'
        return 1
    fi
}
cleanup() {
    remove_rules
    if [ -n "$TMP" ]; then rm -rf "$TMP"; TMP=""; fi
}
trap 'cleanup' EXIT
trap 'rc=$?; echo "run-workload.sh: command failed (status $rc) near line $LINENO; removing rules" >&2; cleanup; exit 1' ERR
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

TMP=$(mktemp -d /tmp/filter-ids.XXXXXX)
gcc -O1 -o "$TMP/superserver" "$here/superserver.c"
gcc -O1 -o "$TMP/service" "$here/service.c"

lost_before=$(auditctl -s | awk '$1 == "lost" { print $2 }')
start=$(date +%s)
for arch in b64 b32; do
    add_rule "always,exit -F arch=$arch -S all -F auid=$AUID -k $KEY"
done

# The run: a shell that takes the login uid $AUID (and so a new audit session), then the scenarios.
/bin/bash -c "echo $AUID > /proc/self/loginuid || exit 98
cat /proc/self/sessionid > $TMP/session
for mode in crash exit noread; do $TMP/superserver $TMP/service \$mode; done" < /dev/null > /dev/null 2> "$TMP/superserver.out"

remove_rules
# Others may add and remove their own rules meanwhile: what must hold is that none of ours is left.
if auditctl -l | grep -qF "key=$KEY"; then die "rules with our key $KEY are still loaded:
$(auditctl -l | grep -F "key=$KEY")"; fi
lost_after=$(auditctl -s | awk '$1 == "lost" { print $2 }')
[ "$lost_after" = "$lost_before" ] || echo "run-workload.sh: warning: the kernel lost records during the run (lost $lost_before -> $lost_after)" >&2

# Wait until auditd has written everything: a marker sent after the run appears in the log.
mark="filter-ids-mark-$KEY"
auditctl -m "$mark"
for ((i = 0; i < 300; i++)); do
    grep -aqF "$mark" "$LOGDIR/audit.log" && break
    sleep 0.1
done
grep -aqF "$mark" "$LOGDIR/audit.log" || die "auditd did not write the marker within 30 s"

session=$(cat "$TMP/session")
# Every event of the run's session since it started: its SYSCALL events (keyed $KEY) and ANOM_ABEND.
# shellcheck disable=SC2046
ausearch --input-logs --raw --session "$session" -ts $(date -d "@$start" '+%x %T') > "$OUT" \
    || die "ausearch found no event of session $session"
grep -q "key=\"$KEY\"" "$OUT" || die "no event with our key $KEY in $OUT"
cat "$TMP/superserver.out"
echo "run-workload.sh: wrote $(wc -l < "$OUT") lines ($(grep -c '^type=SYSCALL' "$OUT") SYSCALL, $(grep -c '^type=ANOM_ABEND' "$OUT") ANOM_ABEND) of session $session, key $KEY, to $OUT" >&2
