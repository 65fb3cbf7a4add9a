using Filter.Compiler;
using Filter.Kernel.Live;
using Filter.Kernel.Translate;
using Filter.Tests.Engines;
using Filter.Tests.Live;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Kernel;

/// <summary>
/// How much the kernel's verifier does to accept a translation (<c>verified_insns</c>: the instructions it
/// processed, counted by the kernel, not timed), on the worst programs we can make: every program our verifier
/// accepts must verify in work bounded by its length (spec/kernel.md, "How much the kernel's verifier does").
/// </summary>
[Collection(KernelCollection.Name), Trait(KernelRequirements.Category, KernelRequirements.Kernel)]
public class KernelVerifierWorkTests(ITestOutputHelper output)
{
    /// <summary>The bound spec/kernel.md states: the verifier processes each eBPF instruction of a body at most about once, and a little slack.</summary>
    internal static long Bound(int ebpfInstructions) => KernelLimits.VerifierWorkBound(ebpfInstructions);

    /// <summary>The limit the translation passes (<see cref="KernelLimits.Check"/>), if any, found without the kernel.</summary>
    private static Filter.Kernel.Sys.KernelError? LimitPassed(VerifiedProgram program)
    {
        var asm = new Filter.Kernel.Asm.BpfAssembler();
        FilterTranslator.EmitBody(asm, program, new BodyLayout(Filter.Kernel.Asm.Reg.R6));
        asm.Exit();
        return KernelLimits.Check(asm.Marshal(), "the filter");
    }

    /// <summary>Loads the translation and checks the kernel's work against the bound; returns the figures for the output.</summary>
    internal static string AssertBounded(VerifiedProgram program, string what)
    {
        var loaded = TestRunFilter.Load(program);
        Assert.True(loaded.Ok, $"{what}: {loaded.Error?.Message}");
        using var kernel = loaded.Value;
        long bound = Bound(kernel.Code.Length);
        Assert.True(kernel.VerifiedInstructions <= bound,
            $"{what}: the kernel's verifier processed {kernel.VerifiedInstructions:N0} instructions for {kernel.Code.Length:N0}; the bound is {bound:N0}");
        return $"{what}: {program.InstructionCount} instructions, {kernel.Code.Length:N0} eBPF, verifier processed {kernel.VerifiedInstructions:N0} ({(double)kernel.VerifiedInstructions / kernel.Code.Length:F2} per instruction)";
    }

    /// <summary>
    /// Diamonds that give each register a different constant on each side, then a compare of each register
    /// whose outcome the constant decides: 2^15 paths that differ in what they know. Tracked per path, the
    /// constants keep the states at each join apart and the work doubles with each diamond.
    /// </summary>
    internal static ProgramImage Joins(int diamonds)
    {
        var code = new List<Instruction> { new(OpCode.Ldw, 0, 0, 0, 0, (ulong)RecordLayout.Uid) };
        for (int i = 1; i <= diamonds; i++)
        {
            code.Add(new(OpCode.JsetK, 0, 0, 0, 2, 1UL << i));
            code.Add(new(OpCode.MovK, (byte)i, 0, 0, 0, (ulong)i));
            code.Add(new(OpCode.Ja, 0, 0, 1, 0, 0));
            code.Add(new(OpCode.MovK, (byte)i, 0, 0, 0, (ulong)(i + 1000)));
        }
        // Both outcomes go on: every path reaches every compare, and each compare makes its register's value matter.
        for (int i = 1; i <= diamonds; i++) code.Add(new(OpCode.JeqK, (byte)i, 0, 0, 0, (ulong)i));
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
        return new ProgramImage(code, [], [], ["k"]);
    }

