using System.Text;
using Filter.Compiler;
using Filter.Compiler.Syntax;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Policy;

/// <summary>Policies through the compiler: bound rules and keys, the shape of the code, and filterc run --keys.</summary>
public class PolicyCompilerTests
{
    private const string ThreeRules =
        "never: syscall in (gettimeofday, clock_gettime)\n" +
        "always \"exec\": syscall == execve && uid == 0\n" +
        "always \"lifecycle\": syscall in (fork, vfork, clone, execve, exit_group) && uid in (0, 1000..1999)\n";

    [Fact]
    public void RulesKeysAndVerdictsAreBoundInOrder()
    {
        var c = TestPrograms.Compile(ThreeRules + "always: true\n");
        var rules = c.Policy!.Rules;
        Assert.Equal([RuleAction.Never, RuleAction.Always, RuleAction.Always, RuleAction.Always], rules.Select(r => r.Kind));
        Assert.Equal([null, "exec", "lifecycle", ""], rules.Select(r => r.Key));
        Assert.Equal([0, 1, 2, 3], rules.Select(r => r.Verdict));
        Assert.Equal(["exec", "lifecycle", ""], c.Keys);
        Assert.Equal(c.Keys, c.Image!.Keys);
        Assert.Equal((null, "exec", "", null), (c.KeyOf(0), c.KeyOf(1), c.KeyOf(3), c.KeyOf(4)));
        Assert.Equal(1, rules[1].Span.Start - ThreeRules.IndexOf("always \"exec\"", StringComparison.Ordinal) + 1);
    }

    [Theory]
    [InlineData("syscall in (execve, fork, clone) && uid != 0")]
    [InlineData("uid == 0 || exe startswith \"/tmp/\"")]
    [InlineData("syscall == openat && exit == -EACCES")]
    public void ASingleExpressionIsOneAnonymousRuleAndCompilesWithoutDispatch(string filter)
    {
        var c = TestPrograms.Compile(filter);
        var rule = Assert.Single(c.Policy!.Rules);
        Assert.Equal((RuleAction.Always, "", 1), (rule.Kind, rule.Key, rule.Verdict));
        Assert.Same(rule.Condition, c.Bound);
        var without = FilterCompiler.Compile(filter, new CompilerOptions { SyscallDispatch = false });
        Assert.Equal(without.Image!.Encode(), c.Image!.Encode());
        // The same filter written as a policy with definitions compiles to the same program.
        var withDefinitions = TestPrograms.Compile("list unused = (1)\nmacro also_unused = uid == 1\n" + filter);
        Assert.Equal(c.Image.Encode(), withDefinitions.Image!.Encode());
    }

    /// <summary>The one golden disassembly of a policy: the dispatch first, then the rules specialised to it.</summary>
    [Fact]
    public void ThreeRulePolicyDispatchesOnceThenSkipsDecidedTests()
    {
        var c = TestPrograms.Compile(ThreeRules);
        TestPrograms.Verify(c.Image!);
        Assert.Equal("""
            ; 31 instructions, 4 sets, 0 strings, 2 verdicts
            .verdict 1 "exec"
            .verdict 2 "lifecycle"
            .set 0 unsigned 0, 1000..1999
            .set 1 unsigned 94, 220..221
            .set 2 unsigned 2, 11, 120, 190, 252
            .set 3 unsigned 56..59, 231
            (000) ldw     r0, [arch]
            (001) jeq     r0, #0xc000003e           jt 2    jf 4
            (002) ldw     r0, [syscall]
            (003) jin     r0, set3                  jt 12   jf 30
            (004) ldw     r0, [arch]
            (005) jeq     r0, #0x40000003           jt 6    jf 8
            (006) ldw     r0, [syscall]
            (007) jin     r0, set2                  jt 12   jf 30
            (008) ldw     r0, [arch]
            (009) jeq     r0, #0xc00000b7           jt 10   jf 30
            (010) ldw     r0, [syscall]
            (011) jin     r0, set1                  jt 12   jf 30
            (012) ldw     r0, [arch]
            (013) jeq     r0, #0xc000003e           jt 14   jf 16
            (014) ldw     r0, [syscall]
            (015) jeq     r0, #59                   jt 24   jf 26
            (016) ldw     r0, [arch]
            (017) jeq     r0, #0x40000003           jt 18   jf 20
            (018) ldw     r0, [syscall]
            (019) jeq     r0, #11                   jt 24   jf 26
            (020) ldw     r0, [arch]
            (021) jeq     r0, #0xc00000b7           jt 22   jf 26
            (022) ldw     r0, [syscall]
            (023) jeq     r0, #221                  jt 24   jf 26
            (024) ldw     r0, [uid]
            (025) jeq     r0, #0                    jt 28   jf 26
            (026) ldw     r0, [uid]
            (027) jin     r0, set0                  jt 29   jf 30
            (028) ret     #1
            (029) ret     #2
            (030) ret     #0

            """.Replace("\r\n", "\n"), Disassembler.Disassemble(c.Image!));
    }

