using System.Buffers.Binary;
using Filter.Compiler;
using Filter.Tests.Engines;
using Filter.Tests.Policy;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Properties;

/// <summary>
/// Random policies made to have runs of per-syscall rules (spec/language.md, "How a policy runs"), rules that
/// name their syscalls and rules whose syscalls the analysis finds (perm, comparisons, disjunctions), among
/// rules that name no syscall, always and never alike: compiled with the dispatch
/// (jswitch) and without it, every engine gives the reference evaluator's verdict on every record.
/// </summary>
public class DispatchProperties
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    private static readonly string[] Names = ["read", "write", "openat", "execve", "fork", "clone", "exit_group", "connect", "kill", "ptrace", "socket", "bind"];

    private static Gen<string> SyscallTest =>
        Gen.Frequency(
            (4, Gen.Elements(Names).Select(n => $"syscall == {n}")),
            (3, Gen.Elements(Names).Two().Select(t => $"syscall in ({t.Item1}, {t.Item2})")),
            (1, Gen.Choose(0, 450).Select(lo => $"syscall in ({lo}..{lo + 40}, 1000)")),
            (1, Gen.Elements("syscall == 59", "syscall in (0, 1, 2, 3)", "syscall in calls")));

    /// <summary>Syscall tests of other forms, which the dispatch takes from the syscall analysis and decides per case.</summary>
    private static Gen<string> AnalysedTest =>
        Gen.Elements("syscall < 40", "syscall >= 300 && syscall <= 320", "(syscall == read || syscall == openat)", "perm == w",
            "perm in (r, x)", "perm == a", "arch == i386 && syscall < 100", "!(syscall != execve)", "syscall in (0..20) && syscall != 5",
            "arch == x86_64 && syscall < 2048 && perm in (w, a)", "(arch == i386 || syscall == 59) && syscall <= 60");

    private static Gen<string> Condition =>
        Gen.Frequency(
            (4, from s in AnalysedTest
                from rest in Gen.Frequency((3, FilterGen.Filter(2).Select(f => $" && ({f})")), (1, Gen.Constant("")),
                                           (1, Gen.Elements(" && arch == x86_64", " && syscall != read && uid < 1000", " && (a1 & 3) == 1")))
                select s + rest),
            (8, from s in SyscallTest
                from rest in Gen.Frequency((3, FilterGen.Filter(2).Select(f => $" && ({f})")), (1, Gen.Constant("")),
                                           (1, Gen.Elements(" && arch == x86_64", " && syscall != read && uid < 1000", " && (arch == i386 || a0 == 0)")))
                select s + rest),
            (1, from rest in FilterGen.Filter(2) from s in SyscallTest select $"({rest}) && {s}"),
            (2, FilterGen.Filter(3)));

    private static Gen<string> Rule =>
        from kind in Gen.Frequency((4, Gen.Constant("always \"k\"")), (1, Gen.Constant("always")), (2, Gen.Constant("never")))
        from condition in Condition
        select $"{kind}: {condition}";

    private static Gen<string> Policy =>
        Gen.Choose(4, 16).SelectMany(n => Rule.ArrayOf(n)).Select(rules => string.Join("\n", rules.Prepend("list calls = (execve, fork, 60..70)")));

    /// <summary>Records whose arch and syscall are mostly ones the policies name.</summary>
    private static Gen<byte[]> Record =>
        from bytes in FilterGen.Record
        from arch in Gen.Elements(AuditArch.X86_64, AuditArch.X86_64, AuditArch.I386, AuditArch.Aarch64, 0u)
        from name in Gen.Elements(Names)
        from kind in Gen.Choose(0, 6)
        from number in Gen.Choose(0, 460)
        select WithSyscall(bytes, arch, name, kind, (uint)number);

    private static byte[] WithSyscall(byte[] bytes, uint arch, string name, int kind, uint number)
    {
        if (kind == 0) return bytes;
        var record = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Arch), arch);
        uint syscall = kind == 1 ? 59u : kind == 2 ? 65u : kind == 3 ? number : Syscalls.TryGetNumber(arch, name, out int n) ? (uint)n : 3u;
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Syscall), syscall);
        return record;
    }

    [Fact]
    public void EveryEngineGivesTheReferenceVerdictWithAndWithoutJswitch()
    {
        int dispatched = 0, cases = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(200)), Prop.ForAll(Gen.Zip(Policy, Record.ArrayOf(32)).ToArbitrary(), c =>
        {
            var (text, records) = c;
            var with = FilterCompiler.Compile(text);
            var without = FilterCompiler.Compile(text, new CompilerOptions { SyscallDispatch = false });
            Assert.True(with.Success, $"'{text}' failed to compile:\n{with.RenderDiagnostics()}");
            Assert.True(without.Success, without.RenderDiagnostics());
            cases++;
            if (with.Image!.Code.Any(i => i.Op == OpCode.Jswitch)) dispatched++;
            foreach (var compilation in new[] { with, without })
                foreach (var engine in FilterEngines.All)
                {
                    var run = PolicyEngines.Verdicts(engine, compilation);
                    foreach (var record in records)
                    {
                        uint expected = (uint)ReferenceEvaluator.Evaluate(with.Policy!, new Record(record));
                        Assert.True(expected == run(record), $"{engine} gives {run(record)}, the reference {expected}, on\n{text}\n{Disassembler.Disassemble(compilation.Image!)}");
                    }
                }
        }));
        // The generator is worth its name only if many policies do dispatch (a never or a general rule breaks a run).
        Assert.True(dispatched * 3 > cases, $"{dispatched} of {cases} policies compiled to a jswitch");
    }
}
