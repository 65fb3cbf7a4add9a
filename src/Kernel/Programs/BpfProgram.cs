using System.Text;
using Filter.Kernel.Asm;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Programs;

/// <summary>What to load: the program type, its code and how it will be attached.</summary>
/// <param name="AttachBtfId">For BTF-typed hooks (tp_btf): the id of the hook's type in the kernel's BTF.</param>
/// <param name="License">"GPL": several helpers the back end uses (probe reads, task access) are GPL-only.</param>
public sealed record ProgramSpec(ProgramType Type, RawInstruction[] Code, string Name,
    AttachType ExpectedAttachType = 0, int AttachBtfId = 0, uint Flags = 0, string License = "GPL");

/// <summary>A program the kernel accepted, held by its descriptor.</summary>
public sealed class BpfProgram : IDisposable
{
    /// <summary>A verifier log past this is cut at its start: the end says why.</summary>
    private const int LogBufferSize = 16 << 20;

    public KernelFd Fd { get; }
    public uint Id { get; }
    public ProgramSpec Spec { get; }

    /// <summary>
    /// How many instructions the kernel's verifier processed to accept the program (<c>verified_insns</c>):
    /// its work, which it refuses past 1,000,000 (spec/kernel.md, "How much the kernel's verifier does").
    /// </summary>
    public uint VerifiedInstructions { get; }

    private BpfProgram(KernelFd fd, ProgramSpec spec)
    {
        Fd = fd;
        Spec = spec;
        Bpf.ProgramInfo(fd, out var info);
        Id = info.Id;
        VerifiedInstructions = info.VerifiedInsns;
    }

    /// <summary>
    /// Loads a program. When the kernel refuses it, it is loaded again with the verifier's log on, and the
    /// error carries the log's last lines (the reason) and the whole log, never an exception.
    /// </summary>
    public static unsafe KernelResult<BpfProgram> Load(ProgramSpec spec)
    {
        int fd = LoadOnce(spec, null, 0);
        if (fd >= 0) return new BpfProgram(new KernelFd(fd), spec);
        int errno = -fd;
        var log = new byte[LogBufferSize];
        int again = LoadOnce(spec, log, 1);
        // Accepted with the log on: the first refusal was not the verifier's (a transient failure).
        if (again >= 0) return new BpfProgram(new KernelFd(again), spec);
        int end = Array.IndexOf(log, (byte)0);
        string text = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end);
        if (text.Trim().Length == 0) return KernelError.FromErrno($"load the BPF program '{spec.Name}'", errno);
        return new KernelError(KernelErrorKind.Refused,
            $"the kernel's verifier refused the BPF program '{spec.Name}' ({spec.Code.Length} instructions, {Libc.Describe(-again)}): {Reason(text)}", text);
    }

    /// <summary>The last non-empty lines of a verifier log, which say what went wrong.</summary>
    public static string Reason(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // The log ends with a summary ("processed N insns ..."); the cause is the line(s) before it.
        var tail = lines.Reverse().Where(l => !l.StartsWith("processed ", StringComparison.Ordinal) && !l.StartsWith("verification time", StringComparison.Ordinal)
            && !l.StartsWith("stack depth", StringComparison.Ordinal)).Take(2).Reverse();
        return string.Join(" / ", tail);
    }

    private static unsafe int LoadOnce(ProgramSpec spec, byte[]? log, uint logLevel)
    {
        var license = Encoding.ASCII.GetBytes(spec.License + "\0");
        fixed (RawInstruction* insns = spec.Code)
        fixed (byte* lic = license)
        fixed (byte* logBuf = log)
        {
            var attr = new ProgLoadAttr
            {
                ProgType = (uint)spec.Type,
                InsnCnt = (uint)spec.Code.Length,
                Insns = (ulong)insns,
                License = (ulong)lic,
                LogLevel = logLevel,
                LogSize = (uint)(log?.Length ?? 0),
                LogBuf = (ulong)logBuf,
                ProgFlags = spec.Flags,
                ExpectedAttachType = (uint)spec.ExpectedAttachType,
                AttachBtfId = (uint)spec.AttachBtfId,
            };
            Bpf.WriteName(attr.ProgName, spec.Name);
            return Bpf.Call(BpfCommand.ProgLoad, ref attr);
        }
    }

    /// <summary>How often the kernel ran the program and for how long (counted while run-time statistics are on).</summary>
    public (ulong RunCount, ulong RunTimeNs) Stats()
    {
        Bpf.ProgramInfo(Fd, out var info);
        return (info.RunCnt, info.RunTimeNs);
    }

    public void Dispose() => Fd.Dispose();
}

/// <summary>BPF_PROG_TEST_RUN: runs a loaded program once on an input, in the kernel, without attaching it.</summary>
public static class TestRun
{
    /// <summary>
    /// Runs a <see cref="ProgramType.Syscall"/> program with <paramref name="context"/> as its context (the
    /// kernel copies it in, and the program reads it as <c>r1</c>); the program's return value, or -errno.
    /// </summary>
    public static unsafe long RunWithContext(BpfProgram program, ReadOnlySpan<byte> context)
    {
        fixed (byte* ctx = context)
        {
            var attr = new TestRunAttr { ProgFd = (uint)program.Fd.Value, CtxIn = (ulong)ctx, CtxSizeIn = (uint)context.Length };
            int r = Bpf.Call(BpfCommand.ProgTestRun, ref attr);
            return r < 0 ? r : attr.Retval;
        }
    }
}
