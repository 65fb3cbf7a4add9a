using Filter.Compiler.Import;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Import;

/// <summary>The importer, construct by construct (spec/auditctl.md, "Importing"); every output must compile.</summary>
public class AuditctlImporterTests
{
    internal static readonly ImportOptions Options = new()
    {
        HostArch = AuditArch.X86_64,
        ResolvePath = AuditctlWatchImportTests.Host,
        ResolveUser = n => n switch { "root" => 0, "nobody" => 65534, _ => null },
        ResolveGroup = n => n == "adm" ? 4 : null,
        ResolveExe = ExeResolvers.FromMap(new Dictionary<string, string>
        {
            ["/bin/cat"] = "/usr/bin/cat",
            ["/usr/bin/python3"] = "-",
            ["/usr/bin/python3.11"] = "/usr/bin/python3.11",
        }),
    };

    private static ImportResult Import(string text, ImportOptions? options = null)
    {
        var result = AuditctlImporter.Import(text, "t.rules", options ?? Options);
        if (!result.HasErrors(strict: false)) TestPrograms.Compile(result.Policy);
        return result;
    }

    /// <summary>The condition of the only imported rule.</summary>
    private static string Condition(string rule)
    {
        var result = Import(rule);
        Assert.False(result.HasErrors(false), string.Join("\n", result.Findings.Select(d => d.ToDiagnostic(false).Render())));
        return Assert.Single(result.Rules).Condition;
    }

