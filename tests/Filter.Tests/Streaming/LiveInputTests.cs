using System.IO.Pipes;
using System.Text;
using Filter.Audit.Streaming;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Filter.Tests.Streaming;

public class LiveInputTests
{
    [Fact]
    public void AStoppedInputReadsWhatHadArrivedThenEnds()
    {
        // auditd writes DAEMON_END to its plugins and then sends SIGTERM: those bytes must still be read.
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var stop = new CancellationTokenSource();
        using var input = new LiveInput(new SafeFileHandle(writer.ClientSafePipeHandle.DangerousGetHandle(), ownsHandle: false)) { Stop = stop.Token };
        writer.Write("type=DAEMON_END\n"u8);
        writer.Flush();
        stop.Cancel();

        var read = new MemoryStream();
        var buffer = new byte[4]; // several reads: what is left is counted down
        int n;
        while ((n = input.Read(buffer)) > 0)
        {
            read.Write(buffer, 0, n);
            writer.Write("more\n"u8); // arrived after the stop: not waited for, not read
            writer.Flush();
        }
        Assert.Equal("type=DAEMON_END\n", Encoding.UTF8.GetString(read.ToArray()));
        Assert.Equal(0, input.Read(buffer));
    }

    [Fact]
    public void AStoppedInputWithNothingPendingEndsAtOnce()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        using var stop = new CancellationTokenSource();
        using var input = new LiveInput(new SafeFileHandle(writer.ClientSafePipeHandle.DangerousGetHandle(), ownsHandle: false)) { Stop = stop.Token };
        stop.Cancel();
        Assert.Equal(0, input.Read(new byte[16]));
    }
}
