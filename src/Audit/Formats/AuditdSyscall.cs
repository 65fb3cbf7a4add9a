using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using Filter.Verifier;
using Filter.VM;

namespace Filter.Audit.Formats;

/// <summary>
/// Decodes the kernel text of a SYSCALL record, or of an ANOM_ABEND record into a signal record
/// (<see cref="TryParseAnomAbend"/>) (the part after <c>msg=audit(...): </c>, up to any
/// <c>\x1d</c> that starts auditd's ENRICHED tail) into a <see cref="RecordBuilder"/>, with the kernel's encodings (kernel/auditsc.c
/// <c>audit_log_exit</c>): <c>arch</c> and <c>a0</c>..<c>a3</c> hex without 0x, <c>exit</c> signed decimal,
/// <c>success=yes|no</c>, ids decimal, <c>comm</c>/<c>exe</c> quoted, or hex-encoded bytes when they hold a
/// quote, space, control or non-ASCII byte (<c>audit_log_n_untrustedstring</c>), or <c>(null)</c>.
/// </summary>
/// <remarks>
/// Numbers are parsed in place from the bytes; only an error allocates (its message). Unknown keys are
/// skipped; a known key twice, a value that does not parse, a word that is not <c>KEY=VALUE</c>, or a
/// record without a field the kernel always writes (of those decoded) is an error. Only the requested
/// fields are decoded (and so checked), and the scan stops once all of them are seen: a filter pays only
/// for the fields it reads. <c>a4</c>/<c>a5</c> are never written by the kernel and read as 0 unless present.
/// </remarks>
internal static class AuditdSyscall
{
    private enum Kind : byte { Arch, Syscall, Success, Exit, Hex64, Dec32, Text, Raw }

    private sealed record Key(string Name, byte[] Utf8, Kind Kind, int Offset, int Bit);

    private static readonly Key[] Keys = BuildKeys();
    // Every key name fits in 8 bytes: lookup compares one integer per key.
    private static readonly ulong[] PackedKeys = Keys.Select(k => Pack(k.Utf8)).ToArray();
    private static readonly int RequiredBits = Bit("arch") | Bit("syscall");
    private static readonly int ExitBit = Bit("exit");
    private static readonly int SigBit = Bit("sig");

    /// <summary>
    /// The fields of the record a crash is (<c>type == signal</c>): those the kernel writes in every
    /// ANOM_ABEND record (kernel/audit.c <c>audit_log_abend</c>: <c>auid uid gid ses [subj] pid comm exe sig
    /// res</c>). Every other field of a signal record is 0 by definition (spec/record.md).
    /// </summary>
    internal static readonly IReadOnlyList<string> SignalRecordFields = ["auid", "uid", "gid", "ses", "pid", "comm", "exe", "sig"];

    /// <summary>
    /// What the kernel writes in every SYSCALL record (kernel/auditsc.c <c>audit_log_exit</c>, kernel/audit.c
    /// <c>audit_log_task_info</c>): every field but <c>success</c> and <c>exit</c> (absent for a call that
    /// never returns), <c>a4</c> and <c>a5</c> (never logged) and <c>sig</c> (not a syscall's). A record
    /// without one of them was cut short or damaged: reading it as 0 could make it root.
    /// </summary>
    private static readonly int SyscallAlwaysWritten =
        Keys.Aggregate(0, (bits, k) => bits | k.Bit) & ~(Bit("success") | ExitBit | Bit("a4") | Bit("a5") | Bit("sig"));

    private static readonly int AnomAbendAlwaysWritten = SignalRecordFields.Aggregate(0, (bits, name) => bits | Bit(name));

    /// <summary>Decode every field.</summary>
    public static readonly int AllFields = Keys.Aggregate(0, (bits, k) => bits | k.Bit);

    /// <summary>
    /// The fields to decode for a filter reading <paramref name="names"/>: those, plus <c>arch</c>,
    /// <c>syscall</c>, <c>success</c> and <c>exit</c>, which every record needs (identity, and whether the
    /// call returned). Decoding stops once all of them are seen.
    /// </summary>
    public static int FieldsFor(IEnumerable<string> names) =>
        names.Aggregate(RequiredBits | ExitBit | Bit("success"),
            (bits, name) => bits | (Keys.FirstOrDefault(k => k.Name == name)?.Bit ?? 0));

