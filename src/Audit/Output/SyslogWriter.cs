using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Filter.Audit.Output;

/// <summary>
/// Messages to the local syslog daemon, as the C library's <c>syslog(3)</c> sends them: one datagram per
/// message on the <c>/dev/log</c> socket, <c>&lt;PRI&gt;Mmm dd hh:mm:ss TAG[PID]: MESSAGE</c> (RFC 3164),
/// at severity info. A message that cannot be sent (no syslog daemon, a full socket buffer) is counted in
/// <see cref="Failed"/> and the socket is opened again for the next one: a plugin must not stop or block
/// because syslog is away.
/// </summary>
public sealed class SyslogWriter(string socketPath, int facility, string tag) : IDisposable
{
    public const string DefaultSocket = "/dev/log";
    private const int SeverityInfo = 6;

    /// <summary>The facilities by name (<c>user</c>, <c>authpriv</c>, <c>local0</c>..<c>local7</c>, ...) and their numbers.</summary>
    public static readonly IReadOnlyDictionary<string, int> Facilities = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["user"] = 1, ["daemon"] = 3, ["auth"] = 4, ["syslog"] = 5, ["authpriv"] = 10,
        ["local0"] = 16, ["local1"] = 17, ["local2"] = 18, ["local3"] = 19, ["local4"] = 20, ["local5"] = 21, ["local6"] = 22, ["local7"] = 23,
    };

    private Socket? _socket;

    /// <summary>Messages that could not be sent.</summary>
    public long Failed { get; private set; }

    /// <summary>Sends one message (control characters are the caller's to escape; a newline ends it).</summary>
    public void Send(string message)
    {
        var now = DateTime.Now;
        string text = string.Create(CultureInfo.InvariantCulture,
            $"<{facility * 8 + SeverityInfo}>{now:MMM} {now.Day,2} {now:HH:mm:ss} {tag}[{Environment.ProcessId}]: {message}");
        var bytes = Encoding.UTF8.GetBytes(text);
        try
        {
            _socket ??= Connect();
            _socket.Send(bytes);
        }
        catch (SocketException)
        {
            Failed++;
            _socket?.Dispose();
            _socket = null;
        }
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _socket?.Dispose();
}
