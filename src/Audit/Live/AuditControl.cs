using System.Runtime.InteropServices;
using System.Text;
using Filter.VM;

namespace Filter.Audit.Live;

/// <summary>The kernel's audit status (<c>struct audit_status</c>, answer to AUDIT_GET). Read only: we never set it.</summary>
public readonly record struct AuditStatus(uint Enabled, uint Failure, uint Pid, uint RateLimit, uint BacklogLimit,
    uint Lost, uint Backlog, uint FeatureBitmap, uint BacklogWaitTime)
{
    /// <summary>Decodes the payload; older kernels send fewer fields (missing ones read 0).</summary>
    public static AuditStatus Decode(ReadOnlySpan<byte> payload)
    {
        Span<uint> f = stackalloc uint[10];
        for (int i = 0; i < f.Length && 4 * (i + 1) <= payload.Length; i++) f[i] = MemoryMarshal.Read<uint>(payload[(4 * i)..]);
        // Field 0 is the mask (which fields a SET changes), meaningless in a reply.
        return new AuditStatus(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]);
    }
}

/// <summary>One field condition of a rule: <c>-F</c> field, operator and value (<c>struct audit_rule_data</c> triples).</summary>
public readonly record struct AuditRuleField(uint Field, uint Op, uint Value)
{
    /// <summary><c>-F field=value</c>.</summary>
    public static AuditRuleField Equal(uint field, uint value) => new(field, AuditRule.OpEqual, value);

    /// <summary><c>-F field!=value</c>.</summary>
    public static AuditRuleField NotEqual(uint field, uint value) => new(field, AuditRule.OpNotEqual, value);

    /// <summary>A (field, value) pair is <c>-F field=value</c>, the common case.</summary>
    public static implicit operator AuditRuleField((uint Field, uint Value) equal) => Equal(equal.Field, equal.Value);

    /// <summary>
    /// <c>NAME=VALUE</c> or <c>NAME!=VALUE</c> as auditctl's <c>-F</c> takes it, for the process fields of
    /// <see cref="AuditRule.ProcessFields"/>; VALUE is a decimal number, or -1 (unset, as an auid is before login).
    /// </summary>
    public static bool TryParse(string text, out AuditRuleField field, out string? error)
    {
        field = default;
        int at = text.IndexOf('=');
        bool not = at > 0 && text[at - 1] == '!';
        string name = at < 0 ? text : text[..(not ? at - 1 : at)];
        if (at < 0 || !AuditRule.ProcessFields.TryGetValue(name, out uint number))
        {
            error = $"'{text}' is not NAME=VALUE or NAME!=VALUE with NAME one of {string.Join(", ", AuditRule.ProcessFields.Keys)}";
            return false;
        }
        string value = text[(at + 1)..];
        if (!uint.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint v))
        {
            if (value != "-1")
            {
                error = $"'{value}' in '{text}' is not a decimal number or -1";
                return false;
            }
            v = uint.MaxValue;
        }
        field = not ? NotEqual(number, v) : Equal(number, v);
        error = null;
        return true;
    }
}

/// <summary>
/// One syscall exit rule as the kernel takes it (<c>struct audit_rule_data</c>, include/uapi/linux/audit.h):
/// <c>-a always,exit -F arch=A -S ... [-F field OP value ...] -k KEY</c>. Encoded the way auditctl does
/// (libaudit's audit_rule_syscall_data / audit_rule_fieldpair_data): flags = AUDIT_FILTER_EXIT, action =
/// AUDIT_ALWAYS, a 2048-bit syscall mask, then (field, value, operator) triples — arch first with
/// AUDIT_EQUAL, the given fields with their operators (AUDIT_EQUAL, AUDIT_NOT_EQUAL in <c>fieldflags</c>),
/// the key last as AUDIT_FILTERKEY (AUDIT_EQUAL) whose value is its length and whose bytes go into <c>buf</c>.
/// </summary>
public sealed record AuditRule(uint Arch, IReadOnlyList<uint> Syscalls, string Key, IReadOnlyList<AuditRuleField> Fields)
{
    public const uint FilterExit = 0x04, ActionAlways = 2;
    /// <summary>Operators of <c>fieldflags</c> (AUDIT_NOT_EQUAL, AUDIT_EQUAL).</summary>
    public const uint OpNotEqual = 0x30000000, OpEqual = 0x40000000;
    public const uint FieldPid = 0, FieldPpid = 18, FieldArch = 11, FieldFilterKey = 210;

