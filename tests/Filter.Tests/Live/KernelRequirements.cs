using System.Runtime.InteropServices;
using Filter.Audit.Live;
using Filter.Kernel.Asm;
using Filter.Kernel.Btf;
using Filter.Kernel.Programs;
using Filter.Kernel.Sys;
using Xunit;

namespace Filter.Tests.Live;

/// <summary>
/// The one place that says whether a test that needs the kernel can run here and, if not, why. Each
/// <c>Require...</c> skips the calling test (which must be a <c>[SkippableFact]</c> or <c>[SkippableTheory]</c>)
/// with the reason, so the runner reports it as skipped, never as passed. Every such test carries
/// <c>[Trait(KernelRequirements.Category, KernelRequirements.Kernel)]</c>: <c>.ci/run</c> counts how many of
/// them ran and how many were skipped, and why.
/// </summary>
/// <remarks>
/// The checks are made at each call, not cached: auditd may be started or stopped while tests run.
/// </remarks>
public static class KernelRequirements
{
    /// <summary>The trait name and value that mark a test needing the kernel (root, audit, BPF, ...).</summary>
    public const string Category = "Category", Kernel = "Kernel";

    /// <summary>
    /// The kernel tests that need a logging auditd (RequireAuditd): <c>.ci/run</c> runs them after starting
    /// it and every other test before, with audit as it found it, because while audit is enabled the kernel
    /// logs every BPF program load and unload (AUDIT_BPF with its SYSCALL record): the kernel tests' ~1,900
    /// loads made 3,750 of the 5,024 events one run added to the host's log (spec/live.md).
    /// </summary>
    public const string Audit = "Audit";

    /// <summary>Null on Linux as root (or with the capabilities root has); otherwise why not.</summary>
    public static string? WhyNotRoot() =>
        !OperatingSystem.IsLinux() ? "not Linux"
        : Environment.IsPrivilegedProcess ? null
        : "not root: the kernel's audit and BPF interfaces need CAP_AUDIT_READ, CAP_AUDIT_CONTROL, CAP_BPF";

    /// <summary>Null when this process can read the audit stream and add rules, and the kernel's audit is enabled.</summary>
    public static string? WhyNoAudit()
    {
        if (WhyNotRoot() is { } notRoot) return notRoot;
        try
        {
            using var control = AuditControl.Open();
            if (control.GetStatus().Enabled == 0) return "the kernel's audit is disabled (auditctl -s: enabled 0; .ci/run enables it)";
        }
        catch (AuditUnavailableException e)
        {
            return e.Message;
        }
        return null;
    }

    /// <summary>Null when audit is available and an auditd is running and logging to /var/log/audit/audit.log.</summary>
    public static string? WhyNoAuditd()
    {
        if (WhyNoAudit() is { } noAudit) return noAudit;
        using var control = AuditControl.Open();
        uint pid = control.GetStatus().Pid;
        if (pid == 0 || !Directory.Exists($"/proc/{pid}")) return "auditd is not running (auditctl -s: pid 0; .ci/run starts it)";
        if (!File.Exists("/var/log/audit/audit.log")) return "auditd runs but /var/log/audit/audit.log does not exist";
        return null;
    }

    /// <summary>Null when every command is on the PATH; otherwise the first one missing.</summary>
    public static string? WhyNoCommand(params string[] commands)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]);
        foreach (var command in commands)
            if (!path.Any(dir => File.Exists(Path.Combine(dir, command))))
                return $"{command} is not installed (apt-get install {(command is "gcc" ? "gcc" : "auditd")})";
        return null;
    }

    /// <summary>
    /// Null when this process can load BPF programs and test-run them: Linux on x86_64 or arm64, as root, with a
    /// kernel that loads and test-runs a sleepable BPF_PROG_TYPE_SYSCALL program. Decided once.
    /// </summary>
    public static string? WhyNoBpf() => Bpf.Value;

    /// <summary>Null when BPF programs can also be attached to tracepoints by BTF (the live programs): the kernel's BTF is there.</summary>
    public static string? WhyNoBpfTracing() => WhyNoBpf() ?? (File.Exists(BtfSpec.KernelPath) ? null : $"no kernel BTF at {BtfSpec.KernelPath}");

    private static readonly Lazy<string?> Bpf = new(ProbeBpf);

    private static string? ProbeBpf()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)) return $"no bpf(2) number for {RuntimeInformation.ProcessArchitecture}";
        if (WhyNotRoot() is { } notRoot) return notRoot;
        var asm = new BpfAssembler();
        asm.MovImm(Reg.R0, 7);
        asm.Exit();
        var program = BpfProgram.Load(new ProgramSpec(ProgramType.Syscall, asm.Marshal(), "probe", Flags: BpfConstants.F_SLEEPABLE));
        if (!program.Ok) return program.Error!.Message;
        using var p = program.Value;
        long r = TestRun.RunWithContext(p, new byte[8]);
        return r == 7 ? null : $"BPF_PROG_TEST_RUN of a syscall program failed ({(r < 0 ? KernelError.Describe((int)-r) : $"returned {r}")})";
    }

    public static void RequireRoot() => SkipIf(WhyNotRoot());

    public static void RequireBpf() => SkipIf(WhyNoBpf());

    public static void RequireBpfTracing() => SkipIf(WhyNoBpfTracing());

    public static void RequireAudit() => SkipIf(WhyNoAudit());

    public static void RequireAuditd() => SkipIf(WhyNoAuditd());

    public static void RequireCommands(params string[] commands) => SkipIf(WhyNoCommand(commands));

    private static void SkipIf(string? reason) => Skip.If(reason is not null, reason);
}
