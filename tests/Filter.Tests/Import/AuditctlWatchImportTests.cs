using Filter.Compiler.Import;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Import;

/// <summary>
/// Watches, the file fields and the forms real rule files use (issue 19): <c>-w</c> as auditctl converts it, <c>-F
/// path= dir= perm= filetype=</c>, quoted words, <c>-i</c>, user and group names, the common mistakes; each
/// policy compiles, and the watches decide records as the kernel's inode tests do where the log can tell.
/// </summary>
public class AuditctlWatchImportTests
{
    /// <summary>A host: /etc, /etc/audit, /home, /tmp directories; /etc/localtime a symlink; /bin a link to /usr/bin; /opt/none missing.</summary>
    internal static PathFacts? Host(string path) => path switch
    {
        "/etc" or "/etc/audit" or "/home" or "/tmp" or "/" => new PathFacts(PathKind.Directory, path),
        "/etc/localtime" => new PathFacts(PathKind.Symlink, path),
        _ when path.StartsWith("/bin/", StringComparison.Ordinal) => new PathFacts(PathKind.File, "/usr" + path),
        _ when path.StartsWith("/opt/none/", StringComparison.Ordinal) => new PathFacts(PathKind.NoParent, path),
        "/opt/none" => new PathFacts(PathKind.Missing, path),
        _ when path.StartsWith('/') => new PathFacts(PathKind.File, path),
        _ => null,
    };

    private static ImportResult Import(string text, ImportOptions? options = null)
    {
        var result = AuditctlImporter.Import(text, "t.rules", options ?? AuditctlImporterTests.Options);
        if (!result.HasErrors(strict: false)) TestPrograms.Compile(result.Policy);
        return result;
    }

    private static ImportedRule Rule(string text)
    {
        var result = Import(text);
        Assert.False(result.HasErrors(false), string.Join("\n", result.Findings.Select(d => d.ToDiagnostic(false).Render())));
        return Assert.Single(result.Rules);
    }

    private static string Items(Func<int, string> test) => "(" + string.Join(" || ", Enumerable.Range(0, 4).Select(i => $"({test(i)})")) + ")";

    [Theory]
    [InlineData("-w /etc/passwd -p wa -k identity", "inode{0} != 0 && path{0} == \"/etc/passwd\"", "perm in (w, a)")]
    [InlineData("-w /etc/passwd -k identity", "inode{0} != 0 && path{0} == \"/etc/passwd\"", "perm in (r, w, x, a)")]
    [InlineData("-w /etc/audit/ -p wa -k audit", "inode{0} != 0 && (path{0} == \"/etc/audit\" || path{0} startswith \"/etc/audit/\")", "perm in (w, a)")]
    [InlineData("-a always,exit -F path=/bin/su -F perm=x -k su", "inode{0} != 0 && path{0} in (\"/bin/su\", \"/usr/bin/su\")", "perm == x")]
    [InlineData("-a always,exit -F dir=/home/ -F perm=r -k home", "inode{0} != 0 && (path{0} == \"/home\" || path{0} startswith \"/home/\")", "perm == r")]
    [InlineData("-w /etc/localtime -p wa -k time", "inode{0} != 0 && path{0} == \"/etc/localtime\" && (mode{0} & 0xf000) == 0xa000", "perm in (w, a)")]
    [InlineData("-w / -p x -k all", "inode{0} != 0 && path{0} != \"\"", "perm == x")]
    public void WatchesAreTheExitRulesAuditctlMakesOfThem(string text, string item, string perm)
    {
        var rule = Rule(text);
        Assert.Equal($"syscall < 2048 && {Items(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, item, i))} && {perm}", rule.Condition);
        Assert.True(rule.Always);
    }

