using System.Diagnostics;
using System.Text.Json;
using Filter.Audit.Live;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Live;

/// <summary>
/// filterc as the plugin of a real auditd, configured with the shipped packaging/plugins.d/filterc.conf
/// (its path and response file pointed at this test's). The auditd is the test's own: started as
/// <c>auditd -n -c DIR</c> with its own auditd.conf, log and plugin directory, and <c>local_events = no</c>,
/// so it never asks to be the kernel's audit daemon: the system's auditd (which .ci/run starts, and which
/// holds the kernel's one audit daemon slot) and the kernel's audit settings are untouched, and no rule is
/// added. The events are auditd's own, made by the test: DAEMON_START when it starts, DAEMON_END when it
/// stops (spec/live.md, "The auditd plugin test").
/// </summary>
[Trait(KernelRequirements.Category, KernelRequirements.Kernel)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditdPluginTests : IDisposable
{
    private readonly string _dir;

    public AuditdPluginTests()
    {
        // auditd reads a configuration only its owner may write, in directories others cannot write either.
        _dir = Directory.CreateTempSubdirectory("filterc-auditd").FullName;
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void Require()
    {
        KernelRequirements.RequireRoot();
        KernelRequirements.RequireCommands("auditd");
    }

    [SkippableTheory]
    [InlineData("true", true)]
    [InlineData("syscall == execve", false)]  // auditd's events have no SYSCALL record: nothing matches
    public void ARealAuditdRunsThePluginWhichWritesWhatThePolicyMatches(string policy, bool matches)
    {
        Require();
        uint daemonBefore = KernelDaemon();
        string log = Path.Combine(_dir, "log", "audit.log"), matched = Path.Combine(_dir, "matches.json");
        string pidFile = Path.Combine(_dir, "plugin.pid"), stderr = Path.Combine(_dir, "plugin.err");
        Directory.CreateDirectory(Path.Combine(_dir, "log"));
        Directory.CreateDirectory(Path.Combine(_dir, "plugins.d"));
        File.WriteAllText(Path.Combine(_dir, "plugin.policy"), policy + "\n");
        Write("auditd.conf", $"""
            local_events = no
            write_logs = yes
            log_file = {log}
            log_format = ENRICHED
            flush = INCREMENTAL_ASYNC
            freq = 1
            max_log_file = 8
            num_logs = 2
            max_log_file_action = ROTATE
            space_left = 2
            space_left_action = IGNORE
            admin_space_left = 1
            admin_space_left_action = IGNORE
            disk_full_action = IGNORE
            disk_error_action = IGNORE
            plugin_dir = {Path.Combine(_dir, "plugins.d")}
            q_depth = 2000
            overflow_action = SYSLOG
            max_restarts = 10

            """);
        // The shipped response file, its paths this test's (it is the plugin's command line).
        Write("plugin.args", File.ReadAllText(TestData.Path("packaging", "plugin.args"))
            .Replace("/etc/filterc/plugin.policy", Path.Combine(_dir, "plugin.policy"))
            .Replace("/var/log/filterc/matches.log", matched)
            .Replace("--output raw", "--output json"));
        // The plugin's path: filterc as this build runs it, its pid and standard error kept.
        string filterc = Path.Combine(AppContext.BaseDirectory, "filterc.dll");
        Write("filterc", $"#!/bin/sh\necho $$ > {pidFile}\nexec dotnet {filterc} \"$@\" 2>> {stderr}\n", executable: true);
        var shipped = File.ReadAllText(TestData.Path("packaging", "plugins.d", "filterc.conf"));
        Assert.Contains("path = /usr/local/bin/filterc\n", shipped);
        Assert.Contains("args = @/etc/filterc/plugin.args\n", shipped);
        Write(Path.Combine("plugins.d", "filterc.conf"), shipped
            .Replace("/usr/local/bin/filterc", Path.Combine(_dir, "filterc"))
            .Replace("/etc/filterc/plugin.args", Path.Combine(_dir, "plugin.args")));

        using var auditd = Process.Start(new ProcessStartInfo(File.Exists("/sbin/auditd") ? "/sbin/auditd" : "/usr/sbin/auditd", ["-n", "-c", _dir])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            // DAEMON_START is logged (and dispatched) once auditd runs; stopping it makes a DAEMON_END (logged, not always dispatched).
            Await(() => File.Exists(log) && File.ReadAllText(log).Contains("type=DAEMON_START"), "auditd's DAEMON_START in its log", auditd);
            Await(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "auditd to start the plugin", auditd);
            int plugin = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            // A plugin stopped while still starting (the JIT build takes a third of a second, more under load)
            // dies of the SIGTERM before it has read anything: where it has something to write, wait for it.
            if (matches) Await(() => File.Exists(matched) && File.ReadAllText(matched).Contains("DAEMON_START"), "the plugin to write DAEMON_START", auditd);
            Signal(auditd.Id, "TERM");
            Assert.True(auditd.WaitForExit(HangGuard.Milliseconds), "auditd did not stop on SIGTERM");
            // auditd stops its plugins (SIGTERM, then the end of their input): filterc ends, its output written.
            Await(() => !Directory.Exists($"/proc/{plugin}"), "the plugin to end after auditd", null);
        }
        finally
        {
            if (!auditd.HasExited) auditd.Kill();
        }
        Assert.Equal(daemonBefore, KernelDaemon());
        string errors = File.Exists(stderr) ? File.ReadAllText(stderr) : "";
        Assert.DoesNotContain("error", errors);

        string logged = File.ReadAllText(log);
        var written = File.Exists(matched) ? File.ReadAllLines(matched) : [];
        if (!matches)
        {
            Assert.Empty(written);
            return;
        }
        // Every event auditd dispatched while the plugin ran, as JSON, in order: its own serials and types.
        var events = written.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var types = events.Select(e => e.GetProperty("records")[0].GetProperty("type").GetString()).ToList();
        // auditd dispatches DAEMON_END only if its dispatcher gets to it before the stop flag (audisp/audispd.c,
        // event_loop; missed once under load): it may be missing, and nothing else may be there (spec/live.md).
        Assert.True(types is ["DAEMON_START"] or ["DAEMON_START", "DAEMON_END"], $"events written: {string.Join(", ", types)}");
        foreach (var e in events)
            Assert.Contains($":{e.GetProperty("serial").GetInt64()}): ", logged);
        Assert.Equal("root", events[0].GetProperty("records")[0].GetProperty("enriched").GetProperty("UID").GetString());
    }

    /// <summary>The kernel's audit daemon (auditctl -s: pid), or 0: what this test must leave as it found it.</summary>
    private static uint KernelDaemon()
    {
        try
        {
            using var control = AuditControl.Open();
            return control.GetStatus().Pid;
        }
        catch (AuditUnavailableException)
        {
            return 0;
        }
    }

    private void Write(string name, string text, bool executable = false)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        // auditd runs a plugin whose file is 0750 (it says "permissions should be 0750" and skips it otherwise).
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite
            | (executable ? UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute : 0));
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}")!;
        kill.WaitForExit();
    }

    private static void Await(Func<bool> done, string what, Process? auditd)
    {
        var until = DateTime.UtcNow + HangGuard.Bound;
        while (!done())
        {
            if (auditd is { HasExited: true })
                Assert.Fail($"auditd ended (status {auditd.ExitCode}) before {what}: {auditd.StandardError.ReadToEnd()}{auditd.StandardOutput.ReadToEnd()}");
            Assert.True(DateTime.UtcNow < until, $"no {what} after {HangGuard.Bound.TotalSeconds} s");
            Thread.Sleep(50);
        }
    }
}