    [Fact]
    public void ARecordOfAnotherSyscallIsDecidedByTheDispatchAlone()
    {
        var program = TestPrograms.CompileAndVerify(ThreeRules);
        var without = TestPrograms.Verify(FilterCompiler.Compile(ThreeRules, new CompilerOptions { SyscallDispatch = false }).Image!);
        var b = new RecordBuilder();
        b.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        b.SetU32(RecordLayout.Syscall, 0); // read: no rule can match it
        Assert.Equal(0u, Interpreter.Run(program, new Record(b.Build())));
        Assert.True(program.MaxPathLength <= without.MaxPathLength + 4, $"{program.MaxPathLength} vs {without.MaxPathLength}");
    }

    [Fact]
    public void NoAlwaysRuleCompilesToRetZero()
    {
        var c = TestPrograms.Compile("never: uid == 0\nnever: syscall == execve");
        Assert.Equal([new Instruction(OpCode.Ret, 0, 0, 0, 0, 0)], c.Image!.Code);
        Assert.Empty(c.Image.Keys);
        TestPrograms.Verify(c.Image);
    }

    [Fact]
    public void AMacroUsedTwiceIsOneSharedSubtree()
    {
        var c = TestPrograms.Compile("macro root = uid == 0 || euid == 0\nalways \"a\": root && syscall == execve\nalways \"b\": root");
        var first = Assert.IsType<Filter.Compiler.Binding.BoundLogical>(c.Policy!.Rules[0].Condition);
        Assert.Same(first.Operands[0], c.Policy.Rules[1].Condition);
    }

    [Fact]
    public void SeveralIndependentErrorsAreReportedOnceEach()
    {
        var c = FilterCompiler.Compile("list l = (forkk)\nalways: syscall in l\nalways: syscall in l || usr == 0");
        Assert.Equal(["FLT0103", "FLT0102"], c.Diagnostics.Select(d => d.CodeText));
        Assert.Equal("filter:1:11: error FLT0103: unknown syscall 'forkk' (did you mean 'fork'?)\n  list l = (forkk)\n            ^~~~~",
            c.Diagnostics[0].Render(c.Source));
    }

    [Fact]
    public void MoreAlwaysRulesThanVerdictsIsAnError()
    {
        var c = FilterCompiler.Compile(string.Concat(Enumerable.Repeat("always: false\n", ProgramLimits.MaxVerdicts + 1)));
        var d = Assert.Single(c.Diagnostics);
        Assert.Equal(("FLT0301", "65536:1"), (d.CodeText, $"{Diagnostic.LineColumn(c.Source, d.Span.Start).Line}:{Diagnostic.LineColumn(c.Source, d.Span.Start).Column}"));
        Assert.Equal("the policy has 65536 always rules; a program has at most 65535 verdicts", d.Message);
    }

    [Fact]
    public void MatchConditionDepthGrowsWithAlternationsNotRules()
    {
        var c = TestPrograms.Compile(string.Concat(Enumerable.Range(0, 300).Select(i => $"always: uid == {i}\n")) + "never: euid == 0\nalways: gid == 0");
        var top = Assert.IsType<Filter.Compiler.Binding.BoundLogical>(c.Bound);
        Assert.Equal(301, top.Operands.Count);
    }

    // ---- filterc run --keys ----

    private static (int Code, string Out, string Err) Run(string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Fact]
    public void RunKeysPrintsLineNumberAndKeyForJsonLines()
    {
        const string records =
            "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":0}\n" +
            "{\"arch\":\"x86_64\",\"syscall\":96,\"uid\":0}\n" +
            "{\"arch\":\"i386\",\"syscall\":2,\"uid\":1500}\n" +
            "{\"arch\":\"x86_64\",\"syscall\":0,\"uid\":0}\n";
        var (code, output, err) = Run(records, "run", "--keys", "--filter", ThreeRules);
        Assert.Equal((0, ""), (code, err));
        Assert.Equal("1\texec\n3\tlifecycle\n", output);
        Assert.Equal("1\t\n", Run(records, "run", "--keys", "--filter", "syscall == execve").Out);
        Assert.Equal(2, Run(records, "run", "--keys", "--count", "--filter", "true").Code);
    }

    [Fact]
    public void RunKeysPrintsEventSerialsForAuditdLogs()
    {
        string log = File.ReadAllText(TestData.Path("samples", "audit.log"));
        var (code, output, _) = Run(log, "run", "--format", "auditd", "--keys", "--filter",
            "never: syscall == connect && exit == -ECONNREFUSED\nalways \"connect\": syscall == connect\nalways \"exec\": syscall == execve");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Run(log, "run", "--format", "auditd", "--count", "--filter",
            "(syscall == connect && exit != -ECONNREFUSED) || syscall == execve").Out.Trim(), lines.Length.ToString());
        Assert.All(lines, l => Assert.Matches(@"^\d+\t(connect|exec)$", l));
        // Each serial is the event's: its SYSCALL line carries msg=audit(...:SERIAL).
        string first = lines[0].Split('\t')[0];
        Assert.Contains($":{first}): arch=", log);
    }
}
