namespace Filter.Audit.Formats;

/// <summary>
/// The records after which no more records of their event come, so that a reader of a stream (a log being
/// followed, auditd's plugin feed) hands the event on at once instead of waiting for 64 newer events.
/// auditd logs no EOE record, and the kernel ends every system call's records with PROCTITLE
/// (<c>kernel/auditsc.c</c>, <c>audit_log_exit</c>: PROCTITLE, then EOE); messages from user space
/// (<c>USER_*</c>, <c>CRED_*</c>, ..., 1100-1199 and 2100-2999), auditd's own (<c>DAEMON_*</c>, 1200-1299)
/// and <c>KERNEL</c> are logged outside any system call, each in an event of its own
/// (<c>kernel/audit.c</c>, <c>audit_log_common_recv_msg</c> with no context). This is the part of
/// libaudit's <c>audit_is_last_record</c> that holds for every kernel: records such as <c>ANOM_ABEND</c>,
/// <c>AVC</c> or <c>LOGIN</c> may share an event with a <c>SYSCALL</c> record that follows, so they wait.
/// </summary>
internal static class EventEnd
{
    /// <summary>Whether a record of this type (the name after <c>type=</c>) is the last of its event.</summary>
    public static bool IsLast(ReadOnlySpan<byte> type)
    {
        // The records of system calls, by far the most lines, are answered without a lookup.
        if (type.SequenceEqual("PROCTITLE"u8)) return true;
        if (type.SequenceEqual("PATH"u8) || type.SequenceEqual("CWD"u8) || type.SequenceEqual("EXECVE"u8)) return false;
        return Live.RecordTypes.TryParse(type, out ushort t) && t is 1005 or 2000 or (>= 1100 and <= 1299) or (>= 2100 and <= 2999);
    }
}
