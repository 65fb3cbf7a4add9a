using Filter.Compiler;
using Filter.Kernel.Translate;
using Filter.Testing;
using Filter.Tests.Engines;
using Filter.Tests.Kernel;
using Xunit;

namespace Filter.Tests.Policy;

/// <summary>
/// Policies of 1,000 and 10,000 auditctl-like rules (<see cref="LargePolicies"/>) compile, verify and give the
/// reference evaluator's verdict in every engine; the per-syscall dispatch keeps the longest path to what one
/// syscall's rules need, far below the rule count; and the kernel back end translates them or refuses them
/// with its limit. (Their compile and verify time is a benchmark, bench/PolicyBenchmarks.cs.)
/// </summary>
public class LargePolicyTests
{
    [Theory]
    [InlineData(1_000)]
    [InlineData(10_000)]
    public void ManyRulesCompileVerifyAndDecideAsTheReference(int rules)
    {
        var text = LargePolicies.Generate(rules);
        var compiled = FilterCompiler.Compile(text);
        Assert.True(compiled.Success, compiled.RenderDiagnostics());
        var program = TestPrograms.Verify(compiled.Image!);
        Assert.InRange(program.InstructionCount, rules, InstructionSet.MaxInstructions);
        // A record runs its syscall's rules, not all of them (x86_64 has about 370 syscalls).
        Assert.True(program.MaxPathLength < rules / 10 + 60, $"longest path {program.MaxPathLength} for {rules} rules");

        var records = Records(text, 3000);
        var engines = FilterEngines.All.Select(e => (Engine: e, Run: PolicyEngines.Verdicts(e, compiled))).ToList();
        int matched = 0;
        foreach (var record in records)
        {
            uint expected = (uint)ReferenceEvaluator.Evaluate(compiled.Policy!, new Record(record));
            if (expected != 0) matched++;
            foreach (var (engine, run) in engines) Assert.Equal(expected, run(record));
        }
        // The records exercise the rules, not only the fall-through.
        Assert.InRange(matched, records.Count / 20, records.Count - 1);
    }

    [Fact]
    public void WithoutTheDispatchEveryRuleIsTested()
    {
        // The contrast that makes the bound above mean something: the same policy tested rule by rule.
        var compiled = FilterCompiler.Compile(LargePolicies.Generate(1_000), new CompilerOptions { SyscallDispatch = false });
        Assert.True(compiled.Success, compiled.RenderDiagnostics());
        Assert.True(TestPrograms.Verify(compiled.Image!).MaxPathLength > 2_000);
    }

    [Fact]
    public void TheKernelBackEndTranslatesTenThousandRulesOrNamesItsLimit()
    {
        var compiled = FilterCompiler.Compile(LargePolicies.Generate(10_000));
        Assert.True(compiled.Success, compiled.RenderDiagnostics());
        var error = KernelLimitTests.Check(compiled.Image!);
        if (error is not null) Assert.Equal(Filter.Kernel.Sys.KernelErrorKind.Limit, error.Kind);
    }

    /// <summary>x86_64 records (1 in 8 another arch) of the policy's syscalls and of others, with field values its tests look for.</summary>
    private static List<byte[]> Records(string policy, int count)
    {
        var random = new Random(7);
        var names = policy.Split(' ', '(', ')', ',').Where(Syscalls.IsKnown).Distinct().ToArray();
        uint[] arches = [AuditArch.X86_64, AuditArch.X86_64, AuditArch.X86_64, AuditArch.X86_64, AuditArch.X86_64, AuditArch.X86_64, AuditArch.I386, 0x1234];
        var builder = new RecordBuilder();
        var records = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            builder.Clear();
            uint arch = arches[random.Next(arches.Length)];
            builder.SetU32(RecordLayout.Arch, arch);
            uint syscall = Syscalls.TryGetNumber(arch, names[random.Next(names.Length)], out int n) && random.Next(8) != 0 ? (uint)n : (uint)random.Next(500);
            builder.SetU32(RecordLayout.Syscall, syscall);
            foreach (var field in new[] { "uid", "gid", "auid" })
                builder.SetU32(RecordLayout.ScalarNamed(field)!.Offset, (uint)random.Next(2000));
            builder.SetU32(RecordLayout.ScalarNamed("euid")!.Offset, (uint)random.Next(3));
            builder.SetU64(RecordLayout.A0, (ulong)random.Next(2000));
            builder.SetU64(RecordLayout.A0 + 8, 1UL << random.Next(24));
            builder.SetExit(random.Next(4) switch { 0 => -13, 1 => -1, _ => random.Next(100) });
            builder.SetSuccess(random.Next(2) == 0);
            builder.SetExe($"/usr/bin/prog{random.Next(2000)}");
            builder.SetComm($"tool{random.Next(2000)}");
            records.Add(builder.ToArray());
        }
        return records;
    }
}
