using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Filter.Audit.Formats;

/// <summary>The records of an event besides SYSCALL that the record's fields come from (spec/auditd.md).</summary>
internal enum AuxRecord : byte { None, Cwd, Path, Proctitle, Execve, Sockaddr, Openat2 }

/// <summary>
/// Which of those records a filter needs decoded (from the fields it reads), and which of a PATH record's
/// fields: its reading stops once those are read (a filter on paths needs a record's name and inode, not the
/// ten fields after them).
/// </summary>
[Flags]
internal enum AuxFields : ushort
{
    None = 0, Cwd = 1, Path = 2, Proctitle = 4, Execve = 8, Sockaddr = 16, Openat2 = 32,
    PathName = 64, PathInode = 128, PathDev = 256, PathMode = 512, PathOuid = 1024, PathOgid = 2048, PathNametype = 4096,
    PathFields = PathName | PathInode | PathDev | PathMode | PathOuid | PathOgid | PathNametype,
    All = Cwd | Path | Proctitle | Execve | Sockaddr | Openat2 | PathFields,
}

/// <summary>
/// What an event's CWD, PATH, PROCTITLE, EXECVE, SOCKADDR and OPENAT2 records say, collected as they arrive (in
/// any order, interleaved with other events) and put into the event's record when it is complete
/// (<see cref="ApplyTo"/>), with the time and serial of its id and each item's name resolved against the cwd.
/// The one decoding of these records: the auditd reader and the live source both use it (spec/record.md).
/// Only the records the filter needs are decoded, and so checked; of a PATH record, only the fields it reads.
/// </summary>
internal sealed class EventExtras
{
    private readonly RecordBuilder _fields = new();
    private bool _any, _sockaddr;
    private int _lastArg = -1, _items;
    // Allocated by the first EXECVE record decoded: most events, and every event of a filter that does not
    // read argv, have none, and a reader keeps one of these per event it holds open.
    private byte[]? _argv;
    private int _argvLength;

    public void Reset()
    {
        if (_any) _fields.Clear();
        _stringsSet = 0;
        _any = _sockaddr = false;
        _lastArg = -1;
        _items = 0;
        _argvLength = 0;
    }

    // The scalars these records give (those after the event's time and serial, but items: the SYSCALL
    // record's), as runs of adjacent header bytes, copied as such (field by field was a few percent of a
    // path filter's run).
    private static readonly (int Start, int End)[] ScalarRuns = RecordLayout.Scalars
        .Where(f => f.Offset >= RecordLayout.Inode && f.Name != "items")
        .Select(f => (Start: f.Offset, End: f.Offset + f.Size))
        .Aggregate(new List<(int Start, int End)>(), (runs, f) =>
        {
            if (runs.Count > 0 && runs[^1].End == f.Start) runs[^1] = (runs[^1].Start, f.End);
            else runs.Add(f);
            return runs;
        }).ToArray();

    // The strings these records give, each with what decodes it.
    private static readonly (StringField Field, AuxFields DecodedBy)[] Strings = [.. RecordLayout.Strings
        .Select(s => (s, s.Name switch
        {
            "cwd" => AuxFields.Cwd,
            "proctitle" => AuxFields.Proctitle,
            "argv" => AuxFields.Execve,
            "addr" => AuxFields.Sockaddr,
            _ when s.Name.StartsWith("name", StringComparison.Ordinal) => AuxFields.PathName,
            _ => AuxFields.None,
        }))
        .Where(s => s.Item2 != AuxFields.None)];
    // Bit i: Strings[i] was set (ApplyTo copies those alone).
    private int _stringsSet;

    private void SetString(StringField field, ReadOnlySpan<byte> value)
    {
        _fields.SetString(field, value);
        _stringsSet |= StringBits[field.DescriptorOffset >> 2];
    }

    private void SetLength(StringField field, int length)
    {
        _fields.SetLength(field, length);
        _stringsSet |= StringBits[field.DescriptorOffset >> 2];
    }

    // By descriptor (4 bytes each): the field's bit in _stringsSet, 0 for a string these records do not give.
    private static readonly int[] StringBits = BuildStringBits();

    private static int[] BuildStringBits()
    {
        var bits = new int[RecordLayout.Strings.Max(f => f.DescriptorOffset >> 2) + 1];
        for (int i = 0; i < Strings.Length; i++) bits[Strings[i].Field.DescriptorOffset >> 2] = 1 << i;
        return bits;
    }

