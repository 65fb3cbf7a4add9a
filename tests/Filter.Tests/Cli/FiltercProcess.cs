using System.Diagnostics;
using System.Text;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>
/// filterc as a process of its own (<c>dotnet filterc.dll</c>), its standard input a pipe the test writes,
/// its output collected as it comes. Waits are bounded only by <see cref="HangGuard"/>: a test waits for
/// output to appear, never asserts how soon.
/// </summary>
internal sealed class FiltercProcess : IDisposable
{
    private readonly StringBuilder _stdout = new(), _stderr = new();

    public Process Process { get; }

    public FiltercProcess(params string[] args)
    {
        // Through env --default-signal: a test run started in the background (`.ci/run &`, nohup) passes on
        // SIGINT and SIGHUP ignored, the runtime leaves an ignored signal ignored, and a test sending SIGINT
        // would wait for a filterc that never sees it.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { "--default-signal=INT,HUP,TERM", "dotnet", Path.Combine(AppContext.BaseDirectory, "filterc.dll") })
            start.ArgumentList.Add(a);
        foreach (var a in args) start.ArgumentList.Add(a);
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Append(e.Data).Append('\n'); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Append(e.Data).Append('\n'); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Writes to standard input and flushes, so that the bytes are in the pipe.</summary>
    public void Write(string text)
    {
        Process.StandardInput.Write(text);
        Process.StandardInput.Flush();
    }

    /// <summary>Waits until standard output satisfies <paramref name="done"/>; fails on a hang or if filterc ended.</summary>
    public void AwaitStdout(Func<string, bool> done, string what) => Await(() => Stdout, done, what);

    /// <summary>Waits until standard error satisfies <paramref name="done"/>; fails on a hang or if filterc ended.</summary>
    public void AwaitStderr(Func<string, bool> done, string what) => Await(() => Stderr, done, what);

    private void Await(Func<string> text, Func<string, bool> done, string what)
    {
        var until = DateTime.UtcNow + HangGuard.Bound;
        while (!done(text()))
        {
            Assert.False(Process.HasExited, $"filterc ended (status {(Process.HasExited ? Process.ExitCode : 0)}) before {what}:\n{Stdout}\n{Stderr}");
            Assert.True(DateTime.UtcNow < until, $"still no {what} after {HangGuard.Bound.TotalSeconds} s:\n{Stdout}\n{Stderr}");
            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Waits until filterc has read <paramref name="path"/> to its end (its open file's offset, from
    /// /proc/PID/fdinfo, is the file's length): it is then following it, its signal handlers in place.
    /// </summary>
    public void AwaitReadToEnd(string path)
    {
        var until = DateTime.UtcNow + HangGuard.Bound;
        long length = new FileInfo(path).Length;
        while (!ReadTo(path, length))
        {
            Assert.False(Process.HasExited, $"filterc ended before reading {path}:\n{Stderr}");
            Assert.True(DateTime.UtcNow < until, $"{path} still not read after {HangGuard.Bound.TotalSeconds} s:\n{Stderr}");
            Thread.Sleep(20);
        }
    }

    private bool ReadTo(string path, long length)
    {
        string full = Path.GetFullPath(path);
        try
        {
            foreach (var fd in Directory.GetFiles($"/proc/{Process.Id}/fd"))
            {
                if (new FileInfo(fd).LinkTarget != full) continue;
                var pos = File.ReadLines($"/proc/{Process.Id}/fdinfo/{Path.GetFileName(fd)}").First(l => l.StartsWith("pos:", StringComparison.Ordinal));
                if (long.Parse(pos["pos:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture) == length) return true;
            }
        }
        catch (IOException) { } // a file descriptor closed while we looked
        catch (UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>Signals filterc (SIGTERM by default) and waits for it to end: its exit status.</summary>
    public int Signal(string signal = "TERM")
    {
        using (var kill = Process.Start("kill", $"-{signal} {Process.Id}")) kill.WaitForExit();
        return WaitForExit();
    }

    /// <summary>Closes standard input and waits for filterc to end: its exit status.</summary>
    public int CloseInput()
    {
        Process.StandardInput.Close();
        return WaitForExit();
    }

    private int WaitForExit()
    {
        Assert.True(Process.WaitForExit(HangGuard.Milliseconds), $"filterc did not end:\n{Stderr}");
        Process.WaitForExit(); // and its output is read to the end
        return Process.ExitCode;
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill();
        Process.Dispose();
    }
}