    /// <summary>
    /// A set test of <paramref name="ranges"/> ranges whose every leaf reaches the same next pc, then
    /// <paramref name="chain"/> arithmetic instructions with no branch: each path into the chain that the
    /// kernel's verifier does not prune at its start walks all of it.
    /// </summary>
    internal static ProgramImage SetThenChain(int ranges, int chain)
    {
        var set = new ValueSet(false, Enumerable.Range(0, ranges).Select(i => new ValueRange((ulong)i * 4, (ulong)i * 4 + 1)));
        var code = new List<Instruction> { new(OpCode.Lddw, 0, 0, 0, 0, (ulong)RecordLayout.A0), new(OpCode.MovK, 1, 0, 0, 0, 7), new(OpCode.Jin, 0, 0, 0, (ushort)(chain + 2), 0) };
        for (int i = 0; i < chain; i++) code.Add(i % 2 == 0 ? new(OpCode.AddX, 1, 0, 0, 0, 0) : new(OpCode.XorK, 1, 0, 0, 0, (ulong)i));
        code.Add(new(OpCode.JeqK, 1, 0, 0, 1, 12345));
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 0));   // also where a value not in the set goes
        return new ProgramImage(code, [set], [], ["k"]);
    }

    [SkippableFact]
    public void ABigSetBeforeALongChainVerifiesInBoundedWork()
    {
        KernelRequirements.RequireBpf();
        var result = V.Verify(SetThenChain(4096, 4000));
        Assert.True(result.Ok, result.Error?.ToString());
        output.WriteLine(AssertBounded(result.Program!, "a set of 4,096 ranges, then 4,000 instructions"));
    }

    /// <summary>
    /// A program of <paramref name="length"/> random instructions over all sixteen registers: ALU of both forms,
    /// loads, compares, far and near forward jumps (every pc reachable: each conditional falls through on one
    /// side), sets of up to 2,000 ranges and strings of up to 4,096 bytes.
    /// </summary>
    internal static ProgramImage RandomLarge(int seed, int length)
    {
        var rng = new Random(seed);
        ValueSet[] sets =
        [
            new(false, [new(0, 0), new(5, 9)]),
            new(true, Enumerable.Range(-100, 200).Select(i => new ValueRange(unchecked((ulong)(i * 50L)), unchecked((ulong)(i * 50L + 9))))),
            new(false, Enumerable.Range(0, 2000).Select(i => new ValueRange((ulong)i * 3, (ulong)i * 3))),
        ];
        byte[][] strings = ["/tmp/"u8.ToArray(), [.. Enumerable.Range(0, 100).Select(i => (byte)('a' + i % 26))], [.. Enumerable.Repeat((byte)'x', 4096)]];
        var fields = RecordLayout.Scalars.Where(f => KernelSupport.GatheredFields.Contains(f.Name)).ToArray(); // the kernel refuses the rest (FLT5007)
        var code = new List<Instruction>();
        for (int r = 0; r < 16; r++) code.Add(Load(r));
        while (code.Count < length - 1)
        {
            int pc = code.Count;
            ushort jt = (ushort)(rng.Next(4) == 0 ? rng.Next(0, length - 1 - pc) : rng.Next(0, Math.Min(8, length - 1 - pc)));
            byte a = (byte)rng.Next(16), b = (byte)rng.Next(16);
            ulong k = rng.Next(3) switch { 0 => (ulong)rng.Next(64), 1 => (ulong)rng.NextInt64(), _ => (ulong)rng.Next(-1000, 1000) };
            int kind = rng.Next(100);
            code.Add(kind switch
            {
                < 15 => new(Pick(OpCode.MovK, OpCode.AddK, OpCode.SubK, OpCode.AndK, OpCode.OrK, OpCode.XorK, OpCode.LshK, OpCode.RshK, OpCode.ArshK), a, 0, 0, 0, k),
                < 30 => new(Pick(OpCode.MovX, OpCode.AddX, OpCode.SubX, OpCode.AndX, OpCode.OrX, OpCode.XorX, OpCode.LshX, OpCode.RshX, OpCode.ArshX), a, b, 0, 0, 0),
                < 33 => new(Pick(OpCode.Neg, OpCode.Not), a, 0, 0, 0, 0),
                < 40 => Load(a),
                < 62 => new(Pick(OpCode.JeqK, OpCode.JgtK, OpCode.JgeK, OpCode.JsgtK, OpCode.JsgeK, OpCode.JsetK), a, 0, jt, 0, k),
                < 80 => new(Pick(OpCode.JeqX, OpCode.JgtX, OpCode.JgeX, OpCode.JsgtX, OpCode.JsgeX, OpCode.JsetX), a, b, jt, 0, 0),
                < 92 => new(OpCode.Jin, a, 0, jt, 0, (ulong)(rng.Next(20) == 0 ? 2 : rng.Next(2))),
                < 99 => new(Pick(OpCode.JstrEq, OpCode.JstrPrefix), (byte)(rng.Next(2) == 0 ? RecordLayout.CommDescriptor : RecordLayout.ExeDescriptor), 0, jt, 0,
                    (ulong)(rng.Next(30) == 0 ? 2 : rng.Next(2))),
                _ => new(OpCode.Ja, 0, 0, 0, 0, 0),
            });
        }
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
        return new ProgramImage(code, sets, strings, ["k"]);

        OpCode Pick(params OpCode[] ops) => ops[rng.Next(ops.Length)];
        Instruction Load(int register)
        {
            var field = fields[rng.Next(fields.Length)];
            return new(field.Size switch { 1 => OpCode.Ldb, 4 => OpCode.Ldw, _ => OpCode.Lddw }, (byte)register, 0, 0, 0, (ulong)field.Offset);
        }
    }

    [SkippableFact]
    public void JoinsOfDifferentConstantsVerifyInBoundedWork()
    {
        KernelRequirements.RequireBpf();
        output.WriteLine(AssertBounded(V.Verify(Joins(15)).Program!, "15 joins"));
    }

    /// <summary>Random programs of the most instructions (FILTER_KERNEL_LARGE of them: 4, 40 in the long mode), seeded as the other random kernel tests are.</summary>
    [SkippableFact]
    public void LargeRandomProgramsVerifyInBoundedWork()
    {
        KernelRequirements.RequireBpf();
        int loaded = 0;
        var seeds = KernelRandom.Sample(Gen.Choose(0, int.MaxValue), KernelRandom.Count("FILTER_KERNEL_LARGE", 4, 40), salt: 7);
        foreach (int seed in seeds)
        {
            var result = V.Verify(RandomLarge(seed, 4096));
            Assert.True(result.Ok, result.Error?.Message);
            if (LimitPassed(result.Program!) is { } limit)
            {
                // Past a limit spec/limits.md states (too many branches on one path, now and then): refused before loading.
                output.WriteLine($"random, 4096 instructions, seed {seed}: {limit.Message}");
                continue;
            }
            output.WriteLine(AssertBounded(result.Program!, $"random, 4096 instructions, seed {seed}"));
            loaded++;
        }
        Assert.True(loaded >= seeds.Length / 2, $"only {loaded} of {seeds.Length} loaded");
    }

    /// <summary>A policy of 250 rules over as many system calls: the live exit program tests the number first, then the arch.</summary>
    private static string RulesOverManySyscalls()
    {
        var names = Syscalls.ForArch(AuditArch.X86_64).Where(s => s.Name is not ("exit" or "exit_group")).Take(250).Select(s => s.Name).ToArray();
        return string.Join('\n', names.Select((name, i) => $"always \"r{i}\": syscall == {name} && uid == {1000 + i}"));
    }

    /// <summary>The live programs (the record gathered at sys_exit, then the filter) verify in the same bound.</summary>
    [SkippableFact]
    public void TheLiveProgramsVerifyInBoundedWork()
    {
        KernelRequirements.RequireBpfTracing();
        var programs = new (string What, VerifiedProgram Program)[]
        {
            ("1,000 rules (mixed)", TestPrograms.CompileAndVerify(KernelScaleTests.ThousandRules("mixed"))),
            ("250 rules over 250 syscalls", TestPrograms.CompileAndVerify(RulesOverManySyscalls())),
            ("15 joins", V.Verify(Joins(15)).Program!),
            ("random, 4096 instructions", V.Verify(RandomLarge(1, 4096)).Program!),
        };
        foreach (var (what, program) in programs)
        {
            var started = KernelTrace.Start(program);
            Assert.True(started.Ok, $"{what}: {started.Error?.Message}");
            using var trace = started.Value;
            foreach (var (name, length, verified) in trace.VerifierWork)
            {
                output.WriteLine($"{what}: {name}: {length:N0} eBPF, verifier processed {verified:N0} ({(double)verified / length:F2} per instruction)");
                // The exe walk at exec is the same for every filter (its 48 levels branch: about 100,000, once).
                if (name != "filter_exit") continue;
                Assert.True(verified <= Bound(length), $"{what}: {name}: the kernel's verifier processed {verified:N0} instructions for {length:N0}; the bound is {Bound(length):N0}");
            }
        }
    }

    [SkippableTheory]
    [InlineData("uid", true), InlineData("uid", false), InlineData("mixed", true), InlineData("mixed", false)]
    public void AThousandRulePolicyVerifiesInBoundedWork(string kind, bool dispatch)
    {
        KernelRequirements.RequireBpf();
        var c = FilterCompiler.Compile(KernelScaleTests.ThousandRules(kind), new CompilerOptions { SyscallDispatch = dispatch });
        Assert.True(c.Success, c.RenderDiagnostics("policy"));
        output.WriteLine(AssertBounded(TestPrograms.Verify(c.Image!), $"1,000 rules ({kind}{(dispatch ? ", dispatch" : "")})"));
    }
}