    [Theory]
    [InlineData("-a always,exit -F arch=b64 -S openat -F auid>=1000 -F auid!=unset", "arch == x86_64 && syscall == openat && auid >= 1000 && auid != 4294967295")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F auid!=-1", "arch == x86_64 && syscall == openat && auid != 4294967295")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F loginuid=0", "arch == x86_64 && syscall == openat && auid == 0")]
    [InlineData("-a always,exit -F arch=b32 -S openat,open_by_handle_at", "arch == i386 && syscall in (openat, open_by_handle_at)")]
    [InlineData("-a always,exit -F arch=i686 -S openat", "arch == i386 && syscall == openat")]
    [InlineData("-a always,exit -F arch=x86_64 -S exit -S exit_group", "arch == x86_64 && syscall in (__NR_exit, exit_group)")]
    [InlineData("-a always,exit -S openat,open", "syscall in (2, 257)")]
    [InlineData("-a always,exit -S 59", "syscall == 59")]
    [InlineData("-a always,exit -S read,write,open,close", "syscall in (0..3)")]
    [InlineData("-a always,exit -F arch=b64 -S 59", "arch == x86_64 && syscall == 59")]
    [InlineData("-a always,exit -F arch=b64 -S all", "arch == x86_64 && syscall < 2048")]
    [InlineData("-a always,exit -F uid=0", "syscall < 2048 && uid == 0")]
    [InlineData("-a always,exit -F arch!=b32 -S openat", "arch != i386 && syscall == 295")]
    [InlineData("-a always,exit -S all -F success=0", "syscall < 2048 && (!success && exit != 0)")]
    [InlineData("-a always,exit -S all -F success=1", "syscall < 2048 && success")]
    [InlineData("-a always,exit -S all -F success!=1", "syscall < 2048 && (!success && exit != 0)")]
    [InlineData("-a always,exit -S all -F success>=0", "syscall < 2048 && (!success && exit != 0)")]
    [InlineData("-a always,exit -S all -F success<=0", "syscall < 2048 && (success || exit != 0)")]
    [InlineData("-a always,exit -S all -F success<=7", "syscall < 2048 && success")]
    [InlineData("-a always,exit -S all -F success<1", "syscall < 2048 && false")]
    [InlineData("-a always,exit -S all -F exit=-EACCES", "syscall < 2048 && (exit & 0xffffffff) == (-EACCES & 0xffffffff)")]
    [InlineData("-a always,exit -S all -F exit=-13", "syscall < 2048 && (exit & 0xffffffff) == (-13 & 0xffffffff)")]
    [InlineData("-a always,exit -S all -F exit=0", "syscall < 2048 && (success || exit != 0) && (exit & 0xffffffff) == 0")]
    [InlineData("-a always,exit -S all -F exit!=-9", "syscall < 2048 && (success || exit != 0) && (exit & 0xffffffff) != (-9 & 0xffffffff)")]
    [InlineData("-a always,exit -S all -F exit<=-1", "syscall < 2048 && (success || exit != 0) && (exit & 0xffffffff) <= (-1 & 0xffffffff)")]
    [InlineData("-a always,exit -S all -F exit>=0x80000000", "syscall < 2048 && (exit & 0xffffffff) >= 0x80000000")]
    [InlineData("-a always,exit -S all -F exit=EPERM", "syscall < 2048 && (exit & 0xffffffff) == EPERM")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F a2&0100", "arch == x86_64 && syscall == openat && a2 & 0x40 != 0")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F a2&=0x241", "arch == x86_64 && syscall == openat && (a2 & 0x241) == 0x241")]
    [InlineData("-a always,exit -F arch=b64 -S wait4 -F a0=-1", "arch == x86_64 && syscall == wait4 && (a0 & 0xffffffff) == 0xffffffff")]
    [InlineData("-a always,exit -F arch=b64 -S connect -F a2=16", "arch == x86_64 && syscall == connect && (a2 & 0xffffffff) == 16")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F a1>0x80000000", "arch == x86_64 && syscall == openat && (a1 & 0xffffffff) > 0x80000000")]
    [InlineData("-a always,exit -S all -C uid!=euid", "syscall < 2048 && uid != euid")]
    [InlineData("-a always,exit -S all -C auid=fsuid", "syscall < 2048 && auid == fsuid")]
    [InlineData("-a always,exit -S all -C egid!=sgid", "syscall < 2048 && egid != sgid")]
    [InlineData("-a always,exit -S all -F exe=/bin/cat", "syscall < 2048 && exe == \"/usr/bin/cat\"")]
    [InlineData("-a always,exit -S all -F exe!=/usr/bin/python3.11", "syscall < 2048 && exe != \"/usr/bin/python3.11\"")]
    [InlineData("-a always,exit -S all -F exe=/usr/bin/python3", "syscall < 2048 && false")]
    [InlineData("-a always,exit -S all -F pid>20000 -F ppid=1 -F sessionid=unset", "syscall < 2048 && pid > 20000 && ppid == 1 && ses == 4294967295")]
    [InlineData("-a always,exit -S all -F sgid=3003 -F fsgid<10 -F suid=0x10", "syscall < 2048 && sgid == 3003 && fsgid < 10 && suid == 16")]
    [InlineData("-a always,exit -S all -F gid>1000", "syscall < 2048 && gid > 1000")]
    [InlineData("-Fuid=0 -a always,exit", "syscall < 2048 && uid == 0")]
    public void TranslatesEachConstruct(string rule, string condition)
    {
        if (rule.StartsWith("-Fuid", StringComparison.Ordinal))
        {
            // -F before -a: auditctl rejects it
            Assert.Contains(Import(rule).Findings, d => d.Kind == ImportIssue.Invalid);
            rule = "-a always,exit -Fuid=0";
        }
        Assert.Equal(condition, Condition(rule));
    }

    [Fact]
    public void KeysJoinWithTheKernelsSeparatorAndNoKeyIsTheEmptyKey()
    {
        var result = Import("""
            -a always,exit -F arch=b64 -S execve -k exec -F key=T1059 -k third
            -a always,exit -F arch=b64 -S openat
            -a never,exit -F arch=b64 -S close -k ignored-for-never
            """);
        Assert.Equal(["exec\x01T1059\x01third", "", ""], result.Rules.Select(r => r.Key));
        Assert.Contains("always \"exec\\x01T1059\\x01third\": ", result.Policy);
        Assert.Contains("\nalways: arch == x86_64 && syscall == openat\n", result.Policy);
        Assert.Contains("\nnever: arch == x86_64 && syscall == close\n", result.Policy);
        var compiled = TestPrograms.Compile(result.Policy);
        Assert.Equal(["exec\x01T1059\x01third", ""], compiled.Keys);
    }

    [Fact]
    public void PrependedRulesComeFirstInKernelOrder()
    {
        var result = Import("""
            -a always,exit -F arch=b64 -S openat -k one
            -A always,exit -F arch=b64 -S close -k two
            -a never,exit -F arch=b64 -S read
            -A exit,never -F arch=b64 -S write
            """);
        Assert.Equal([4, 2, 1, 3], result.Rules.Select(r => r.Line));
        int first = result.Policy.IndexOf("t.rules:4:", StringComparison.Ordinal), second = result.Policy.IndexOf("t.rules:2:", StringComparison.Ordinal);
        Assert.True(first > 0 && first < second);
        Assert.Contains("# t.rules:4: -A exit,never -F arch=b64 -S write\nnever: arch == x86_64 && syscall == write\n", result.Policy);
    }

    [Fact]
    public void DeleteAllDropsTheRulesBeforeIt()
    {
        var result = Import("-a always,exit -S all -k a\n-D\n-a always,exit -S all -k b\n");
        Assert.Equal(["b"], result.Rules.Select(r => r.Key));
        Assert.Contains(result.Findings, d => d.Line == 2 && d.Kind == ImportIssue.Note && d.Message.Contains("dropped", StringComparison.Ordinal));
    }

    [Fact]
    public void CommentsBlankLinesAndControlLinesAreNotRules()
    {
        var result = Import("""
            # a comment
               
              ## indented comment
            -D
            -b 8192
            --backlog_wait_time 60000
            -f 1
            -r 100
            -e 2
            --loginuid-immutable
            -i
            """);
        Assert.Empty(result.Rules);
        Assert.Equal(8, result.Findings.Count);
        Assert.All(result.Findings, d => Assert.Equal(ImportIssue.Ignored, d.Kind));
        Assert.Contains("never: true", result.Policy);
        Assert.False(result.HasErrors(strict: true));
    }

    [Theory]
    [InlineData("-a always,exit -F arch=b64 -S openat -F inode=42", 41, "PATH records")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F devmajor=8", 41, "PATH records")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F obj_uid=0", 41, "owners")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F subj_type=crond_t", 41, "security-module")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F obj_type=shadow_t", 41, "security-module")]
    [InlineData("-a always,exit -F arch=b64 -S openat -F pers=0", 41, "personality")]
    [InlineData("-a always,exclude -F msgtype=CWD", 4, "exclude list")]
    [InlineData("-a never,user -F subj_type=crond_t", 4, "user list")]
    [InlineData("-a never,task -F uid=0", 4, "task list")]
    [InlineData("-a never,filesystem -F fstype=tracefs", 4, "filesystem list")]
    [InlineData("-a always,exit -S all -F exe=/opt/none", 30, "not in the exe map")]
    [InlineData("-a always,exit -F arch=ppc64 -S all", 24, "arch 'ppc64'")]
    [InlineData("-d always,exit -S all", 1, "deletes a rule")]
    public void UnsupportedRulesAreReportedOneByOneAndLeftOut(string rule, int column, string reason)
    {
        var result = Import(rule);
        Assert.Empty(result.Rules);
        var d = result.Findings.First(x => x.Kind == ImportIssue.Unsupported);
        Assert.Equal((1, column), (d.Line, d.Column));
        Assert.Contains(reason, d.Message, StringComparison.Ordinal);
        Assert.False(result.HasErrors(strict: false));
        Assert.True(result.HasErrors(strict: true));
        Assert.StartsWith($"t.rules:1:{column}: warning FLT4002: ", d.ToDiagnostic(strict: false).Render(), StringComparison.Ordinal);
        Assert.StartsWith($"t.rules:1:{column}: error FLT4002: ", d.ToDiagnostic(strict: true).Render(), StringComparison.Ordinal);
        Assert.Contains("Not imported (see the warnings): line 1", result.Policy);
    }

    [Fact]
    public void EveryUnsupportedFieldOfARuleIsReported()
    {
        var result = Import("-a always,exit -F inode=1 -F uid=0 -F auid>=1000 -C auid!=obj_uid -F subj_user=x -F pers=0 -F key=power-abuse");
        Assert.Equal([19, 70, 85], result.Findings.Where(d => d.Kind == ImportIssue.Unsupported).Select(d => d.Column));
        Assert.Empty(result.Rules);
    }

    [Theory]
    [InlineData("-a always,exit -F arch=b64 -S egid=0 -F gid=5", "supplementary group")]
    [InlineData("-a always,exit -F arch=b64 -S all -F egid!=5", "supplementary group")]
    public void GidEqualityIsInexact(string rule, string reason)
    {
        var result = Import(rule.Replace("-S egid=0 ", "-S all ", StringComparison.Ordinal));
        var d = Assert.Single(result.Findings);
        Assert.Equal(ImportIssue.Inexact, d.Kind);
        Assert.Contains(reason, d.Message, StringComparison.Ordinal);
        Assert.Single(result.Rules);
        Assert.True(result.HasErrors(strict: true));
    }

    [Theory]
    [InlineData("-a always,exit -F arch=b64 -S opnat", 31, "unknown syscall 'opnat' on x86_64 (did you mean 'openat'?)")]
    [InlineData("-a always,exit -S openat -F arch=b64", 29, "after -S")]
    [InlineData("-a always,exit -F arch>b64 -S openat", 19, "only = or !=")]
    [InlineData("-a always,exit -S all -F uid&1", 26, "only on a0..a3")]
    [InlineData("-a always,exit -S all -F uid=-1", 30, "not a valid id")]
    [InlineData("-a always,exit -S all -F auid>=-1", 32, "only = or !=")]
    [InlineData("-a always,exit -S all -F a0=abc", 29, "not a number")]
    [InlineData("-a always,exit -S all -F a0=09", 29, "octal")]
    [InlineData("-a always,exit -S all -F exit=-EFOO", 31, "unknown errno")]
    [InlineData("-a always,exit -S all -F nosuch=1", 26, "unknown field")]
    [InlineData("-a always,exit -S all -F uid", 26, "no operator")]
    [InlineData("-a always,exit -S all -F exe>/bin/cat", 26, "only = or !=")]
    [InlineData("-a always,exit -S all -C uid=gid", 26, "-C uid=gid")]
    [InlineData("-a always,exit -k key -S all", 16, "-k needs a syscall")]
    [InlineData("-a always,exit -F uid=0 -F key=x", 1, "a key needs a syscall")]
    [InlineData("-a always,entry -S all", 4, "deprecated")]
    [InlineData("-a sometimes,exit -S all", 4, "bad list or action")]
    [InlineData("-a always,exit -S all -a always,exit", 23, "second -a")]
    [InlineData("-a always,exit -S all # trailing comment", 23, "comment")]
    [InlineData("-a always,exit -S all \\", 23, "no line continuation")]
    [InlineData("-a always,exit -S all stray", 23, "not an option")]
    [InlineData("-S openat -F uid=0", 14, "List must be given")]
    [InlineData("-a always,exit -F arch=b64 -S 4096", 31, "not below 2048")]
    [InlineData("-R other.rules", 1, "nested")]
    public void LinesAuditctlRejectsAreErrors(string rule, int column, string message)
    {
        var result = Import(rule);
        Assert.Empty(result.Rules);
        var d = result.Findings.First(x => x.Kind == ImportIssue.Invalid);
        Assert.Contains(message, d.Message, StringComparison.Ordinal);
        Assert.Equal(column, d.Column);
        Assert.True(result.HasErrors(strict: false));
    }

    [Fact]
    public void AKeyLongerThanTheKernelsLimitIsAnError()
    {
        string key = new('k', 200);
        var result = Import($"-a always,exit -S all -k {key} -k {key}");
        Assert.Contains(result.Findings, d => d.Kind == ImportIssue.Invalid && d.Message.Contains("256 bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void ValuesKeepTheirLow32BitsWithANote()
    {
        Assert.Equal("syscall < 2048 && (a0 & 0xffffffff) == 0", Condition("-a always,exit -S all -F a0=0x100000000"));
        Assert.Contains(Import("-a always,exit -S all -F a0=0x100000000").Findings, d => d.Kind == ImportIssue.Note);
    }

    [Fact]
    public void TheHostArchNamesSyscallsOfRulesWithoutArch()
    {
        var aarch64 = Options with { HostArch = AuditArch.Aarch64 };
        Assert.Equal("syscall == 56", Assert.Single(Import("-a always,exit -S openat", aarch64).Rules).Condition);
        Assert.Equal("arch == aarch64 && syscall == openat", Assert.Single(Import("-a always,exit -F arch=b64 -S openat", aarch64).Rules).Condition);
        var b32 = Import("-a always,exit -F arch=b32 -S openat", aarch64);
        Assert.Contains(b32.Findings, d => d.Kind == ImportIssue.Unsupported && d.Message.Contains("no syscall table", StringComparison.Ordinal));
        Assert.Equal("arch == 0x40000028 && syscall < 2048", Assert.Single(Import("-a always,exit -F arch=b32 -S all", aarch64).Rules).Condition);
        var i386 = Options with { HostArch = AuditArch.I386 };
        Assert.Contains(Import("-a always,exit -F arch=b64 -S all", i386).Findings, d => d.Kind == ImportIssue.Invalid);
    }

    [Fact]
    public void ThePossibleActionIsIgnoredLikeAuditctlDoes()
    {
        var result = Import("-a possible,exit -S all");
        Assert.Empty(result.Rules);
        Assert.Equal(ImportIssue.Ignored, Assert.Single(result.Findings).Kind);
    }

    [Fact]
    public void DiagnosticsShowTheLineWithACaret()
    {
        var d = Import("\n-a always,exit -F arch=b64 -S openat -F inode=42").Findings.Single();
        Assert.Equal("t.rules:2:41: warning FLT4002: -F inode= looks at the PATH records, which our records do not carry\n" +
                     "  -a always,exit -F arch=b64 -S openat -F inode=42\n" +
                     "                                          ^~~~~", d.ToDiagnostic(strict: false).Render());
    }

    [Fact]
    public void TheImportedRulesDecideLikeTheKernelOnHandMadeRecords()
    {
        var result = Import("""
            -a never,exit -F arch=b64 -S close -F exit=-EBADF
            -a always,exit -S all -F exit=-EBADF -k ebadf
            -a always,exit -F arch=b64 -S exit_group,close -F exit!=-9 -k close-or-exit
            """);
        var c = TestPrograms.Compile(result.Policy);
        uint Verdict(int syscall, long exit, bool success)
        {
            var b = new RecordBuilder();
            b.SetU32(RecordLayout.Arch, AuditArch.X86_64);
            b.SetU32(RecordLayout.Syscall, (uint)syscall);
            b.SetExit(exit);
            b.SetSuccess(success);
            return (uint)ReferenceEvaluator.Evaluate(c.Policy!, new Record(b.ToArray()));
        }
        Assert.Equal(0u, Verdict(3, -9, false));                                      // never: close EBADF
        Assert.Equal("ebadf", c.KeyOf(Verdict(1, -9, false)));                        // write EBADF
        Assert.Equal("close-or-exit", c.KeyOf(Verdict(3, 0, true)));                  // close ok
        Assert.Equal(0u, Verdict(231, 0, false));                                     // exit_group: no return value
        Assert.Equal(0u, Verdict(3, 0x2fffffff7, true));                              // u32: a close whose low bits are -9's is dropped
        Assert.Equal("ebadf", c.KeyOf(Verdict(1, 0x2fffffff7, true)));               // ... and such a write is keyed ebadf
    }
}