    private static readonly StringField Cwd = RecordLayout.StringNamed("cwd")!, ProctitleField = RecordLayout.StringNamed("proctitle")!;
    private static readonly StringField Argv = RecordLayout.StringNamed("argv")!, Addr = RecordLayout.StringNamed("addr")!;
    private static readonly StringField[] Names = [.. Enumerable.Range(0, RecordLayout.PathItems).Select(i => RecordLayout.StringAt(RecordLayout.NameDescriptor + 4 * i)!)];
    private static readonly StringField[] Paths = [.. Enumerable.Range(0, RecordLayout.PathItems).Select(i => RecordLayout.StringAt(RecordLayout.PathDescriptor + 4 * i)!)];
    private static readonly (byte[] Name, byte Value)[] NameTypes = [.. RecordLayout.NameTypes.Select(t => (System.Text.Encoding.ASCII.GetBytes(t.Name), t.Value))];

    /// <summary>The records to decode for a filter reading <paramref name="names"/> (null: all).</summary>
    public static AuxFields For(IEnumerable<string>? names)
    {
        if (names is null) return AuxFields.All;
        var need = AuxFields.None;
        foreach (var n in names)
        {
            string stem = n.TrimEnd("0123456789".ToCharArray());
            need |= n switch
            {
                "cwd" => AuxFields.Cwd,
                "proctitle" => AuxFields.Proctitle,
                "argv" or "argc" => AuxFields.Execve,
                "saddr_fam" or "addr" or "port" => AuxFields.Sockaddr,
                "oflag" => AuxFields.Openat2,
                _ when stem == "path" => AuxFields.Path | AuxFields.PathName | AuxFields.Cwd,
                _ when stem == "name" => AuxFields.Path | AuxFields.PathName,
                _ when stem == "inode" => AuxFields.Path | AuxFields.PathInode,
                _ when stem == "dev" => AuxFields.Path | AuxFields.PathDev,
                _ when stem == "mode" => AuxFields.Path | AuxFields.PathMode,
                _ when stem == "ouid" => AuxFields.Path | AuxFields.PathOuid,
                _ when stem == "ogid" => AuxFields.Path | AuxFields.PathOgid,
                _ when stem == "nametype" => AuxFields.Path | AuxFields.PathNametype,
                _ => AuxFields.None,
            };
        }
        return need;
    }

    private static readonly (string Name, AuxRecord Kind, AuxFields Flag)[] Types =
    [
        ("PATH", AuxRecord.Path, AuxFields.Path), ("CWD", AuxRecord.Cwd, AuxFields.Cwd),
        ("PROCTITLE", AuxRecord.Proctitle, AuxFields.Proctitle), ("EXECVE", AuxRecord.Execve, AuxFields.Execve),
        ("SOCKADDR", AuxRecord.Sockaddr, AuxFields.Sockaddr), ("OPENAT2", AuxRecord.Openat2, AuxFields.Openat2),
    ];

    /// <summary>The record a type name is (<c>PATH</c>, ...), when the filter needs it decoded.</summary>
    public static AuxRecord KindOf(ReadOnlySpan<byte> type, AuxFields wanted)
    {
        foreach (var (name, kind, flag) in Types)
            if (System.Text.Ascii.Equals(type, name)) return (wanted & flag) != 0 ? kind : AuxRecord.None;
        return AuxRecord.None;
    }

    /// <summary>Whether <paramref name="wanted"/> has a record of this kind decoded.</summary>
    public static bool Wants(AuxRecord kind, AuxFields wanted)
    {
        foreach (var (_, k, flag) in Types)
            if (k == kind) return (wanted & flag) != 0;
        return false;
    }

    /// <summary>As <see cref="KindOf(ReadOnlySpan{byte}, AuxFields)"/> for a type name as text (the live source's record types).</summary>
    public static AuxRecord KindOf(string type, AuxFields wanted)
    {
        foreach (var (name, kind, flag) in Types)
            if (type == name) return (wanted & flag) != 0 ? kind : AuxRecord.None;
        return AuxRecord.None;
    }

    /// <summary>
    /// Decodes one record's text (after <c>msg=audit(...): </c>), of a PATH record the fields in
    /// <paramref name="wanted"/>; false with a message naming the field when it does not decode.
    /// </summary>
    public bool TryAdd(AuxRecord kind, ReadOnlySpan<byte> body, byte[] scratch, AuxFields wanted, out string? message)
    {
        _any = true;
        return kind switch
        {
            AuxRecord.Path => Path(body, scratch, wanted & AuxFields.PathFields, out message),
            AuxRecord.Cwd => Text(body, "CWD", "cwd"u8, Cwd, scratch, out message),
            AuxRecord.Proctitle => Proctitle(body, scratch, out message),
            AuxRecord.Execve => Execve(body, scratch, out message),
            AuxRecord.Sockaddr => Sockaddr(body, scratch, out message),
            _ => Openat2(body, out message),
        };
    }