    /// <summary>
    /// What a reader decodes of a SYSCALL record and its event for one arch and syscall, when it decodes them
    /// for one program alone (spec/auditd.md, "Decoding"): of the reader's fields, those of the program that
    /// <see cref="SyscallMatchTable.FieldsRead"/> says it can read for that syscall, and all the others (those
    /// every record needs). One per reader: it keeps the last answer, records of one syscall come in runs.
    /// </summary>
    internal sealed class SyscallFields
    {
        /// <summary>The program's table.</summary>
        public SyscallMatchTable Matches { get; }

        private readonly int _fields;
        private readonly AuxFields _aux;
        // Per field of the table: its SYSCALL keys (items with a PATH field) and its other records' fields.
        private readonly int[] _keysOf;
        private readonly AuxFields[] _auxOf;
        private readonly int _programKeys;
        private readonly AuxFields _programAux;
        private ulong? _lastRead;
        private (int, AuxFields) _last;

        /// <param name="narrow">False: every record gets <paramref name="fields"/> and <paramref name="aux"/> (a reader that decodes more than the program reads).</param>
        public SyscallFields(SyscallMatchTable matches, int fields, AuxFields aux, bool narrow)
        {
            Matches = matches;
            (_fields, _aux) = (fields, aux);
            // A table of more fields than a mask holds answers all of them: nothing to narrow.
            var names = narrow && matches.Fields.Count <= 64 ? matches.Fields : [];
            int always = FieldsFor([]), items = Bit("items");
            _keysOf = [.. names.Select(n => (FieldsFor([n]) & ~always) | ((EventExtras.For([n]) & AuxFields.Path) != 0 ? items : 0))];
            _auxOf = [.. names.Select(n => EventExtras.For([n]))];
            _programKeys = _keysOf.Aggregate(0, (all, k) => all | k);
            _programAux = _auxOf.Aggregate(AuxFields.None, (all, a) => all | a);
        }

        /// <summary>The SYSCALL fields to decode (bits of <see cref="FieldsFor"/>) and the event's other records' fields.</summary>
        public (int Fields, AuxFields Aux) For(uint arch, uint syscall)
        {
            ulong read = Matches.FieldsRead(arch, syscall);
            if (read != _lastRead) (_lastRead, _last) = (read, For(read));
            return _last;
        }

        private (int, AuxFields) For(ulong read)
        {
            int keys = 0;
            var aux = AuxFields.None;
            for (ulong r = read; r != 0; r &= r - 1)
            {
                int i = System.Numerics.BitOperations.TrailingZeroCount(r);
                if (i >= _keysOf.Length) break;
                keys |= _keysOf[i];
                aux |= _auxOf[i];
            }
            // The program's fields it does not read here are left out; what else the reader decodes stays.
            return (_fields & ~(_programKeys & ~keys), _aux & ~(_programAux & ~aux));
        }
    }

    private static ulong Pack(byte[] name)
    {
        if (name.Length > 8) throw new InvalidOperationException($"key '{Encoding.ASCII.GetString(name)}' is longer than 8 bytes");
        ulong packed = 0;
        for (int i = 0; i < name.Length; i++) packed |= (ulong)name[i] << (8 * i);
        return packed;
    }

    private static int Bit(string name) => Keys.First(k => k.Name == name).Bit;

    private static Key[] BuildKeys()
    {
        var keys = new List<Key>();
        void Add(string name, Kind kind, int offset) =>
            keys.Add(new Key(name, Encoding.ASCII.GetBytes(name), kind, offset, 1 << keys.Count));
        Add("arch", Kind.Arch, RecordLayout.Arch);
        Add("syscall", Kind.Syscall, RecordLayout.Syscall);
        Add("success", Kind.Success, RecordLayout.Success);
        Add("exit", Kind.Exit, RecordLayout.Exit);
        string[] args = ["a0", "a1", "a2", "a3", "a4", "a5"];
        int[] argOffsets = [RecordLayout.A0, RecordLayout.A1, RecordLayout.A2, RecordLayout.A3, RecordLayout.A4, RecordLayout.A5];
        for (int i = 0; i < args.Length; i++) Add(args[i], Kind.Hex64, argOffsets[i]);
        // The SYSCALL record's decimal ids (pid ... ses, and sig of ANOM_ABEND): the u32 fields before the strings.
        foreach (var f in RecordLayout.Scalars)
            if (f.Kind == FieldKind.U32 && f.Offset < RecordLayout.CommDescriptor && f.Name is not ("arch" or "syscall")) Add(f.Name, Kind.Dec32, f.Offset);
        Add("comm", Kind.Text, RecordLayout.CommDescriptor);
        Add("exe", Kind.Text, RecordLayout.ExeDescriptor);
        // The rest of what the SYSCALL record says of the event (kernel/auditsc.c audit_log_exit: items= before
        // ppid, tty= among the task's ids, key= last, via audit_log_key: quoted, hex or (null)).
        Add("items", Kind.Dec32, RecordLayout.Items);
        Add("tty", Kind.Raw, RecordLayout.TtyDescriptor);
        Add("key", Kind.Text, RecordLayout.KeyDescriptor);
        return [.. keys];
    }