    /// <summary>
    /// Fields of the calling process a rule can test, by auditctl's names (AUDIT_PID, AUDIT_UID,
    /// AUDIT_LOGINUID, AUDIT_PPID, AUDIT_SESSIONID in include/uapi/linux/audit.h).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, uint> ProcessFields = new Dictionary<string, uint>
    {
        ["pid"] = FieldPid, ["ppid"] = FieldPpid, ["uid"] = 1, ["auid"] = 9, ["ses"] = 25,
    };
    public const int BitmaskWords = 64, MaxFields = 64, MaxKeyLength = 256;
    /// <summary>flags, action, field_count, mask[64], fields[64], values[64], fieldflags[64], buflen.</summary>
    public const int FixedSize = 4 * (3 + BitmaskWords + 3 * MaxFields + 1);

    public AuditRule(uint arch, IReadOnlyList<uint> syscalls, string key) : this(arch, syscalls, key, []) { }

    /// <summary>
    /// The rule for processes that read the audit stream: <c>-F pid!=PID</c> for each (all must hold). A rule
    /// recording <c>recvfrom</c>/<c>read</c>... would otherwise record a reader's own reads of the netlink
    /// socket, each read making another record to read: a loop that feeds itself. (The kernel's AUDIT_PID is
    /// the thread group id, so every thread of a process is excluded.)
    /// </summary>
    public static AuditRule Excluding(IEnumerable<uint> pids, uint arch, IReadOnlyList<uint> syscalls, string key, IReadOnlyList<AuditRuleField>? fields = null) =>
        new(arch, syscalls, key, [.. pids.Distinct().Select(pid => AuditRuleField.NotEqual(FieldPid, pid)), .. fields ?? []]);

    /// <summary>The same rule as auditctl arguments (<c>-a always,exit -F arch=b64 -S 0,1 -F pid!=5 -F key=K</c>), to remove it by hand.</summary>
    public string ToAuditctl()
    {
        string arch = Arch switch { AuditArch.X86_64 or AuditArch.Aarch64 => "b64", AuditArch.I386 => "b32", _ => $"0x{Arch:x}" };
        var fields = Fields.Select(f =>
            $" -F {FieldName(f.Field)}{(f.Op switch { OpEqual => "=", OpNotEqual => "!=", _ => $"?0x{f.Op:x}?" })}{f.Value}");
        return $"-a always,exit -F arch={arch} -S {string.Join(",", Syscalls)}{string.Concat(fields)} -F key={Key}";
    }

    private static string FieldName(uint field) =>
        ProcessFields.FirstOrDefault(f => f.Value == field).Key ?? $"field{field}";

    /// <summary>The request payload for AUDIT_ADD_RULE and AUDIT_DEL_RULE (the kernel deletes the rule equal to it).</summary>
    public byte[] Encode()
    {
        var key = Encoding.UTF8.GetBytes(Key);
        if (key.Length is 0 or > MaxKeyLength) throw new ArgumentException($"a rule key is 1..{MaxKeyLength} bytes", nameof(Key));
        if (Syscalls.Count == 0) throw new ArgumentException("a rule needs at least one syscall", nameof(Syscalls));
        if (Fields.Count + 2 > MaxFields) throw new ArgumentException("too many fields", nameof(Fields));
        foreach (var f in Fields)
            if (f.Op is not (OpEqual or OpNotEqual)) throw new ArgumentException($"unsupported operator 0x{f.Op:x8}", nameof(Fields));
        var data = new byte[FixedSize + key.Length];
        void Put(int word, uint value) => MemoryMarshal.Write(data.AsSpan(4 * word), value);
        const int Mask = 3, FieldsAt = Mask + BitmaskWords, ValuesAt = FieldsAt + MaxFields, FlagsAt = ValuesAt + MaxFields, BufLenAt = FlagsAt + MaxFields;
        Put(0, FilterExit);
        Put(1, ActionAlways);
        foreach (uint nr in Syscalls)
        {
            if (nr >= BitmaskWords * 32) throw new ArgumentOutOfRangeException(nameof(Syscalls), $"syscall {nr} is past the kernel's rule mask");
            int word = Mask + (int)(nr / 32);
            Put(word, MemoryMarshal.Read<uint>(data.AsSpan(4 * word)) | 1u << (int)(nr % 32));
        }
        int n = 0;
        void Field(AuditRuleField f)
        {
            Put(FieldsAt + n, f.Field);
            Put(ValuesAt + n, f.Value);
            Put(FlagsAt + n, f.Op);
            n++;
        }
        Field(AuditRuleField.Equal(FieldArch, Arch));
        foreach (var f in Fields) Field(f);
        Field(AuditRuleField.Equal(FieldFilterKey, (uint)key.Length));
        Put(2, (uint)n);
        Put(BufLenAt, (uint)key.Length);
        key.CopyTo(data.AsSpan(FixedSize));
        return data;
    }
}

