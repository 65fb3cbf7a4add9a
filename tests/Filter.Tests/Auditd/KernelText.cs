namespace Filter.Tests.Auditd;

/// <summary>
/// SYSCALL record text as the kernel writes it, for tests that care about a few fields: the kernel
/// always writes the others (kernel/auditsc.c audit_log_exit, kernel/audit.c audit_log_task_info), and a
/// record without them is malformed (spec/auditd.md), so they are filled in.
/// </summary>
internal static class KernelText
{
    /// <summary>The fields every SYSCALL record has besides arch and syscall, with harmless values.</summary>
    private static readonly (string Key, string Value)[] AlwaysWritten =
    [
        ("a0", "0"), ("a1", "0"), ("a2", "0"), ("a3", "0"), ("items", "0"), ("ppid", "1"), ("pid", "2"),
        ("auid", "4294967295"), ("uid", "0"), ("gid", "0"), ("euid", "0"), ("suid", "0"), ("fsuid", "0"),
        ("egid", "0"), ("sgid", "0"), ("fsgid", "0"), ("tty", "(none)"), ("ses", "4294967295"),
        ("comm", "\"test\""), ("exe", "\"/usr/bin/test\""), ("key", "(null)"),
    ];

    /// <summary>
    /// <paramref name="fields"/> with every other field the kernel always writes that they lack, after their
    /// leading arch and syscall (the rest stays last, so a line cut short in the test still ends the text).
    /// </summary>
    public static string Syscall(string fields)
    {
        var words = fields.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var given = words.Select(f => f.Split('=')[0]).ToHashSet();
        int head = words.TakeWhile(w => w.StartsWith("arch=", StringComparison.Ordinal) || w.StartsWith("syscall=", StringComparison.Ordinal)).Count();
        return string.Join(' ', words[..head].Concat(AlwaysWritten.Where(f => !given.Contains(f.Key)).Select(f => $"{f.Key}={f.Value}")).Concat(words[head..]));
    }

    /// <summary>The fields of every ANOM_ABEND record (kernel/audit.c audit_log_abend) that <paramref name="fields"/> lack, then those.</summary>
    public static string AnomAbend(string fields)
    {
        (string Key, string Value)[] always = [("auid", "4294967295"), ("uid", "0"), ("gid", "0"), ("ses", "4294967295"), ("pid", "2"),
            ("comm", "\"test\""), ("exe", "\"/usr/bin/test\""), ("sig", "11")];
        var given = fields.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Split('=')[0]).ToHashSet();
        return string.Join(' ', always.Where(f => !given.Contains(f.Key)).Select(f => $"{f.Key}={f.Value}").Append(fields));
    }
}