    // ---- the records ----------------------------------------------------------------------------------

    private bool Text(ReadOnlySpan<byte> body, string record, ReadOnlySpan<byte> name, StringField field, byte[] scratch, out string? message)
    {
        var t = new RecordTokens(body, record);
        while (t.Next(out var key, out var value, out bool quoted, out message))
            if (key.SequenceEqual(name))
            {
                if (!AuditdSyscall.TryText(value, quoted, scratch, out var text)) return Bad(record, field.Name, value, out message);
                SetString(field, text);
                return true;
            }
        return message is null;
    }

    /// <summary>PATH: <c>item=</c> first, then of the fields after it those in <paramref name="wanted"/>, up to the last of them.</summary>
    private bool Path(ReadOnlySpan<byte> body, byte[] scratch, AuxFields wanted, out string? message)
    {
        var t = new RecordTokens(body, "PATH");
        int item = -1;
        var read = AuxFields.None;
        message = null;
        while ((item < 0 || (read & wanted) != wanted) && t.Next(out var key, out var value, out bool quoted, out message))
        {
            if (item < 0)
            {
                if (!key.SequenceEqual("item"u8)) { message = "PATH record: 'item' is not its first field"; return false; }
                if (!AuditdSyscall.TryDecimal(value, out ulong n) || n > int.MaxValue) return Bad("PATH", "item", value, out message);
                item = (int)n;
                if (item >= RecordLayout.PathItems) return true; // beyond what a record holds (spec/record.md)
                if ((_items & 1 << item) != 0) { message = $"PATH record: a second item={item} in this event"; return false; }
                _items |= 1 << item;
                continue;
            }
            var field = PathField(key);
            if ((field & wanted) == 0) continue;
            read |= field;
            switch (field)
            {
                case AuxFields.PathName:
                    if (!AuditdSyscall.TryText(value, quoted, scratch, out var name)) return Bad("PATH", "name", value, out message);
                    SetString(Names[item], name);
                    break;
                case AuxFields.PathInode:
                    if (!AuditdSyscall.TryDecimal(value, out ulong inode)) return Bad("PATH", "inode", value, out message);
                    _fields.SetU64(RecordLayout.Inode + 8 * item, inode);
                    break;
                case AuxFields.PathDev:
                    // dev=fd:01: the major and minor numbers in hex, encoded as the kernel's dev_t (major << 20 | minor).
                    int colon = value.IndexOf((byte)':');
                    if (colon < 0 || !AuditdSyscall.TryHex(value[..colon], 3, out ulong major) || !AuditdSyscall.TryHex(value[(colon + 1)..], 5, out ulong minor))
                        return Bad("PATH", "dev", value, out message);
                    _fields.SetU32(RecordLayout.Dev + 4 * item, (uint)(major << 20 | minor));
                    break;
                case AuxFields.PathMode:
                    if (!TryOctal(value, out ulong mode) || mode > uint.MaxValue) return Bad("PATH", "mode", value, out message);
                    _fields.SetU32(RecordLayout.Mode + 4 * item, (uint)mode);
                    break;
                case AuxFields.PathOuid or AuxFields.PathOgid:
                    bool ouid = field == AuxFields.PathOuid;
                    if (!AuditdSyscall.TryDecimal(value, out ulong id) || id > uint.MaxValue) return Bad("PATH", ouid ? "ouid" : "ogid", value, out message);
                    _fields.SetU32((ouid ? RecordLayout.Ouid : RecordLayout.Ogid) + 4 * item, (uint)id);
                    break;
                default: // nametype
                    int type = -1;
                    foreach (var (n, v) in NameTypes)
                        if (value.SequenceEqual(n)) type = v;
                    if (type < 0) return Bad("PATH", "nametype", value, out message);
                    _fields.SetU8(RecordLayout.Nametype + item, (byte)type);
                    break;
            }
        }
        if (message is not null) return false;
        if (item < 0) { message = "PATH record has no 'item' field (the kernel always writes it: the line is cut short or damaged)"; return false; }
        return true;
    }

