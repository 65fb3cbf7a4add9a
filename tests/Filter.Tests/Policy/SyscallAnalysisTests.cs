using Filter.Compiler.Analysis;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Policy;

/// <summary>Hand-checked syscall sets (the random checks are in Properties/PolicyProperties).</summary>
public class SyscallAnalysisTests
{
    private static SyscallSets Of(string filter) => SyscallAnalysis.For(TestPrograms.Compile(filter).Bound!);

    private static SyscallSets OfPolicy(string policy) => SyscallAnalysis.For(TestPrograms.Compile(policy).Policy!);

    [Theory]
    // x86_64; i386; aarch64; other arches
    [InlineData("syscall == execve", "59", "11", "221", "none")]
    [InlineData("syscall in (fork, 400)", "57, 400", "2, 400", "400", "400")]
    [InlineData("uid == 0", "all", "all", "all", "all")]
    [InlineData("syscall != execve", "0..58, 60..4294967295", "0..10, 12..4294967295", "0..220, 222..4294967295", "all")]
    [InlineData("syscall > 400 && syscall <= 410", "401..410", "401..410", "401..410", "401..410")]
    [InlineData("arch == i386 && syscall in (3..5)", "none", "3..5", "none", "none")]
    [InlineData("arch == 7 || syscall == 2", "2", "2", "2", "all")]
    // The rest of the condition is impossible (uid is 32 bits; a range and its complement; contradicting strings).
    [InlineData("syscall == execve && uid == -1", "none", "none", "none", "none")]
    [InlineData("syscall == execve && auid >= 1000 && auid < 1000", "none", "none", "none", "none")]
    [InlineData("syscall == execve && comm == \"sh\" && comm startswith \"b\"", "none", "none", "none", "none")]
    [InlineData("syscall == execve && a2 & 0x40 != 0 && a2 & 0x40 == 0", "none", "none", "none", "none")]
    [InlineData("(syscall == execve && uid == 0) || (syscall == openat && uid == 0 && uid != 0)", "59", "11", "221", "none")]
    [InlineData("!(syscall == execve || uid != 0)", "0..58, 60..4294967295", "0..10, 12..4294967295", "0..220, 222..4294967295", "all")]
    // Beyond its reasoning (two fields compared): over-approximated, never under.
    [InlineData("syscall == execve && uid == euid && uid != euid", "59", "11", "221", "none")]
    public void ConditionSets(string filter, string x86, string i386, string aarch64, string other)
    {
        var sets = Of(filter);
        Assert.Equal((x86, i386, aarch64, other),
            (sets.ForArch(AuditArch.X86_64).ToString(), sets.ForArch(AuditArch.I386).ToString(), sets.ForArch(AuditArch.Aarch64).ToString(), sets.OtherArch.ToString()));
    }

    [Fact]
    public void PolicySetLeavesOutWhatEarlierNeverRulesTake()
    {
        var sets = OfPolicy("never: syscall == kill\nalways \"k\": syscall in (kill, execve)\nnever: syscall == execve\nalways: syscall == openat && uid == 0\n");
        Assert.Equal("59, 257", sets.ForArch(AuditArch.X86_64).ToString());
        Assert.Equal(["execve", "openat"], sets.ForArch(AuditArch.X86_64).Names(AuditArch.X86_64));
        Assert.True(OfPolicy("never: uid == 0\nalways: uid == 0\n").IsEmpty);
        Assert.True(OfPolicy("never: uid == 0\nalways: true\n").IsUnconstrained);
    }

    [Fact]
    public void DecidingRuleSetsAccountForEveryEarlierRule()
    {
        var policy = TestPrograms.Compile("always \"a\": syscall in (execve, kill)\nalways \"b\": syscall in (execve, openat)\nalways \"c\": syscall == execve\n").Policy!;
        Assert.Equal(["59, 62", "257", "none"], Enumerable.Range(0, 3).Select(i => SyscallAnalysis.Deciding(policy, i).ForArch(AuditArch.X86_64).ToString()));
    }

    [Fact]
    public void WitnessesAreRecordsTheConditionHoldsOn()
    {
        var condition = TestPrograms.Compile("syscall == execve && uid in (1000..1999) && exe startswith \"/tmp/\" && exit < 0 && a2 & O_CREAT != 0").Bound!;
        var witness = SyscallAnalysis.FindWitness(condition, AuditArch.Aarch64, 221);
        Assert.NotNull(witness);
        var r = new Record(witness);
        Assert.Equal((AuditArch.Aarch64, 221u), (r.Arch, r.Syscall));
        Assert.True(ReferenceEvaluator.Evaluate(condition, r));
        Assert.Null(SyscallAnalysis.FindWitness(condition, AuditArch.X86_64, 221));
    }

    [Fact]
    public void ManyRulesAnalyse()
    {
        // 200 rules sharing macros: the analysis runs on every compile of a policy. How fast is a benchmark's
        // question (bench/), not a test's: a time limit here would fail on a busy machine.
        var text = "macro root = uid == 0 || euid == 0\nlist calls = (execve, execveat, fork, vfork, clone, ptrace, kill)\n"
            + string.Concat(Enumerable.Range(0, 200).Select(i =>
                i % 5 == 0 ? $"never: syscall == {400 + i} && root\n" : $"always \"r{i}\": syscall in calls && uid == {i} && !root\n"));
        var c = TestPrograms.Compile(text);
        TestPrograms.Verify(c.Image!);
        Assert.Equal(200, c.Policy!.Rules.Count);
        Assert.True(SyscallAnalysis.For(c.Policy).ForArch(AuditArch.X86_64).Contains(59), "execve is in the calls list");
    }
}