    [Fact]
    public void AWatchSaysWhatTheHostMadeOfItAndThatItMatchesByName()
    {
        var result = Import("-w /etc/audit -p wa -k audit\n-w /etc/passwd -p wa -k identity\n");
        Assert.Equal(2, result.Rules.Count);
        var host = result.Findings.Where(f => f.Kind == ImportIssue.Host).ToList();
        Assert.Equal([(1, 4), (2, 4)], host.Select(f => (f.Line, f.Column)));
        Assert.Contains("is a directory on this host: -w watches the tree, as -F dir=/etc/audit", host[0].Message);
        Assert.Contains("is not a directory on this host: -w is the file watch -F path=/etc/passwd", host[1].Message);
        Assert.All(host, f => Assert.StartsWith("t.rules:", f.ToDiagnostic(false).Render().Split(" note FLT4006")[0]));
        var byName = result.Findings.Where(f => f.Cause == ImportCause.ByName).ToList();
        Assert.Equal(2, byName.Count);
        Assert.All(byName, f => Assert.Equal(ImportIssue.Inexact, f.Kind));
        Assert.False(result.HasErrors(strict: false));
        Assert.True(result.HasErrors(strict: true));
    }

    [Theory]
    [InlineData("-w /opt/none/x -p wa -k x", "does not exist on this host: the kernel refuses the rule (ENOENT)")]
    [InlineData("-a always,exit -F dir=/opt/none -k x", "is not a directory on this host: the kernel refuses the rule (ENOENT)")]
    public void ARuleTheHostsKernelRefusesIsKeptWithAFinding(string text, string message)
    {
        var result = Import(text);
        Assert.Single(result.Rules);
        var f = Assert.Single(result.Findings, f => f.Cause == ImportCause.HostRefuses);
        Assert.Equal(ImportIssue.Host, f.Kind);
        Assert.Contains(message, f.Message);
    }

    [Theory]
    [InlineData("-a always,exit -F path=/etc/ -k x", "cannot end in '/'")]
    [InlineData("-a always,exit -F path=etc -k x", "must start with '/'")]
    [InlineData("-w etc/passwd -k x", "must start with '/'")]
    [InlineData("-a always,exit -F path>/etc -k x", "path takes only = or !=")]
    [InlineData("-a always,exit -F path=/etc/a -F dir=/etc -k x", "a second path= or dir=")]
    [InlineData("-w /etc/a -p rwq -k x", "up to 4 of the letters r, w, x, a")]
    [InlineData("-a always,exit -S all -F filetype=pipe", "unknown file type 'pipe'")]
    [InlineData("-a always,exit -S all -F perm=wa -F perm=r", "a second perm")]
    public void BadWatchesAreInvalid(string text, string message)
    {
        var result = Import(text);
        Assert.Empty(result.Rules);
        var f = Assert.Single(result.Findings, f => f.Kind == ImportIssue.Invalid);
        Assert.Contains(message, f.Message);
    }

    [Theory]
    [InlineData("-a always,exit -F arch=b64 -S openat -F filetype=dir", "arch == x86_64 && syscall == openat && filetype == dir")]
    [InlineData("-a always,exit -F arch=b64 -S all -F filetype!=file", "arch == x86_64 && syscall < 2048 && filetype != file")]
    [InlineData("-a always,exit -S all -F perm!=r", "syscall < 2048 && !(perm == r)")]
    [InlineData("-a always,exit -S all -C auid!=obj_uid", "syscall < 2048 && (items > 0 && auid != ouid0 || items > 1 && auid != ouid1 || items > 2 && auid != ouid2 || items > 3 && auid != ouid3)")]
    [InlineData("-a always,exit -S all -C obj_gid=egid", "syscall < 2048 && (items > 0 && egid == ogid0 || items > 1 && egid == ogid1 || items > 2 && egid == ogid2 || items > 3 && egid == ogid3)")]
    [InlineData("-a always,exit -S all -F uid=nobody", "syscall < 2048 && uid == 65534")]
    [InlineData("-a always,exit -S all -F sgid=adm", "syscall < 2048 && sgid == 4")]
    public void FileFieldsAndNames(string text, string condition) => Assert.Equal(condition, Rule(text).Condition);