    /// <summary>The PATH field a key names (<see cref="AuxFields.None"/> for one not kept: rdev, cap_*, ...).</summary>
    private static AuxFields PathField(ReadOnlySpan<byte> key) =>
        key.SequenceEqual("name"u8) ? AuxFields.PathName
        : key.SequenceEqual("inode"u8) ? AuxFields.PathInode
        : key.SequenceEqual("dev"u8) ? AuxFields.PathDev
        : key.SequenceEqual("mode"u8) ? AuxFields.PathMode
        : key.SequenceEqual("ouid"u8) ? AuxFields.PathOuid
        : key.SequenceEqual("ogid"u8) ? AuxFields.PathOgid
        : key.SequenceEqual("nametype"u8) ? AuxFields.PathNametype
        : AuxFields.None;

    private bool Proctitle(ReadOnlySpan<byte> body, byte[] scratch, out string? message)
    {
        var t = new RecordTokens(body, "PROCTITLE");
        while (t.Next(out var key, out var value, out bool quoted, out message))
            if (key.SequenceEqual("proctitle"u8))
            {
                if (!AuditdSyscall.TryText(value, quoted, scratch, out var text)) return Bad("PROCTITLE", "proctitle", value, out message);
                // The command line's NUL separators as spaces, as ausearch -i shows it.
                var area = _fields.StringArea(ProctitleField);
                int n = Math.Min(text.Length, area.Length);
                text[..n].CopyTo(area);
                area[..n].Replace((byte)0, (byte)' ');
                while (n > 0 && area[n - 1] == (byte)' ') n--;
                SetLength(ProctitleField, n);
                return true;
            }
        return message is null;
    }

    /// <summary>
    /// EXECVE: <c>argc=N a0="..." a1=HEX ...</c>; a long argument is written in pieces (<c>a1_len=L a1[0]=... a1[1]=...</c>),
    /// possibly over several EXECVE records. The arguments are joined by one space, truncated at the field's
    /// maximum (spec/record.md).
    /// </summary>
    private bool Execve(ReadOnlySpan<byte> body, byte[] scratch, out string? message)
    {
        var t = new RecordTokens(body, "EXECVE");
        while (t.Next(out var key, out var value, out bool quoted, out message))
        {
            if (key.SequenceEqual("argc"u8))
            {
                if (!AuditdSyscall.TryDecimal(value, out ulong argc) || argc > uint.MaxValue) return Bad("EXECVE", "argc", value, out message);
                _fields.SetU32(RecordLayout.Argc, (uint)argc);
                continue;
            }
            if (key.Length < 2 || key[0] != (byte)'a' || key.EndsWith("_len"u8)) continue;
            int bracket = key.IndexOf((byte)'[');
            if (!AuditdSyscall.TryDecimal(bracket < 0 ? key[1..] : key[1..bracket], out ulong index) || index > int.MaxValue) continue;
            if (!AuditdSyscall.TryText(value, quoted, scratch, out var arg)) return Bad("EXECVE", System.Text.Encoding.ASCII.GetString(key), value, out message);
            if ((int)index != _lastArg && _lastArg >= 0) Append(" "u8);
            _lastArg = (int)index;
            Append(arg);
        }
        if (message is not null) return false;
        SetString(Argv, _argv.AsSpan(0, _argvLength));
        return true;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _argv ??= new byte[RecordLayout.ArgvMaxLength];
        int n = Math.Min(bytes.Length, _argv.Length - _argvLength);
        bytes[..n].CopyTo(_argv.AsSpan(_argvLength));
        _argvLength += n;
    }

