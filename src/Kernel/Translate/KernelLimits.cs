using Filter.Kernel.Asm;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Translate;

/// <summary>
/// What the kernel's verifier refuses however correct a program is (kernel/bpf/verifier.c; internal
/// constants, not in the UAPI headers), checked before loading so that the error names the limit and the
/// program instead of ending a long verification with a log (spec/limits.md).
/// </summary>
public static class KernelLimits
{
    /// <summary>
    /// <c>BPF_COMPLEXITY_LIMIT_INSNS</c>: the most instructions a privileged program may have, and the most the
    /// verifier processes to accept one (each instruction of each path it explores, and each path it prunes).
    /// </summary>
    public const int VerifierLimit = 1_000_000;

    /// <summary>
    /// The verifier's work on our translations, as spec/kernel.md states and KernelVerifierWorkTests hold it to:
    /// each eBPF instruction once, each further path into one of our pcs once more where it is pruned (at most
    /// one per instruction: two per instruction in all), and a few thousand where a path walks on a little before
    /// it is (the verdict's paths to the end, the prologue's compare trees).
    /// </summary>
    public const int WorkPerInstruction = 2, WorkSlack = 4096;

    public static long VerifierWorkBound(int instructions) => (long)WorkPerInstruction * instructions + WorkSlack;

    /// <summary>The longest translation whose verification stays within <see cref="VerifierLimit"/> by that bound.</summary>
    public const int MaxInstructions = (VerifierLimit - WorkSlack) / WorkPerInstruction;

    /// <summary>
    /// <c>BPF_COMPLEXITY_LIMIT_JMP_SEQ</c>: the verifier explores paths depth first and keeps the other side
    /// of every branch it passes; more than this many pending on one path is "too complex".
    /// </summary>
    public const int MaxBranchesOnAPath = 8192;

    public static KernelError? Check(ReadOnlySpan<RawInstruction> code, string what)
    {
        if (code.Length > MaxInstructions)
            return new(KernelErrorKind.Limit, $"{what} translates to {code.Length:N0} eBPF instructions; at most {MaxInstructions:N0} load " +
                $"(the kernel's verifier processes up to {WorkPerInstruction} per instruction and stops at {VerifierLimit:N0}; each 8 bytes of a string constant costs 5 instructions, each range of a set about 3, a contains on exe about 4,096 x (3 per 8 bytes of its constant + 7))");
        int branches = BranchesOnLongestPath(code);
        if (branches > MaxBranchesOnAPath)
            return new(KernelErrorKind.Limit, $"{what} has a path through {branches:N0} conditional eBPF jumps; the kernel's verifier refuses more than {MaxBranchesOnAPath:N0} " +
                "(each set test costs about log2 of its ranges plus 4: fewer set tests on one path, or smaller sets)");
        return null;
    }

    /// <summary>The most conditional jumps on one path of loop-free code (the longest path in its DAG, counting conditions).</summary>
    public static int BranchesOnLongestPath(ReadOnlySpan<RawInstruction> code)
    {
        var depth = new int[code.Length + 1];
        for (int pc = code.Length - 1; pc >= 0; pc--)
        {
            var insn = code[pc];
            // The second slot of a two-slot load is not an instruction.
            if (pc > 0 && code[pc - 1].Op.IsLoadImm64) continue;
            int next = insn.Op.IsLoadImm64 ? pc + 2 : pc + 1;
            var info = InstructionTable.Lookup(insn.Op);
            int n = code.Length, from = pc;
            int Depth(int at) => at > from && at <= n ? depth[at] : 0;
            depth[pc] = info?.Format switch
            {
                InsnFormat.Exit => 0,
                InsnFormat.Goto => Depth(pc + 1 + insn.Offset),
                InsnFormat.GotoLong => Depth(pc + 1 + insn.Imm),
                InsnFormat.JumpImm or InsnFormat.JumpReg => 1 + Math.Max(Depth(next), Depth(pc + 1 + insn.Offset)),
                _ => Depth(next),
            };
        }
        return depth[0];
    }
}