    /// <summary>
    /// Clears <paramref name="builder"/> and fills it from <paramref name="text"/>. <paramref name="hasExit"/>
    /// tells whether the record has an <c>exit=</c> field (exit_group and exit never return, so their
    /// records have neither <c>success=</c> nor <c>exit=</c>). <paramref name="scratch"/> holds decoded
    /// hex strings and must be at least <see cref="RecordLayout.ExeMaxLength"/> bytes.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, RecordBuilder builder, byte[] scratch, int fields, out bool hasExit, out string? message) =>
        TryParse(text, builder, scratch, fields, null, out hasExit, out _, out _, out message);

    /// <summary>
    /// As <see cref="TryParse(ReadOnlySpan{byte}, RecordBuilder, byte[], int, out bool, out string?)"/>, and once
    /// <c>arch</c> and <c>syscall</c> are decoded, stops there with <paramref name="cannotMatch"/> true if
    /// <paramref name="bySyscall"/>'s table says no filter can match a record of that arch and syscall: the rest
    /// of the record is neither decoded nor checked (it cannot change the verdict), and of the builder only those
    /// two are certain: the rest may hold an earlier record's fields (clear it before use). A record that can
    /// match is decoded for the fields <paramref name="bySyscall"/> gives for its syscall, and
    /// <paramref name="eventFields"/> says which of its event's other records and fields to decode (null: those
    /// of <paramref name="fields"/>' filter, when the record does not start with arch and syscall).
    /// Not when <c>sig</c> is among <paramref name="fields"/>: the table's promise holds for sig 0 only.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, RecordBuilder builder, byte[] scratch, int fields, SyscallFields? bySyscall,
        out bool hasExit, out bool cannotMatch, out AuxFields? eventFields, out string? message)
    {
        hasExit = cannotMatch = false;
        eventFields = null;
        var matches = (fields & SigBit) != 0 ? null : bySyscall?.Matches;
        if (matches is not null && Leading(text, out uint arch, out uint syscall))
        {
            if (!matches.MayMatch(arch, syscall))
            {
                // Not cleared: a record ruled out is never run, and most are (AuditdReader clears it if it is read).
                builder.SetU32(RecordLayout.Arch, arch);
                builder.SetU32(RecordLayout.Syscall, syscall);
                cannotMatch = true;
                message = null;
                return true;
            }
            (fields, var aux) = bySyscall!.For(arch, syscall);
            eventFields = aux;
        }
        if (!TryParseFields(text, builder, scratch, fields, "SYSCALL", matches, out int seen, out cannotMatch, out message)) return false;
        if (cannotMatch) return true;
        if (!AllWritten(seen, (fields | RequiredBits) & SyscallAlwaysWritten, "SYSCALL", out message)) return false;
        hasExit = (seen & ExitBit) != 0;
        return true;
    }

    /// <summary>
    /// Clears <paramref name="builder"/> and fills it with the <c>type == signal</c> record of an ANOM_ABEND
    /// record's text (kernel/audit.c <c>audit_log_abend</c>: <c>auid uid gid ses [subj] pid comm exe sig res</c>,
    /// written for a process ended by a core-dumping signal, outside any syscall). It has the SYSCALL record's
    /// encodings and no arch, syscall, exit or arguments: those stay 0 (spec/record.md, the record
    /// <c>AuditContext.Signal</c> commits). The one decoding of crash records: the auditd reader, the live
    /// source and the IDS all use it, so a log and the live stream give the same record.
    /// </summary>
    public static bool TryParseAnomAbend(ReadOnlySpan<byte> text, RecordBuilder builder, byte[] scratch, int fields, out string? message)
    {
        if (!TryParseFields(text, builder, scratch, fields, "ANOM_ABEND", null, out int seen, out _, out message)
            || !AllWritten(seen, fields & AnomAbendAlwaysWritten, "ANOM_ABEND", out message)) return false;
        builder.SetScalar(TypeField, RecordLayout.EventTypeSignal);
        return true;
    }

    /// <summary>
    /// Whether every field in <paramref name="wanted"/> (those the caller decodes that the kernel always
    /// writes) was there: one missing is not 0, it is a record cut short.
    /// </summary>
    private static bool AllWritten(int seen, int wanted, string recordName, out string? message)
    {
        int missing = wanted & ~seen;
        message = missing == 0 ? null : Missing(missing, recordName);
        return missing == 0;
    }

    // Apart from AllWritten, whose every call would otherwise allocate the lambda's closure.
    private static string Missing(int missing, string recordName) =>
        $"{recordName} record has no '{Keys.First(k => (k.Bit & missing) != 0).Name}' field (the kernel always writes it: the line is cut short or damaged)";

    private static readonly ScalarField TypeField = RecordLayout.Scalars.Single(f => f.Name == "type");

    /// <summary>
    /// The arch and syscall of a record that starts <c>arch=HEX syscall=DECIMAL </c> as the kernel writes it,
    /// without the general scan, which would decode those two the same way; anything else (another order, a
    /// value it would reject) is left to it.
    /// </summary>
    private static bool Leading(ReadOnlySpan<byte> text, out uint arch, out uint syscall)
    {
        arch = syscall = 0;
        if (!text.StartsWith("arch="u8)) return false;
        var rest = text[5..];
        int space = ScanTo(rest, 0, (byte)' ', (byte)' ', (byte)' ');
        if (space == rest.Length || !TryHex(rest[..space], 8, out ulong a)) return false;
        rest = rest[(space + 1)..];
        if (!rest.StartsWith("syscall="u8)) return false;
        rest = rest[8..];
        int end = ValueEnd(rest, 0);
        if (!TryDecimal(rest[..end], out ulong s) || s > uint.MaxValue) return false;
        (arch, syscall) = ((uint)a, (uint)s);
        return true;
    }

    private static bool MayMatch(SyscallMatchTable matches, RecordBuilder builder) =>
        matches.MayMatch(builder.GetU32(RecordLayout.Arch), builder.GetU32(RecordLayout.Syscall));

    /// <summary>
    /// The shared scan: clears the builder, decodes the requested known keys and returns which keys were seen.
    /// <paramref name="recordName"/> names the record type in messages. With <paramref name="matches"/>, stops
    /// (<paramref name="ruledOut"/>) as soon as arch and syscall are decoded and the table rules them out.
    /// </summary>
    private static bool TryParseFields(ReadOnlySpan<byte> text, RecordBuilder builder, byte[] scratch, int fields, string recordName,
        SyscallMatchTable? matches, out int seen, out bool ruledOut, out string? message)
    {
        ruledOut = false;
        builder.Clear();
        seen = 0;
        var tokens = new RecordTokens(text, recordName);
        if (!InKernelOrder(text, builder, scratch, fields, recordName, matches, ref seen, ref tokens.Position, out ruledOut, out bool done, out message)) return false;
        if (done) return true;
        bool jump = true;
        // Where the first search started, and what had been seen there: a field the search did not find
        // may be among those it passed over (a log not in the kernel's order), which are then read after all.
        int jumpedFrom = -1, seenBeforeJump = 0;
        while (true)
        {
            // Once only the strings at the end of the record (comm, exe, key) are still wanted, the fields
            // before them are passed over in one search (a filter on exe needs no uid).
            if (jump && (fields & ~seen) is not 0 and var pending && (pending & ~LateBits) == 0 && tokens.AtField() && tokens.Position > 0)
            {
                int i = tokens.Position, at = JumpTo(text, i, pending);
                if (at < 0 && jumpedFrom >= 0)
                {
                    (tokens.Position, seen, jump) = (jumpedFrom, seenBeforeJump, false);
                    continue;
                }
                if (at < 0) jump = false;
                else
                {
                    if (jumpedFrom < 0 && at > i) (jumpedFrom, seenBeforeJump) = (i, seen);
                    tokens.Position = at;
                }
            }
            if (!tokens.Next(out var keyBytes, out var value, out bool quoted, out message))
            {
                if (message is not null) return false;
                // The end with a wanted field not found after a search passed fields over: read those too.
                if (!jump || jumpedFrom < 0 || (fields & ~seen) == 0) break;
                (tokens.Position, seen, jump) = (jumpedFrom, seenBeforeJump, false);
                continue;
            }
            var key = FindKey(text, tokens.KeyAt, keyBytes.Length);
            if (key is null) continue;
            var taken = Take(key, value, quoted, ref seen, fields, builder, scratch, recordName, matches, out message);
            if (taken == Taken.Failed) return false;
            if (taken == Taken.Done) break;
            if (taken == Taken.RuledOut)
            {
                ruledOut = true;
                break;
            }
        }
        message = null;
        return true;
    }

    private enum Taken : byte { On, Done, RuledOut, Failed }

    /// <summary>
    /// A known key's field, in the scan and in <see cref="InKernelOrder"/> alike: an error if it was seen
    /// before, decoded if wanted; <see cref="Taken.Done"/> once every wanted field is seen,
    /// <see cref="Taken.RuledOut"/> once arch and syscall are and <paramref name="matches"/> rules them out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Taken Take(Key key, ReadOnlySpan<byte> value, bool quoted, ref int seen, int fields, RecordBuilder builder, byte[] scratch,
        string recordName, SyscallMatchTable? matches, out string? message)
    {
        message = null;
        if ((seen & key.Bit) != 0)
        {
            message = $"{recordName} field '{key.Name}': duplicate field";
            return Taken.Failed;
        }
        seen |= key.Bit;
        if ((key.Bit & fields) == 0) return Taken.On;
        if (!SetField(key, value, quoted, builder, scratch, recordName, out message)) return Taken.Failed;
        if ((seen & fields) == fields) return Taken.Done;
        // The kernel writes arch and syscall first: the caller's verdict on them comes before any other field.
        return matches is not null && (seen & RequiredBits) == RequiredBits && (key.Bit & RequiredBits) != 0 && !MayMatch(matches, builder)
            ? Taken.RuledOut : Taken.On;
    }

    /// <summary>
    /// The SYSCALL record's keys in the order the kernel writes them (kernel/auditsc.c <c>audit_log_exit</c>,
    /// kernel/audit.c <c>audit_log_task_info</c>; <c>subj=</c>, unknown here, may come before <c>key=</c>).
    /// </summary>
    private static readonly Key[] KernelOrder = [.. ((string[])["arch", "syscall", "success", "exit", "a0", "a1", "a2", "a3", "items",
        "ppid", "pid", "auid", "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "tty", "ses", "comm", "exe", "key"])
        .Select(name => Keys.First(k => k.Name == name))];

    // Each key of KernelOrder with its '=' packed little-endian (at most 8 bytes: "syscall="), and the mask
    // of those bytes: a field is the one expected when its first bytes, masked, are these.
    private static readonly ulong[] KernelOrderPacked = [.. KernelOrder.Select(k => Pack([.. k.Utf8, (byte)'=']))];
    private static readonly ulong[] KernelOrderMasks = [.. KernelOrder.Select(k => ulong.MaxValue >> (64 - 8 * (k.Utf8.Length + 1)))];

    /// <summary>
    /// The start of the general scan for a record written as the kernel writes it: while the fields come in
    /// <see cref="KernelOrder"/>, one space apart, each key is checked against the one expected (one compare,
    /// no lookup), and a value not wanted is passed over as the scan would pass it. The scan goes on from
    /// <paramref name="position"/> (where the order ended, or once only the last strings are wanted, which
    /// it finds by a search) with <paramref name="seen"/>; <paramref name="done"/> when nothing is left for
    /// it. Decodes, checks and stops exactly as the scan does on those fields.
    /// </summary>
    private static bool InKernelOrder(ReadOnlySpan<byte> text, RecordBuilder builder, byte[] scratch, int fields, string recordName,
        SyscallMatchTable? matches, ref int seen, ref int position, out bool ruledOut, out bool done, out string? message)
    {
        ruledOut = done = false;
        message = null;
        int at = 0;
        for (int k = 0; k < KernelOrder.Length; k++)
        {
            if (((fields & ~seen) & ~LateBits) == 0) break;
            // Eight bytes at once: the fields after arch are far from the line's end.
            if (at + 8 > text.Length || (BinaryPrimitives.ReadUInt64LittleEndian(text[at..]) & KernelOrderMasks[k]) != KernelOrderPacked[k]) break;
            var key = KernelOrder[k];
            // A quote left open is the scan's to report.
            if (!RecordTokens.Value(text, at + key.Utf8.Length + 1, out var value, out bool quoted, out int end)) break;
            var taken = Take(key, value, quoted, ref seen, fields, builder, scratch, recordName, matches, out message);
            if (taken == Taken.Failed) return false;
            if (taken != Taken.On)
            {
                (ruledOut, done) = (taken == Taken.RuledOut, true);
                return true;
            }
            at = end;
            position = at;
            // One space to the next field, as the kernel writes them; anything else is the scan's.
            if (at + 1 >= text.Length || text[at] != (byte)' ' || text[at + 1] == (byte)' ') break;
            position = ++at;
        }
        return true;
    }

    private static readonly int CommBit = Bit("comm"), ExeBit = Bit("exe"), LateBits = CommBit | ExeBit | Bit("key");

    /// <summary>
    /// Where the first of the wanted late fields (comm, exe, key, in the kernel's order) starts after
    /// <paramref name="i"/>, a field's start: found by searching for " comm=" (or " exe=", " key="), and
    /// taken only where the fields passed over cannot hide it, that is with no ENRICHED tail (0x1d) and an
    /// even number of quotes before it (a quoted value never holds a space or a quote: the kernel writes
    /// such strings in hex). -1 when there is no such place: the caller reads on field by field, and
    /// finds what that finds (a field the kernel writes elsewhere, or a missing one).
    /// </summary>
    private static int JumpTo(ReadOnlySpan<byte> text, int i, int pending)
    {
        var pattern = (pending & CommBit) != 0 ? " comm="u8 : (pending & ExeBit) != 0 ? " exe="u8 : " key="u8;
        int found = text[(i - 1)..].IndexOf(pattern);
        if (found <= 0) return found == 0 ? i : -1;
        var passed = text.Slice(i, found - 1);
        return passed.Contains((byte)0x1d) || (passed.Count((byte)'"') & 1) != 0 ? -1 : i + found;
    }

    /// <summary>Where the key starting at <paramref name="i"/> ends: the first '=', ' ' or 0x1d from there, or the end.</summary>
    internal static int KeyEnd(ReadOnlySpan<byte> text, int i) => ScanTo(text, i, (byte)'=', (byte)' ', 0x1d);

    /// <summary>Where the unquoted value starting at <paramref name="i"/> ends: the first ' ' or 0x1d from there, or the end.</summary>
    internal static int ValueEnd(ReadOnlySpan<byte> text, int i) => ScanTo(text, i, (byte)' ', 0x1d, 0x1d);

    /// <summary>
    /// The index of the first <paramref name="a"/>, <paramref name="b"/> or <paramref name="c"/> at or after
    /// <paramref name="i"/>, or the text's length: eight bytes at a time, for the short tokens of a record
    /// line (a vectorised search costs more to start than it saves on them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ScanTo(ReadOnlySpan<byte> text, int i, byte a, byte b, byte c)
    {
        for (; i + 8 <= text.Length; i += 8)
            if (FirstOf(BinaryPrimitives.ReadUInt64LittleEndian(text[i..]), a, b, c) is < 8 and var stop) return i + stop;
        while (i < text.Length && text[i] != a && text[i] != b && text[i] != c) i++;
        return i;
    }

    /// <summary>
    /// The index of the first of the eight bytes of <paramref name="word"/> (little-endian) equal to
    /// <paramref name="a"/>, <paramref name="b"/> or <paramref name="c"/>; 8 if none is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FirstOf(ulong word, byte a, byte b, byte c)
    {
        // A byte of x ^ broadcast(v) is zero where the word holds v; (x - 0x01..) & ~x & 0x80.. marks the
        // first zero byte exactly (bits above it may be marked too, which the lowest-bit count ignores).
        ulong xa = word ^ (Ones * a), xb = word ^ (Ones * b), xc = word ^ (Ones * c);
        ulong found = ((xa - Ones) & ~xa | (xb - Ones) & ~xb | (xc - Ones) & ~xc) & Highs;
        return BitOperations.TrailingZeroCount(found) >> 3;
    }

    /// <summary>The known key <c>text[at..(at + length)]</c>, or null.</summary>
    private static Key? FindKey(ReadOnlySpan<byte> text, int at, int length)
    {
        if (length > 8) return null;
        // Packed little-endian, as PackedKeys: one load when eight bytes are there (the key is followed by
        // at least its '='), else byte by byte.
        ulong packed = 0;
        if (at + 8 <= text.Length) packed = BinaryPrimitives.ReadUInt64LittleEndian(text[at..]) & (length == 0 ? 0 : ulong.MaxValue >> (64 - 8 * length));
        else for (int k = 0; k < length; k++) packed |= (ulong)text[at + k] << (8 * k);
        var slots = KeySlots;
        for (int slot = SlotOf(packed); ; slot = (slot + 1) & (slots.Length - 1))
        {
            int k = slots[slot] - 1;
            if (k < 0) return null;
            if (PackedKeys[k] == packed && Keys[k].Utf8.Length == length) return Keys[k];
        }
    }

    // The keys by their packed names, open addressing: a record's ~25 fields are each looked up, and a
    // scan of the key list was a fifth of decoding a whole record.
    private static readonly byte[] KeySlots = BuildKeySlots();

    private static int SlotOf(ulong packed) => (int)((packed * 0x9E3779B97F4A7C15UL) >> 58);

    private static byte[] BuildKeySlots()
    {
        var slots = new byte[64];
        for (int k = 0; k < PackedKeys.Length; k++)
        {
            int slot = SlotOf(PackedKeys[k]);
            while (slots[slot] != 0) slot = (slot + 1) & (slots.Length - 1);
            slots[slot] = (byte)(k + 1);
        }
        return slots;
    }

    private static bool SetField(Key key, ReadOnlySpan<byte> value, bool quoted, RecordBuilder builder, byte[] scratch, string recordName, out string? message)
    {
        message = null;
        if (quoted && key.Kind is not (Kind.Text or Kind.Raw))
        {
            message = $"{recordName} field '{key.Name}': expected {Expected(key.Kind)}, got \"{Show(value)}\"";
            return false;
        }
        switch (key.Kind)
        {
            case Kind.Arch:
                if (!TryHex(value, 8, out ulong arch)) break;
                builder.SetU32(key.Offset, (uint)arch);
                return true;
            case Kind.Hex64:
                if (!TryHex(value, 16, out ulong arg)) break;
                builder.SetU64(key.Offset, arg);
                return true;
            case Kind.Syscall:
            case Kind.Dec32:
                if (!TryDecimal(value, out ulong number) || number > uint.MaxValue) break;
                builder.SetU32(key.Offset, (uint)number);
                return true;
            case Kind.Exit:
                if (!TrySigned(value, out long exit)) break;
                builder.SetExit(exit);
                return true;
            case Kind.Success:
                if (value.SequenceEqual("yes"u8)) builder.SetSuccess(true);
                else if (value.SequenceEqual("no"u8)) builder.SetSuccess(false);
                else break;
                return true;
            case Kind.Raw:
                // tty=pts0, tty=(none): written as it is, never hex.
                builder.SetString(RecordLayout.StringAt(key.Offset)!, value);
                return true;
            default:
                if (!TryText(value, quoted, scratch, out var bytes)) break;
                builder.SetString(RecordLayout.StringAt(key.Offset)!, bytes);
                return true;
        }
        message = $"{recordName} field '{key.Name}': expected {Expected(key.Kind)}, got {(quoted ? $"\"{Show(value)}\"" : Show(value))}";
        return false;
    }

    /// <summary>
    /// A value as audit_log_untrustedstring writes it: quoted, hex-encoded bytes when it holds a quote, space,
    /// control or non-ASCII byte, or <c>(null)</c> (the empty string).
    /// </summary>
    internal static bool TryText(ReadOnlySpan<byte> value, bool quoted, byte[] scratch, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (quoted) bytes = value;
        else if (value.SequenceEqual("(null)"u8)) bytes = default;
        else if (TryHexBytes(value, scratch, out int length)) bytes = scratch.AsSpan(0, length);
        else return false;
        return true;
    }

    private static string Expected(Kind kind) => kind switch
    {
        Kind.Arch => "an AUDIT_ARCH value in hex without 0x",
        Kind.Hex64 => "a 64-bit hex number without 0x",
        Kind.Syscall or Kind.Dec32 => "a decimal number up to 4294967295",
        Kind.Exit => "a signed 64-bit decimal number",
        Kind.Success => "yes or no",
        _ => "a quoted string, hex-encoded bytes or (null)",
    };

    /// <summary>A value as shown in a message: printable ASCII as is, other bytes escaped, clipped.</summary>
    internal static string Show(ReadOnlySpan<byte> value)
    {
        const int MaxShown = 40;
        var text = new StringBuilder();
        foreach (byte b in value[..Math.Min(value.Length, MaxShown)])
            text.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}");
        if (value.Length > MaxShown) text.Append($"... ({value.Length} bytes)");
        return text.ToString();
    }

    // ---- Numbers, parsed in place -----------------------------------------------------------------------

    /// <summary>The value of a hex digit (either case), or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int HexDigit(byte c) => HexDigits[c];

    // HexDigit as a table: arch and arguments are hex, and a digit's range tests cost more than a load.
    private static ReadOnlySpan<sbyte> HexDigits =>
    [
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
        -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ];

    internal static bool TryHex(ReadOnlySpan<byte> text, int maxDigits, out ulong value)
    {
        if (text.Length == 8 && maxDigits >= 8) return TryHex8(BinaryPrimitives.ReadUInt64LittleEndian(text), out value);
        ulong v = 0;
        int digits = 0;
        // No branch per digit: a bad one makes the or of all of them negative.
        foreach (byte c in text)
        {
            int d = HexDigit(c);
            digits |= d;
            v = v << 4 | (uint)(d & 0xF);
        }
        value = v;
        return digits >= 0 && text.Length > 0 && text.Length <= maxDigits;
    }

    /// <summary>
    /// Eight hex digits (either case) at once, the first in the low byte of <paramref name="word"/>: every
    /// arch (<c>c000003e</c>) and many arguments are eight digits long.
    /// </summary>
    private static bool TryHex8(ulong word, out ulong value)
    {
        ulong lower = word | Ones * 0x20;
        bool valid = (word & Highs) == 0 && (InRange(word, (byte)'0', (byte)'9') | InRange(lower, (byte)'a', (byte)'f')) == Highs;
        // '0'-'9' have bit 6 clear, letters set: a digit's value is its low nibble, plus 9 for a letter.
        ulong nibbles = (word & Ones * 0x0F) + 9 * ((word >> 6) & Ones);
        // The first digit is the most significant: pair the bytes, then the pairs, then the halves.
        ulong pairs = ((nibbles & 0x00FF00FF00FF00FFUL) << 4) | ((nibbles >> 8) & 0x00FF00FF00FF00FFUL);
        ulong quads = ((pairs & 0x0000FFFF0000FFFFUL) << 8) | ((pairs >> 16) & 0x0000FFFF0000FFFFUL);
        value = valid ? (quads & 0xFFFF) << 16 | quads >> 32 : 0;
        return valid;
    }

    private const ulong Ones = 0x0101010101010101UL, Highs = Ones * 0x80;

    /// <summary>For bytes below 0x80, (b + 0x80 - lo) &amp; ~(b + 0x7f - hi) has its high bit set when lo &lt;= b &lt;= hi.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong InRange(ulong x, byte lo, byte hi) => (x + Ones * (byte)(0x80 - lo)) & ~(x + Ones * (byte)(0x7f - hi)) & Highs;

    internal static bool TryDecimal(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > 20) return false;
        foreach (byte c in text)
        {
            uint d = (uint)(c - '0');
            if (d > 9) return false;
            value = value * 10 + d;
        }
        // 19 digits cannot overflow; 20 are checked the slow way.
        return text.Length < 20 || System.Buffers.Text.Utf8Parser.TryParse(text, out value, out int used) && used == 20;
    }

    private static bool TrySigned(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        bool negative = text.Length > 0 && text[0] == (byte)'-';
        if (!TryDecimal(negative ? text[1..] : text, out ulong magnitude)) return false;
        if (negative)
        {
            if (magnitude > 1UL << 63) return false;
            value = unchecked((long)(0 - magnitude));
        }
        else
        {
            if (magnitude > long.MaxValue) return false;
            value = (long)magnitude;
        }
        return true;
    }

    /// <summary>
    /// Decodes an even-length hex string into <paramref name="scratch"/>, keeping at most its length in
    /// bytes (the builder truncates to the field's maximum anyway) but checking every digit.
    /// </summary>
    internal static bool TryHexBytes(ReadOnlySpan<byte> text, byte[] scratch, out int length)
    {
        length = 0;
        if (text.Length == 0 || text.Length % 2 != 0) return false;
        for (int i = 0; i < text.Length; i += 2)
        {
            int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
            if ((hi | lo) < 0) return false;
            if (length < scratch.Length) scratch[length++] = (byte)(hi << 4 | lo);
        }
        return true;
    }
}