    /// <summary>SOCKADDR: <c>saddr=HEX</c>, a struct sockaddr (the event's first one counts).</summary>
    private bool Sockaddr(ReadOnlySpan<byte> body, byte[] scratch, out string? message)
    {
        var t = new RecordTokens(body, "SOCKADDR");
        while (t.Next(out var key, out var value, out _, out message))
        {
            if (!key.SequenceEqual("saddr"u8)) continue;
            if (!AuditdSyscall.TryHexBytes(value, scratch, out int length) || length < 2) return Bad("SOCKADDR", "saddr", value, out message);
            if (_sockaddr) return true;
            _sockaddr = true;
            var sa = scratch.AsSpan(0, length);
            ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sa);
            _fields.SetU32(RecordLayout.SaddrFam, family);
            var addr = Addr;
            switch (family)
            {
                case 2 when length >= 8: // AF_INET
                    _fields.SetU32(RecordLayout.Port, BinaryPrimitives.ReadUInt16BigEndian(sa[2..]));
                    SetLength(addr, InetText.Format(sa.Slice(4, 4), _fields.StringArea(addr)));
                    break;
                case 10 when length >= 24: // AF_INET6
                    _fields.SetU32(RecordLayout.Port, BinaryPrimitives.ReadUInt16BigEndian(sa[2..]));
                    SetLength(addr, InetText.Format(sa.Slice(8, 16), _fields.StringArea(addr)));
                    break;
                case 1: // AF_UNIX: a path, or an abstract name after a NUL (shown as @name, as ausearch does)
                    var path = sa[2..];
                    if (path.Length > 0 && path[0] == 0)
                    {
                        var name = path[1..].TrimEnd((byte)0);
                        SetString(addr, [(byte)'@', .. name]);
                    }
                    else
                    {
                        int nul = path.IndexOf((byte)0);
                        SetString(addr, nul < 0 ? path : path[..nul]);
                    }
                    break;
            }
            return true;
        }
        return message is null;
    }

    private bool Openat2(ReadOnlySpan<byte> body, out string? message)
    {
        var t = new RecordTokens(body, "OPENAT2");
        while (t.Next(out var key, out var value, out _, out message))
            if (key.SequenceEqual("oflag"u8))
            {
                if (!TryOctal(value, out ulong flags)) return Bad("OPENAT2", "oflag", value, out message);
                _fields.SetU32(RecordLayout.Oflag, (uint)flags);
                return true;
            }
        return message is null;
    }

    // ---- the event's record ---------------------------------------------------------------------------

    /// <summary>
    /// Puts the event's time and serial into <paramref name="record"/> and, when any of these records came, their
    /// fields, with each PATH item's name resolved against the cwd (<see cref="PathNames.Resolve"/>). The record
    /// is the one its SYSCALL (or ANOM_ABEND) record was just decoded into, so its strings are empty.
    /// </summary>
    public void ApplyTo(RecordBuilder record, AuditdEventId id, AuxFields wanted)
    {
        record.SetU64(RecordLayout.Time, id.Seconds * 1000 + id.Millis);
        record.SetU64(RecordLayout.Serial, id.Serial);
        if (!_any) return;
        foreach (var (start, end) in ScalarRuns) record.CopyHeader(_fields, start, end);
        // Only the strings set are copied (the record's are empty).
        for (int set = _stringsSet; set != 0; set &= set - 1)
        {
            var (field, decodedBy) = Strings[System.Numerics.BitOperations.TrailingZeroCount(set)];
            if ((wanted & decodedBy) != 0 && _fields.GetString(field) is { IsEmpty: false } value) record.SetString(field, value);
        }
        if ((wanted & AuxFields.PathName) == 0) return;
        var cwd = _fields.GetString(Cwd);
        for (int items = _items; items != 0; items &= items - 1)
        {
            int i = System.Numerics.BitOperations.TrailingZeroCount(items);
            var name = _fields.GetString(Names[i]);
            if (name.Length > 0) record.SetLength(Paths[i], Math.Max(0, PathNames.Resolve(name, cwd, record.StringArea(Paths[i]))));
        }
    }

    // ---- values ---------------------------------------------------------------------------------------

    private static bool TryOctal(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > 22) return false;
        foreach (byte c in text)
        {
            uint d = (uint)(c - '0');
            if (d > 7) return false;
            value = value << 3 | d;
        }
        return true;
    }

    private static bool Bad(string record, string field, ReadOnlySpan<byte> value, out string? message)
    {
        message = $"{record} field '{field}': cannot decode {AuditdSyscall.Show(value)}";
        return false;
    }

}

