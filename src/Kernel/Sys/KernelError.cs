namespace Filter.Kernel.Sys;

/// <summary>Why the kernel back end cannot do what was asked: each is something a user can act on.</summary>
public enum KernelErrorKind
{
    /// <summary>Not Linux, not x86_64/arm64, or no bpf(2).</summary>
    Unsupported,
    /// <summary>Missing privilege (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN: run as root).</summary>
    Permission,
    /// <summary>No kernel BTF (/sys/kernel/btf/vmlinux), or a type or member the back end needs is not in it.</summary>
    Btf,
    /// <summary>The kernel's verifier refused the program; the message holds the end of its log.</summary>
    Refused,
    /// <summary>The program is beyond what the kernel back end can translate (spec/limits.md).</summary>
    Limit,
    /// <summary>Another system call failed.</summary>
    System,
    /// <summary>The filter needs a field the kernel does not gather, or a test the translator does not make (refused before loading).</summary>
    NotGathered,
}

/// <summary>An error of the kernel back end, as data: a kind and one line (plus the verifier's log when it refused).</summary>
public sealed record KernelError(KernelErrorKind Kind, string Message, string? VerifierLog = null)
{
    public override string ToString() => Message;

    /// <summary>The error as the one diagnostic type (FLT5001-5006, by kind), about <paramref name="file"/> when given.</summary>
    public Diagnostic ToDiagnostic(string? file = null)
    {
        var d = new Diagnostic(Kind switch
        {
            KernelErrorKind.Unsupported => DiagnosticCode.KernelUnsupported,
            KernelErrorKind.Permission => DiagnosticCode.KernelPermission,
            KernelErrorKind.Btf => DiagnosticCode.KernelBtf,
            KernelErrorKind.Refused => DiagnosticCode.KernelRefused,
            KernelErrorKind.Limit => DiagnosticCode.KernelLimit,
            KernelErrorKind.System => DiagnosticCode.KernelSystem,
            KernelErrorKind.NotGathered => DiagnosticCode.KernelNotGathered,
        }, default(DiagnosticLocation), Message);
        return file is null ? d : d.In(file);
    }

    /// <summary>An errno's text and number ("Operation not permitted (errno 1)").</summary>
    public static string Describe(int errno) => Libc.Describe(errno);

    /// <summary>The error for a failed system call, with the errno's meaning and what it usually means here.</summary>
    public static KernelError FromErrno(string what, int errno) => errno switch
    {
        Libc.EPERM or Libc.EACCES => new(KernelErrorKind.Permission,
            $"cannot {what}: permission denied (loading BPF programs needs CAP_BPF and CAP_PERFMON: run as root)"),
        Libc.ENOSYS => new(KernelErrorKind.Unsupported, $"cannot {what}: this kernel has no bpf(2) (CONFIG_BPF_SYSCALL)"),
        _ => new(KernelErrorKind.System, $"cannot {what}: {Libc.Describe(errno)}"),
    };
}

/// <summary>A value or the error that prevented it.</summary>
public readonly struct KernelResult<T>
{
    private readonly T? _value;
    public KernelError? Error { get; }
    public bool Ok => Error is null;

    private KernelResult(T? value, KernelError? error) { _value = value; Error = error; }

    public T Value => Error is null ? _value! : throw new InvalidOperationException($"no value: {Error.Message}");

    public static implicit operator KernelResult<T>(T value) => new(value, null);
    public static implicit operator KernelResult<T>(KernelError error) => new(default, error);
}