    [Fact]
    public void NamesAreResolvedOnTheHostWithANote()
    {
        var result = Import("-a always,exit -S all -F auid=root -k r\n");
        var f = Assert.Single(result.Findings);
        Assert.Equal((ImportIssue.Host, 31), (f.Kind, f.Column));
        Assert.Contains("'root' is uid 0 in this host's passwd database", f.Message);
        var unknown = Import("-a always,exit -S all -F uid=chrony\n");
        Assert.Empty(unknown.Rules);
        Assert.Contains("no user 'chrony' on this host: auditctl rejects the line (\"Unknown user: chrony\")", Assert.Single(unknown.Findings).Message);
        Assert.True(unknown.HasErrors(strict: false));
    }

    [Fact]
    public void QuotedWordsAreImportedAsMeantWithAFinding()
    {
        var result = Import("-a always,exit -F path=/usr/bin/su -F perm=x -F \"auid>=500\" -F auid!=4294967295 -k \"T1078\"\n");
        var rule = Assert.Single(result.Rules);
        Assert.Equal("T1078", rule.Key);
        Assert.Contains("&& auid >= 500 && auid != 4294967295", rule.Condition);
        var quoted = result.Findings.Where(f => f.Cause == ImportCause.Quoted).ToList();
        Assert.Equal([49, 84], quoted.Select(f => f.Column));
        Assert.Contains("unknown field '\"auid'", quoted[0].Message);
        Assert.All(quoted, f => Assert.Equal(ImportIssue.Inexact, f.Kind));
    }

    [Fact]
    public void WordsAreSplitOnSpacesOnlyAsAuditctlSplitsThem()
    {
        // auditctl's strtok(" "): the tab is part of the key; the policy cannot hold it and says so
        var result = Import("-a always,exit -F arch=b64 -S kexec_load -k \tT1014_1\n");
        Assert.Equal("T1014_1", Assert.Single(result.Rules).Key);
        Assert.Equal(ImportCause.KeyText, Assert.Single(result.Findings).Cause);
    }

    [Theory]
    [InlineData("-a always,exit -F path=/usr/bin/setfiles -F perm=x -k -F T1078", 58, "-k took '-F' as its key")]
    [InlineData("-a always,exit -F arch=b64 -S execve -F exe=/bin/cat -F -k T1078", 57, "-F took '-k' as its FIELD=VALUE")]
    public void CommonMistakesSayWhatHappenedAndImportTheRuleMeant(string text, int column, string message)
    {
        var result = Import(text);
        Assert.Equal("T1078", Assert.Single(result.Rules).Key);
        var f = Assert.Single(result.Findings, f => f.Cause == ImportCause.Mistake);
        Assert.Equal((ImportIssue.Inexact, column), (f.Kind, f.Column));
        Assert.Contains(message, f.Message);
        Assert.Contains("auditctl rejects the line", f.Message);
        Assert.True(result.HasErrors(strict: true));
    }

    [Fact]
    public void LibauditsI386NameOfKexecLoadIsKnown()
    {
        var result = Import("-a always,exit -F arch=b32 -S sys_kexec_load -k T1014_2\n");
        Assert.Equal("arch == i386 && syscall == kexec_load", Assert.Single(result.Rules).Condition);
        Assert.Equal(ImportIssue.Note, Assert.Single(result.Findings).Kind);
    }

    [Fact]
    public void DashIInTheFileCarriesOnPastLaterBadLines()
    {
        var result = Import("-D\n-b 8192\n-f 1\n-i\n--backlog_wait_time 60000\n-e 2\n-a always,exit -S opnat -k bad\n-a always,exit -S openat -k open\n");
        Assert.Equal("open", Assert.Single(result.Rules).Key);
        var bad = Assert.Single(result.Findings, f => f.Kind == ImportIssue.Invalid);
        Assert.True(bad.CarriedOn);
        Assert.Equal(Severity.Warning, bad.Severity(strict: false));
        Assert.False(result.HasErrors(strict: false));
        Assert.True(result.HasErrors(strict: true));
        Assert.Equal(6, result.Findings.Count(f => f.Kind == ImportIssue.Ignored));
        Assert.True(Import("-a always,exit -S opnat -k bad\n-i\n").HasErrors(strict: false));
        Assert.False(Import("-a always,exit -S opnat -k bad\n", AuditctlImporterTests.Options with { IgnoreErrors = true }).HasErrors(strict: false));
    }