/// <summary>
/// A PATH item's name made absolute and normalised (spec/record.md, "PATH items"): joined to the cwd when
/// relative, then empty and <c>.</c> components dropped and <c>..</c> removing the one before, lexically (no
/// symbolic link is followed); no trailing '/' but for the root.
/// </summary>
public static class PathNames
{
    /// <summary>The resolved path's length in <paramref name="into"/>, or -1 when there is none (relative without a cwd, too long).</summary>
    // SkipLocalsInit: `starts` (8 KB for a 4 KB path area) is written before it is read, and zeroing it
    // was most of resolving a short path.
    [SkipLocalsInit]
    public static int Resolve(ReadOnlySpan<byte> name, ReadOnlySpan<byte> cwd, Span<byte> into)
    {
        bool absolute = name.Length > 0 && name[0] == (byte)'/';
        if (!absolute && (cwd.Length == 0 || cwd[0] != (byte)'/')) return -1;
        // Most names (and cwds) are normal already: copied as they are, which is what the walk would make.
        if (absolute ? Normal(name) : Normal(cwd) && name.Length > 0 && name[0] != (byte)'.' && Normal(name))
        {
            int prefix = absolute || cwd.Length == 1 ? 0 : cwd.Length;
            int length = prefix + (absolute ? 0 : 1) + name.Length;
            if (length > into.Length) return -1;
            if (!absolute)
            {
                cwd[..prefix].CopyTo(into);
                into[prefix] = (byte)'/';
            }
            name.CopyTo(into[(length - name.Length)..]);
            return length;
        }
        int n = 0;
        Span<int> starts = stackalloc int[into.Length / 2 + 1];
        int depth = 0;
        bool ok = true;
        void Walk(ReadOnlySpan<byte> path, Span<byte> into, Span<int> starts)
        {
            foreach (var range in path.Split((byte)'/'))
            {
                var part = path[range];
                if (part.Length == 0 || part.SequenceEqual("."u8)) continue;
                if (part.SequenceEqual(".."u8))
                {
                    if (depth > 0) n = starts[--depth];
                    continue;
                }
                if (n + 1 + part.Length > into.Length) { ok = false; return; }
                starts[depth++] = n;
                into[n++] = (byte)'/';
                part.CopyTo(into[n..]);
                n += part.Length;
            }
        }
        if (!absolute) Walk(cwd, into, starts);
        if (ok) Walk(name, into, starts);
        if (!ok) return -1;
        if (n == 0) into[n++] = (byte)'/';
        return n;
    }

    /// <summary>
    /// Whether the walk would leave <paramref name="path"/> as it is: no empty, <c>.</c> or <c>..</c> component
    /// (no "//", no "/." at all) and no '/' at the end but for the root. A relative one must not start with '.'.
    /// </summary>
    private static bool Normal(ReadOnlySpan<byte> path) =>
        path.Length > 0 && (path.Length == 1 || path[^1] != (byte)'/') && path.IndexOf("//"u8) < 0 && path.IndexOf("/."u8) < 0;
}

/// <summary>
/// An IPv4 or IPv6 address as text, as inet_ntop writes it (what ausearch -i shows): dotted quad; IPv6 in lower-case
/// hex groups with the first longest run of two or more zero groups as <c>::</c>, and an IPv4-mapped
/// (<c>::ffff:a.b.c.d</c>) or IPv4-compatible (<c>::a.b.c.d</c>) address with its last 32 bits dotted. No allocation.
/// </summary>
internal static class InetText
{
    /// <summary>Writes <paramref name="address"/> (4 or 16 bytes) into <paramref name="into"/> (at least 46 bytes); returns the length.</summary>
    public static int Format(ReadOnlySpan<byte> address, Span<byte> into)
    {
        if (address.Length == 4) return Dotted(address, into);
        Span<int> words = stackalloc int[8];
        for (int i = 0; i < 8; i++) words[i] = address[2 * i] << 8 | address[2 * i + 1];
        int bestAt = -1, bestLength = 0;
        for (int i = 0; i < 8;)
        {
            if (words[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && words[j] == 0) j++;
            if (j - i > bestLength) (bestAt, bestLength) = (i, j - i);
            i = j;
        }
        if (bestLength < 2) bestAt = -1;
        int n = 0;
        for (int i = 0; i < 8; i++)
        {
            if (i == bestAt)
            {
                if (i == 0) into[n++] = (byte)':';
                into[n++] = (byte)':';
                i += bestLength - 1;
                continue;
            }
            if (i == 6 && bestAt == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xffff)))
                return n + Dotted(address[12..], into[n..]);
            n += Hex(words[i], into[n..]);
            if (i < 7) into[n++] = (byte)':';
        }
        return n;
    }

    private static int Dotted(ReadOnlySpan<byte> four, Span<byte> into)
    {
        int n = 0;
        for (int i = 0; i < 4; i++)
        {
            if (i > 0) into[n++] = (byte)'.';
            System.Buffers.Text.Utf8Formatter.TryFormat(four[i], into[n..], out int written);
            n += written;
        }
        return n;
    }

    private static int Hex(int word, Span<byte> into)
    {
        System.Buffers.Text.Utf8Formatter.TryFormat((uint)word, into, out int written, new System.Buffers.StandardFormat('x'));
        return written;
    }
}
