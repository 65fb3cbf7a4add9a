# Shared by the scripts that run a workload under temporary audit rules and collect auditd's log
# (tools/oracle/gen.sh, tools/oracle/auditctl-import/run.sh). Source it after setting LOGDIR.

# the kernel's lost-record counter
lost() { auditctl -s | awk '$1 == "lost" { print $2 }'; }

# audit.log files, oldest first, that may hold records written since $1 (epoch)
log_files() {
    local since=$1 f n
    for n in 9 8 7 6 5 4 3 2 1; do
        f="$LOGDIR/audit.log.$n"
        if [ -f "$f" ] && [ "$(stat -c %Y "$f")" -ge "$since" ]; then echo "$f"; fi
    done
    echo "$LOGDIR/audit.log"
}

# flush_marker SINCE NONCE: sends NONCE as a user message after everything else and waits (30 s at most)
# until auditd has written it, so every earlier record is in the log
flush_marker() {
    local since=$1 nonce=$2 i
    auditctl -m "$nonce"
    for ((i = 0; i < 300; i++)); do
        # shellcheck disable=SC2046
        if grep -aqF "$nonce" $(log_files "$since"); then return 0; fi
        sleep 0.1
    done
    return 1
}
