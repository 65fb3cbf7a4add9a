using Filter.Kernel.Sys;

namespace Filter.Kernel.Translate;

/// <summary>
/// What the kernel engine can run: filters over the fields it gathers at a system call's exit (spec/kernel.md,
/// "The record gathered"). Anything else is refused before translation with
/// an error naming the field (FLT5007), never run on a record where that field would read as 0 or
/// the empty string: the event's time and serial, the keys of audit rules, tty, cwd, the PATH items,
/// proctitle, EXECVE and SOCKADDR are audit's records, which the kernel engine (no audit) does not have.
/// </summary>
public static class KernelSupport
{
    /// <summary>The scalar fields the live programs write: every one of the first layout (arch ... sig).</summary>
    public static readonly IReadOnlySet<string> GatheredFields = new HashSet<string>(
        RecordLayout.Scalars.Where(f => f.Offset < RecordLayout.CommDescriptor).Select(f => f.Name).Append("comm").Append("exe"),
        StringComparer.Ordinal);

    /// <summary>The reason <paramref name="program"/> cannot run in the kernel, or null when it can.</summary>
    public static KernelError? Check(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var missing = program.FieldsRead.Where(f => !GatheredFields.Contains(f)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            return new KernelError(KernelErrorKind.NotGathered,
                $"the filter reads {string.Join(", ", missing.Select(f => $"'{f}'"))}, which the kernel engine does not gather " +
                "(it has no audit event: only the system call, the task's ids, comm and exe); filter an audit log or the audit stream instead");
        return null;
    }
}