    [Fact]
    public void AMissingExecutableIsARuleThatMatchesNothing()
    {
        var options = AuditctlImporterTests.Options with { ResolveExe = p => p == "/usr/bin/sudo" ? ExeResolution.NoFile : new ExeResolution(p) };
        var result = Import("-a always,exit -F arch=b64 -S setresuid -F a0=0 -F exe=/usr/bin/sudo -k sudo\n", options);
        Assert.EndsWith("&& false", Assert.Single(result.Rules).Condition);
        Assert.Equal(ImportIssue.Host, Assert.Single(result.Findings).Kind);
    }

    private static string? KeyOf(string policyText, Action<RecordBuilder> fill)
    {
        var c = TestPrograms.Compile(policyText);
        var b = new RecordBuilder();
        b.SetScalar(RecordLayout.ScalarNamed("arch")!, AuditArch.X86_64);
        fill(b);
        var verdict = (uint)ReferenceEvaluator.Evaluate(c.Policy!, new Record(b.ToArray()));
        return verdict == 0 ? null : c.KeyOf(verdict);
    }

    private static void Item(RecordBuilder b, int i, string path, ulong inode, uint mode)
    {
        b.SetScalar(RecordLayout.ScalarNamed("items")!, (ulong)i + 1);
        b.SetString(RecordLayout.Strings.Single(s => s.Name == $"name{i}"), path);
        b.SetString(RecordLayout.Strings.Single(s => s.Name == $"path{i}"), path);
        b.SetScalar(RecordLayout.ScalarNamed($"inode{i}")!, inode);
        b.SetScalar(RecordLayout.ScalarNamed($"mode{i}")!, mode);
    }

    [Fact]
    public void WatchesDecideAsTheKernelsInodeTestsWhereTheLogCanTell()
    {
        string policy = Import("-w /etc/shadow -p wa -k shadow\n-w /etc/localtime -p wa -k time\n-w /etc/audit/ -p wa -k audit\n").Policy;
        const ulong openat = 257, unlink = 87;
        const uint wronly = 1, file = 0x81a4, link = 0xa1ff;
        Assert.Equal("shadow", KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, openat); b.SetScalar(RecordLayout.ScalarNamed("a2")!, wronly); Item(b, 0, "/etc/shadow", 12, file); }));
        // a read does not match -p wa; a name that did not exist (no inode) matches no watch
        Assert.Null(KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, openat); Item(b, 0, "/etc/shadow", 12, file); }));
        Assert.Null(KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, openat); b.SetScalar(RecordLayout.ScalarNamed("a2")!, wronly); Item(b, 0, "/etc/shadow", 0, 0); }));
        // writing through the symlink is the target's inode: the link's watch does not fire; unlinking the link does
        Assert.Null(KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, openat); b.SetScalar(RecordLayout.ScalarNamed("a2")!, wronly); Item(b, 0, "/etc/localtime", 40, file); }));
        Assert.Equal("time", KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, unlink); Item(b, 0, "/etc/", 2, 0x41ed); Item(b, 1, "/etc/localtime", 41, link); }));
        // a tree holds its directory and everything below it, not a sibling with the same prefix
        Assert.Equal("audit", KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, unlink); Item(b, 0, "/etc/audit/rules.d/x", 77, file); }));
        Assert.Null(KeyOf(policy, b => { b.SetScalar(RecordLayout.ScalarNamed("syscall")!, unlink); Item(b, 0, "/etc/auditx", 77, file); }));
    }
}