/// <summary>
/// The control side of kernel audit on its own unicast NETLINK_AUDIT socket: status (AUDIT_GET), and adding
/// and deleting exit rules (AUDIT_ADD_RULE / AUDIT_DEL_RULE, acknowledged: NLM_F_ACK, answered by NLMSG_ERROR
/// with errno 0 for success). Needs CAP_AUDIT_CONTROL. Never sets status, never lists-and-deletes: it deletes
/// exactly the rules it is given. Not thread-safe.
/// </summary>
public sealed class AuditControl : IDisposable
{
    private const ushort AUDIT_GET = 1000, AUDIT_ADD_RULE = 1011, AUDIT_DEL_RULE = 1012;
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(2);

    private readonly NetlinkSocket _socket;
    private readonly byte[] _buffer = new byte[1 << 16];
    private uint _sequence;

    private AuditControl(NetlinkSocket socket) => _socket = socket;

    /// <exception cref="AuditUnavailableException">No audit support or no permission.</exception>
    public static AuditControl Open()
    {
        var socket = NetlinkSocket.Open();
        try
        {
            socket.SetReceiveTimeout(ReplyTimeout);
            return new AuditControl(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>AUDIT_GET: the kernel's status, with its <c>lost</c> counter.</summary>
    public AuditStatus GetStatus()
    {
        // No ACK asked: the kernel sends the status from another thread, so an ACK could overtake it.
        uint seq = Send(AUDIT_GET, Netlink.FlagRequest, [], "query the audit status (AUDIT_GET)");
        var payload = Await(seq, AUDIT_GET, "query the audit status (AUDIT_GET)");
        return AuditStatus.Decode(payload);
    }

    /// <summary>AUDIT_ADD_RULE; throws if the kernel refuses (EEXIST: an equal rule exists).</summary>
    public void AddRule(AuditRule rule) => Acknowledged(AUDIT_ADD_RULE, rule.Encode(), $"add the audit rule with key '{rule.Key}'");

    /// <summary>AUDIT_DEL_RULE of exactly this rule (the kernel deletes the rule equal to it, key included).</summary>
    public void DeleteRule(AuditRule rule) => Acknowledged(AUDIT_DEL_RULE, rule.Encode(), $"delete the audit rule with key '{rule.Key}'");

    private void Acknowledged(ushort type, byte[] payload, string what)
    {
        uint seq = Send(type, Netlink.FlagRequest | Netlink.FlagAck, payload, what);
        Await(seq, Netlink.Error, what);
    }

    private uint Send(ushort type, ushort flags, ReadOnlySpan<byte> payload, string what)
    {
        uint seq = ++_sequence;
        _socket.Send(Netlink.Build(type, flags, seq, payload), what);
        return seq;
    }

    /// <summary>The payload of the reply of type <paramref name="type"/> to request <paramref name="seq"/>; an error reply throws.</summary>
    private ReadOnlySpan<byte> Await(uint seq, ushort type, string what)
    {
        var deadline = DateTime.UtcNow + ReplyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            int n = _socket.Receive(_buffer);
            if (n == -NetlinkSocket.EINTR) continue;
            if (n < 0) throw AuditUnavailableException.FromErrno(what, -n == NetlinkSocket.EAGAIN ? 110 /* ETIMEDOUT */ : -n);
            int offset = 0;
            while (Netlink.TryRead(_buffer.AsSpan(0, n), ref offset, out var m))
            {
                var body = _buffer.AsSpan(m.PayloadOffset, m.PayloadLength);
                if (m.Type == Netlink.Error)
                {
                    if (Netlink.ErrorSequence(body) != seq) continue;
                    int errno = Netlink.ErrorCode(body);
                    if (errno != 0) throw AuditUnavailableException.FromErrno(what, errno);
                    if (type == Netlink.Error) return body;
                    continue;
                }
                if (m.Sequence == seq && m.Type == type) return _buffer.AsSpan(m.PayloadOffset, m.PayloadLength);
            }
        }
        throw AuditUnavailableException.FromErrno(what, 110);
    }

    public void Dispose() => _socket.Dispose();
}
