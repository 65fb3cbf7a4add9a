using System.Runtime.InteropServices;
using Filter.Kernel.Asm;
using Filter.Kernel.Btf;
using Filter.Kernel.Programs;
using Filter.Kernel.Sys;
using Xunit;

namespace Filter.Tests.Kernel;

/// <summary>
/// Whether tests that load BPF programs can run here, decided once: Linux on x86_64 or arm64, as root, with a
/// kernel that loads and test-runs a sleepable BPF_PROG_TYPE_SYSCALL program; the live tests also need the
/// kernel's BTF. Tests call <see cref="Require"/> or <see cref="RequireTracing"/>, which report them as
/// skipped with the reason elsewhere (never as passed).
/// </summary>
public static class KernelBpf
{
    public static string? WhyUnavailable { get; } = Probe();

    public static string? WhyNoTracing { get; } = WhyUnavailable ?? (File.Exists(BtfSpec.KernelPath) ? null : $"no kernel BTF at {BtfSpec.KernelPath}");

    public static void Require() => Skip.If(WhyUnavailable is not null, $"BPF tests cannot run here: {WhyUnavailable}");

    public static void RequireTracing() => Skip.If(WhyNoTracing is not null, $"BPF tracing tests cannot run here: {WhyNoTracing}");

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64)) return $"no bpf(2) number for {RuntimeInformation.ProcessArchitecture}";
        if (!Environment.IsPrivilegedProcess) return "not root (loading BPF programs needs CAP_BPF and CAP_PERFMON)";
        var asm = new BpfAssembler();
        asm.MovImm(Reg.R0, 7);
        asm.Exit();
        var program = BpfProgram.Load(new ProgramSpec(ProgramType.Syscall, asm.Marshal(), "probe", Flags: BpfConstants.F_SLEEPABLE));
        if (!program.Ok) return program.Error!.Message;
        using var p = program.Value;
        long r = TestRun.RunWithContext(p, new byte[8]);
        return r == 7 ? null : $"BPF_PROG_TEST_RUN of a syscall program failed ({(r < 0 ? KernelError.Describe((int)-r) : $"returned {r}")})";
    }
}
