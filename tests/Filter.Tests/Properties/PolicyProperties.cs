using System.Buffers.Binary;
using Filter.Compiler;
using Filter.Compiler.Analysis;
using Filter.Compiler.Tables;
using Filter.Tests.Engines;
using Filter.Tests.Policy;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Properties;

/// <summary>
/// Random policies: every engine gives the reference evaluator's verdict with and without the shared
/// dispatch, every program verifies, and the syscall analysis is sound (and exact on simple conditions).
/// </summary>
public class PolicyProperties
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    private static Config Config(int normal) => FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Iterations(normal));

    private static readonly uint[] Arches = [.. AuditArch.All.Select(a => a.Value), 0];

    /// <summary>Syscall numbers to enumerate: every table number and a few past the largest, plus far-away ones.</summary>
    private static readonly uint[] Numbers =
        [.. Enumerable.Range(0, AuditArch.All.Max(a => Syscalls.ForArch(a.Value)[^1].Number) + 5).Select(n => (uint)n), 1000, 65536, uint.MaxValue];

    [Fact]
    public void EveryEngineGivesTheReferenceVerdictWithAndWithoutTheDispatch()
    {
        var cases = Gen.Zip(PolicyGen.Policy, FilterGen.Record.ArrayOf(24)).ToArbitrary();
        Check.One(Config(250), Prop.ForAll(cases, c =>
        {
            var (text, records) = c;
            var withDispatch = FilterCompiler.Compile(text);
            var without = FilterCompiler.Compile(text, new CompilerOptions { SyscallDispatch = false });
            Assert.True(withDispatch.Success, $"'{text}' failed to compile:\n{withDispatch.RenderDiagnostics()}");
            Assert.True(without.Success, without.RenderDiagnostics());
            var reachable = SyscallAnalysis.For(withDispatch.Policy!);
            // Keys and verdicts survive the text form too.
            var (again, error) = Assembler.Assemble(Disassembler.Disassemble(withDispatch.Image!));
            Assert.Null(error);
            Assert.Equal(withDispatch.Image!.Encode(), again!.Encode());
            foreach (var compilation in new[] { withDispatch, without })
            {
                foreach (var engine in FilterEngines.All)
                {
                    var run = PolicyEngines.Verdicts(engine, compilation);
                    foreach (var record in records)
                    {
                        var r = new Record(record);
                        uint expected = (uint)ReferenceEvaluator.Evaluate(withDispatch.Policy!, r);
                        Assert.True(expected == run(record), $"{engine} gives {run(record)}, the reference {expected}, on\n{text}\n{Disassembler.Disassemble(compilation.Image!)}");
                        if (expected != 0)
                            Assert.True(reachable.ForArch(r.Arch).Contains(r.Syscall), $"verdict {expected} for syscall {r.Syscall} outside the analysis' set {reachable} of\n{text}");
                    }
                }
            }
        }));
    }

    [Fact]
    public void SyscallAnalysisIsSound()
    {
        var cases = Gen.Zip(FilterGen.Filter(5), FilterGen.Record.ArrayOf(6)).ToArbitrary();
        Check.One(Config(60), Prop.ForAll(cases, c =>
        {
            var (filter, records) = c;
            var condition = TestPrograms.Compile(filter).Bound!;
            var sets = SyscallAnalysis.For(condition);
            foreach (var bytes in records)
            {
                var record = (byte[])bytes.Clone();
                foreach (uint arch in Arches)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Arch), arch);
                    var set = sets.ForArch(arch);
                    foreach (uint n in Numbers)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Syscall), n);
                        if (ReferenceEvaluator.Evaluate(condition, new Record(record)))
                            Assert.True(set.Contains(n), $"'{filter}' holds for arch {arch:x} syscall {n}, missing from {set}");
                    }
                }
            }
        }));
    }

    [Fact]
    public void SyscallAnalysisIsExactOnSimpleConditions()
    {
        Check.One(Config(150), Prop.ForAll(PolicyGen.Simple(3).ToArbitrary(), filter =>
        {
            var condition = TestPrograms.Compile(filter).Bound!;
            var sets = SyscallAnalysis.For(condition);
            foreach (uint arch in Arches)
            {
                var set = sets.ForArch(arch);
                // Each number of an interval the analysis found is decided the same way, so its ends and
                // a middle number stand for all (and keep the check quick).
                var probes = set.Ranges.SelectMany(r => new[] { r.Lo, r.Lo + (r.Hi - r.Lo) / 2, r.Hi }).Distinct()
                    .Select(n => (uint)n).Where(n => n <= Numbers[^4] || Numbers.Contains(n));
                foreach (uint n in probes)
                {
                    var witness = SyscallAnalysis.FindWitness(condition, arch, n);
                    Assert.True(witness is not null, $"'{filter}': syscall {n} of arch {arch:x} is in {set} but has no witness");
                    var r = new Record(witness);
                    Assert.True(r.Syscall == n && (arch == 0 ? AuditArch.NameOf(r.Arch) is null : r.Arch == arch), "witness of the wrong arch or syscall");
                    Assert.True(ReferenceEvaluator.Evaluate(condition, r), $"'{filter}': witness does not match");
                }
            }
        }));
    }

    [Fact]
    public void BitTestsAndRangesOnOneFieldAreDecidedExactly()
    {
        // Found by SyscallAnalysisIsExactOnSimpleConditions: `uid & 262144 != 0` beside `uid in (324..351, 7)`
        // was "unknown" (so counted as possible) instead of impossible. Every combination of a required bit, a
        // forbidden bit and a range is now decided, checked against every value of the range.
        var random = new Random(20261127);
        for (int c = 0; c < 400; c++)
        {
            int set = random.Next(13), clear = random.Next(13), lo = random.Next(4096), hi = lo + random.Next(600);
            string filter = $"uid & {1 << set} != 0 && uid & {1 << clear} == 0 && uid in ({lo}..{hi}, 7)";
            bool possible = Enumerable.Range(lo, hi - lo + 1).Append(7)
                .Any(v => (v & (1 << set)) != 0 && (v & (1 << clear)) == 0);
            var condition = TestPrograms.Compile(filter).Bound!;
            Assert.True(possible == !SyscallAnalysis.For(condition).ForArch(AuditArch.X86_64).IsEmpty, filter);
            var witness = SyscallAnalysis.FindWitness(condition, AuditArch.X86_64, 0);
            Assert.True(possible == witness is not null, filter);
            if (witness is not null) Assert.True(ReferenceEvaluator.Evaluate(condition, new Record(witness)), filter);
        }
        var found = TestPrograms.Compile("((uid & 262144 != 0 || (type == signal && syscall in (kill, kill, execve))) && uid in (324..351, 7))").Bound!;
        Assert.Null(SyscallAnalysis.FindWitness(found, AuditArch.X86_64, 0));
    }
}
