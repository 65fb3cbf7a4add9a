using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Filter.Verifier;
using Filter.VM;

namespace Filter.Audit.Formats;

/// <summary>
/// Reads auditd logs (<c>/var/log/audit/audit.log</c>, RAW or ENRICHED format) event by event. An event is
/// the group of records (lines) that share one <c>msg=audit(SECONDS.MILLIS:SERIAL)</c> id: SYSCALL,
/// EXECVE, CWD, PATH, PROCTITLE, ... A filter sees the event's record, decoded into the
/// <see cref="RecordBuilder"/> that <see cref="Read"/> fills: its SYSCALL record, or for an event without one
/// but with an ANOM_ABEND record (a crash), the <c>type == signal</c> record the live source makes of it
/// (<see cref="AuditdSyscall.TryParseAnomAbend"/>). Every event also keeps its original lines, byte for byte,
/// so a caller can print the events that match.
/// </summary>
/// <remarks>
/// <para><b>Lines.</b> <c>[node=NAME ]type=TYPE msg=audit(SEC.MSEC:SERIAL): TEXT[\x1dENRICHED]</c>, optionally
/// ending in '\r'. Only the kernel text before <c>\x1d</c> is read (the ENRICHED tail only interprets it),
/// and only for SYSCALL records and an event's first ANOM_ABEND record; other records are grouped by their
/// id and never parsed further. Blank lines are skipped (but counted). A line that does not have that
/// shape, a SYSCALL or ANOM_ABEND record whose fields do not decode (<see cref="AuditdSyscall"/>), a second
/// SYSCALL record in one event, or a line longer than
/// the limit is an error (<see cref="InputErrors"/>): the line is left out of its event and reading can go on.</para>
///
/// <para><b>Grouping.</b> Records of one event are normally adjacent, but concurrent events interleave, and
/// a log need not contain the EOE record that ends an event. An event is <i>complete</i> when (1) its EOE
/// record arrives; or (2) a new event starts while <c>maxOpenEvents</c> events are held — the oldest is
/// then complete (so without EOE, an event is emitted when the <c>maxOpenEvents</c>-th event after it
/// starts); or (3) the held lines exceed the byte bound (<c>max(64 MiB, maxLineBytes)</c>) — the oldest
/// event is then complete; or (4) the input ends. Events are emitted in the order of their first line,
/// an event complete by EOE waiting for the older ones. A line whose event was already complete starts a
/// new event with the same id (a straggler more than <c>maxOpenEvents</c> events late). Memory is thus
/// bounded by the event count and the byte bound, whatever the input.</para>
///
/// <para><b>Sources.</b> Several inputs (rotated logs, oldest first) are read as one log: events continue
/// across a file boundary, and each line keeps its own source and 1-based line number. Compressed
/// inputs are handled by <see cref="AuditdInput"/>. An input that cannot be opened or whose compressed
/// data is corrupt is an error (line 0, or the line reached), and reading goes on with the next input.</para>
///
/// <para><b>Cost.</b> Lines are found by a <see cref="LineReader"/> (a vectorised search in one pooled
/// buffer) and copied once into pooled per-event storage; numbers are parsed in place. In steady state a
/// line allocates nothing.</para>
/// </remarks>
public sealed class AuditdReader : IDisposable
{
    private const int MinBufferedBytes = 64 << 20;

    private readonly AuditdSource[] _sources;
    private readonly int _maxLineBytes;
    private readonly int _maxOpenEvents;
    private readonly long _maxBufferedBytes;

    private int _sourceIndex;
    private Stream? _stream;
    private LineReader? _lines;
    private long _lineNumber, _linesRead;

    // Held events in first-line order: a ring of maxOpenEvents + 1 slots.
    private readonly PendingEvent?[] _ring;
    private int _head, _count;
    private long _bufferedBytes;
    private readonly Stack<PendingEvent> _free;
    private readonly AuditdReaderPool? _pool;
    private PendingEvent? _current;

    private RecordBuilder _scratchRecord = new();
    private AuditdEventId _newestId;
    // The previous line's id as text ("SECONDS.MILLIS:SERIAL):"): the records of one event are usually
    // adjacent, so most lines repeat it, and comparing ~25 bytes is cheaper than parsing three numbers.
    private readonly byte[] _lastIdText = new byte[64];
    private int _lastIdLength;
    // Where the '.' and ':' are in _lastIdText (none yet: past any prefix).
    private int _lastDot = int.MaxValue, _lastColon = int.MaxValue;
    private AuditdEventId _lastId;
    private readonly byte[] _hexScratch = new byte[RecordLayout.ExeMaxLength];
    // Ids of the last events ended by a last record, for the EOE records that may follow them.
    private readonly AuditdEventId[] _ended = new AuditdEventId[EndedIdsKept];
    private long _endedNext;
    private Diagnostic? _error;
    private bool _disposed;

    /// <param name="input">The input; read forward only, left open by <see cref="Dispose"/>. Wrap it with
    /// <see cref="AuditdInput.Decompressing"/> first to accept gzip.</param>
    /// <param name="sourceName">The name errors give for the input (a path, or "-" for stdin).</param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes without the '\n'.</param>
    /// <param name="maxOpenEvents">How many events are held while waiting for more of their records.</param>
    public AuditdReader(Stream input, string sourceName, int maxLineBytes = 1 << 20, int maxOpenEvents = 64)
        : this([AuditdSource.Stream(input ?? throw new ArgumentNullException(nameof(input)),
            sourceName ?? throw new ArgumentNullException(nameof(sourceName)))], maxLineBytes, maxOpenEvents)
    {
    }

    /// <param name="sources">The inputs, read in order as one log (rotated files: oldest first).</param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes without the '\n'.</param>
    /// <param name="maxOpenEvents">How many events are held while waiting for more of their records.</param>
    public AuditdReader(IReadOnlyList<AuditdSource> sources, int maxLineBytes = 1 << 20, int maxOpenEvents = 64)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLineBytes, Array.MaxLength - 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOpenEvents, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxOpenEvents, 1 << 20);
        _sources = [.. sources];
        foreach (var s in _sources) ArgumentNullException.ThrowIfNull(s, nameof(sources));
        _maxLineBytes = maxLineBytes;
        _maxOpenEvents = maxOpenEvents;
        _maxBufferedBytes = Math.Max(MinBufferedBytes, maxLineBytes);
        _ring = new PendingEvent?[maxOpenEvents + 1];
        _free = new Stack<PendingEvent>(maxOpenEvents + 2);
    }

    /// <summary>
    /// Where this reader takes its events from and leaves them when disposed, for readers that run one after
    /// another on one thread (null: its own).
    /// </summary>
    public AuditdReaderPool? Pool
    {
        init
        {
            _pool = value;
            if (value is null) return;
            _free = value.Free;
            if (value.Scratch is { } scratch) (_scratchRecord, value.Scratch) = (scratch, null);
        }
    }

    /// <summary>
    /// Names of the SYSCALL fields to decode (null: all). A filter's <c>VerifiedProgram.FieldsRead</c>
    /// is the natural value: fields it does not read are neither decoded nor checked (spec/auditd.md).
    /// </summary>
    public IEnumerable<string>? Fields
    {
        init
        {
            _aux = EventExtras.For(value);
            _fieldsGiven = value is not null;
            // Counting the events with more PATH items than a record holds needs the SYSCALL record's items=.
            _fields = value is null ? AuditdSyscall.AllFields
                : AuditdSyscall.FieldsFor((_aux & AuxFields.Path) != 0 ? value.Append("items") : value);
        }
    }

    /// <summary>
    /// False when the caller never reads an event's lines (counting): they are then not stored, and
    /// <see cref="GetLine"/> must not be called.
    /// </summary>
    public bool KeepLines { get; init; } = true;

    /// <summary>
    /// The line number of the first source's first line: above 1 when that source is the rest of a file from
    /// a line start (a chunk of a parallel run, spec/auditd.md "Parallel runs"); that line then keeps any byte
    /// order mark, as it does when the whole file is read.
    /// </summary>
    public long StartLineNumber { get; init; } = 1;

    /// <summary>
    /// Whether no event is held (an idle point, spec/auditd.md "Parallel runs"): every event started is complete
    /// and was returned. The next <see cref="Read"/> then reads on as a new reader from here would, except for
    /// dropping an EOE record after the last record of its event (<see cref="SawEoe"/>).
    /// </summary>
    public bool Idle => _count == 0;

    /// <summary>Bytes of the current source taken by the lines read so far (their '\n' included).</summary>
    public long Position => _position;

    /// <summary>Whether an EOE record was read: the one kind whose handling looks at events already returned.</summary>
    public bool SawEoe { get; private set; }

    /// <summary>How many of the last events ended by their last record are remembered (<see cref="EndedIds"/>): a power of two.</summary>
    public const int EndedIdsKept = 16;

    /// <summary>
    /// The ids of the last events ended by their last record (at most <see cref="EndedIdsKept"/>, oldest first), by which an EOE
    /// record after one is left out: with <see cref="Idle"/>, all a reader started at an idle point needs
    /// to read on as this one does. Set it on such a reader to what the reader before had here.
    /// </summary>
    public AuditdEventId[] EndedIds
    {
        get
        {
            long count = Math.Min(_endedNext, _ended.Length);
            var ids = new AuditdEventId[count];
            for (long i = 0; i < count; i++) ids[i] = _ended[EndedSlot(_endedNext - count + i)];
            return ids;
        }
        init
        {
            foreach (var id in value) _ended[EndedSlot(_endedNext++)] = id;
        }
    }

    /// <summary>How many records ended their event so far (each one's id goes into <see cref="EndedIds"/>).</summary>
    public long EndedCount => _endedNext;

    private long _position;

    /// <summary>
    /// Which syscall records the caller's filter can match (its <see cref="SyscallMatchTable"/>; null: any).
    /// A SYSCALL record it cannot match is decoded no further than its <c>arch</c> and <c>syscall</c>, its event's
    /// other records are not decoded and its lines not kept: <see cref="CannotMatch"/> tells the caller the
    /// filter's verdict (0) without a record to run it on (spec/auditd.md, "Decoding").
    /// </summary>
    public SyscallMatchTable? Matches { get; init; }

    /// <summary>
    /// Whether the event just read has a SYSCALL record that the <see cref="Matches"/> table rules out: the
    /// filter returns 0 for it whatever its other fields, so it was not decoded (<see cref="Record"/> holds
    /// its arch and syscall only) and its lines may be incomplete.
    /// </summary>
    public bool CannotMatch => Current.CannotMatch;

    private readonly int _fields = AuditdSyscall.AllFields;
    private readonly AuxFields _aux = AuxFields.All;
    private readonly bool _fieldsGiven;
    // Made with the first SYSCALL record (Matches and Fields are set in any order).
    private AuditdSyscall.SyscallFields? _bySyscall;
    private EventExtras _spareExtras = new();
    private long _eventsPastItems;

    /// <summary>
    /// How many events read so far have more PATH items than a record holds (<c>items</c> above
    /// <see cref="RecordLayout.PathItems"/>), counted when the filter reads PATH items: their path, dir and
    /// filetype tests saw only the first ones (spec/record.md, "PATH items").
    /// </summary>
    public long EventsPastPathItems => _eventsPastItems;

    /// <summary>Opens files (gzip or not, recognised by content) as one log, in the given order.</summary>
    public static AuditdReader OpenFiles(IEnumerable<string> paths, int maxLineBytes = 1 << 20, int maxOpenEvents = 64) =>
        new([.. paths.Select(AuditdSource.File)], maxLineBytes, maxOpenEvents);

    // ---- The event just read ----------------------------------------------------------------------------

    /// <summary>The id of the event just read.</summary>
    public AuditdEventId EventId => Current.Id;

    /// <summary>Whether the event has a SYSCALL record (the builder then holds it, a <c>type == syscall</c> record).</summary>
    public bool HasSyscall => Current.HasSyscall;

    /// <summary>
    /// Whether the event has no SYSCALL record but an ANOM_ABEND record: the builder then holds the
    /// <c>type == signal</c> record decoded from the first one (as the live source decodes it).
    /// </summary>
    public bool HasSignal => Current.HasSignal;

    /// <summary>
    /// Whether the builder holds a record (<see cref="HasSyscall"/> or <see cref="HasSignal"/>). Events
    /// without one (USER_*, LOGIN alone, CONFIG_CHANGE, ...) must not match a filter that reads a field.
    /// </summary>
    public bool HasRecord => Current.HasSyscall || Current.HasSignal;

    /// <summary>
    /// Whether the SYSCALL record has a return value (<c>exit=</c>, with <c>success=</c>). exit_group and exit
    /// never return, so their records have neither: the builder then holds exit 0 and success false, but
    /// the kernel's rule engine treats every <c>exit</c> and <c>success</c> test as false for them, whatever
    /// the operator, and a caller mirroring the kernel must do the same.
    /// </summary>
    public bool HasExit => Current.HasExit;

    /// <summary>How many lines (records) the event just read has.</summary>
    public int LineCount => _current?.LineCount ?? 0;

    /// <summary>
    /// The <paramref name="index"/>-th line of the event, in input order, as it was in the input without
    /// its '\n' (with any '\r' and ENRICHED tail). Valid until the next <see cref="Read"/>.
    /// </summary>
    public ReadOnlySpan<byte> GetLine(int index)
    {
        if (!KeepLines) throw new InvalidOperationException("this reader was created with KeepLines = false");
        var line = LineAt(index);
        return Current.Data.AsSpan(line.Start, line.Length);
    }

    /// <summary>The 1-based line number of the event's <paramref name="index"/>-th line in its source.</summary>
    public long GetLineNumber(int index) => LineAt(index).Number;

    /// <summary>The name of the source of the event's <paramref name="index"/>-th line.</summary>
    public string GetLineSource(int index) => _sources[LineAt(index).Source].Name;

    /// <summary>The 1-based line number of the event's first line.</summary>
    public long FirstLineNumber => GetLineNumber(0);

    /// <summary>The problem found when <see cref="Read"/> returned <see cref="ReadResult.Error"/>.</summary>
    public Diagnostic? Error => _error;

    /// <summary>Lines read so far from all sources, blank, bad and over-long ones included.</summary>
    public long LinesRead => _linesRead;

    private PendingEvent Current => _current ?? throw new InvalidOperationException("no event: Read did not return Record");

    private ref readonly LineInfo LineAt(int index)
    {
        var ev = Current;
        if ((uint)index >= (uint)ev.LineCount) throw new ArgumentOutOfRangeException(nameof(index));
        return ref ev.Lines[index];
    }

    // ---- Reading ----------------------------------------------------------------------------------------

    /// <summary>
    /// Reads the next complete event. On <see cref="ReadResult.Record"/> the event's lines are available and,
    /// when <see cref="HasRecord"/>, <paramref name="builder"/> holds its record (otherwise it is cleared). On <see cref="ReadResult.Error"/>, <see cref="Error"/> names the bad line, which is left out;
    /// the caller may stop or read on.
    /// </summary>
    public ReadResult Read(RecordBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var result = Read();
        if (result == ReadResult.Record && HasRecord) builder.CopyFrom(new Record(Record));
        else if (result != ReadResult.Error) builder.Clear();
        return result;
    }

    /// <summary>
    /// The record of the event <see cref="Read()"/> returned, when <see cref="HasRecord"/> (empty otherwise):
    /// header and strings as <see cref="RecordBuilder.Build"/> lays them out, valid until the next read.
    /// </summary>
    public ReadOnlySpan<byte> Record => _current is { } ev && (ev.HasSyscall || ev.HasSignal) ? ev.BuildRecord() : default;

    /// <summary>As <see cref="Read(RecordBuilder)"/>, without copying the record: read it from <see cref="Record"/>.</summary>
    public ReadResult Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Recycle(_current);
        _current = null;
        _error = default;
        while (true)
        {
            if (_count > 0 && _ring[_head]!.Closed) return Emit();

            // Most lines are whole in the line reader's buffer: taken here, without NextLine's source handling.
            if (_lines is { } lines && lines.TryReadBuffered())
            {
                Took(lines);
                if (!AddLine(lines.Line)) return ReadResult.Error;
                continue;
            }
            var status = NextLine(out long overLongBytes);
            if (status == LineStatus.Quiet)
            {
                // Nothing came for a while (IQuietInput): no more records of the events held are coming.
                for (int n = 0; n < _count; n++) _ring[RingSlot(n)]!.Closed = true;
                continue;
            }
            if (status == LineStatus.End)
            {
                if (_count == 0) return ReadResult.End;
                _ring[_head]!.Closed = true;
                continue;
            }
            if (status == LineStatus.Failed) return ReadResult.Error;
            if (overLongBytes > 0)
                return Fail($"line is {overLongBytes} bytes, longer than the limit of {_maxLineBytes} bytes");

            if (!AddLine(_lines!.Line)) return ReadResult.Error;
        }
    }

    // Last: a record after which its event has no more (EventEnd): PROCTITLE, a user-space message, ...
    private enum RecordKind : byte { Other, Syscall, AnomAbend, Eoe, Last }

    /// <summary>Adds one non-empty line to its event, or sets <see cref="Error"/> and returns false.</summary>
    private bool AddLine(ReadOnlySpan<byte> line)
    {
        var text = line.EndsWith((byte)'\r') ? line[..^1] : line;
        // A record line starts with a letter: only the others can be blank.
        if (text.Length == 0 || (text[0] is (byte)' ' or (byte)'\t' && text.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0)) return true;

        if (!TryParseHeader(text, out var kind, out var aux, out var id, out int bodyAt, out string? message))
            return Reject(message!);

        var ev = FindOpen(id);
        // Not for an event whose SYSCALL record came first and rules it out, or whose syscall's rules do not read it.
        if (aux != AuxRecord.None && ev is not null && !EventExtras.Wants(aux, ev.Aux)) aux = AuxRecord.None;
        if (aux != AuxRecord.None)
        {
            // Decoded into the event's extras; a new event's go into the spare ones first, so a bad first line
            // starts no event. Fields of a bad record decoded before the bad one stay (the error is reported).
            var extras = ev?.Extras ?? _spareExtras;
            if (!extras.TryAdd(aux, text[bodyAt..], _hexScratch, ev?.Aux ?? _aux, out message))
            {
                if (ev is null) _spareExtras.Reset();
                return Reject(message!);
            }
            if (ev is null)
            {
                ev = StartEvent(id);
                (ev.Extras, _spareExtras) = (_spareExtras, ev.Extras);
            }
        }
        bool hasExit = false, cannotMatch = false;
        AuxFields? eventFields = null;
        if (kind == RecordKind.Syscall)
        {
            if (ev is { HasSyscall: true })
                return Reject($"a second SYSCALL record for event {id} (the first is at line {ev.Lines[ev.SyscallLine].Number})");
            var bySyscall = Matches is null ? null : _bySyscall ??= new AuditdSyscall.SyscallFields(Matches, _fields, _aux, narrow: _fieldsGiven);
            if (!AuditdSyscall.TryParse(text[bodyAt..], _scratchRecord, _hexScratch, _fields, bySyscall, out hasExit, out cannotMatch, out eventFields, out message))
                return Reject(message!);
        }
        else if (kind == RecordKind.AnomAbend)
        {
            // Only the first ANOM_ABEND of an event without SYSCALL gives its record (as live); the kernel
            // writes one per crash, each with its own serial, so a second one is a line like any other.
            if (ev is { HasSyscall: true } or { HasSignal: true }) kind = RecordKind.Other;
            else if (!AuditdSyscall.TryParseAnomAbend(text[bodyAt..], _scratchRecord, _hexScratch, _fields, out message))
                return Reject(message!);
        }

        // An EOE after the PROCTITLE that ended its event (auditd's plugin feed) has nothing more to say:
        // auditd's logs have no EOE records either.
        if (kind == RecordKind.Eoe) SawEoe = true;
        if (kind == RecordKind.Eoe && ev is null && RecentlyEnded(id)) return true;
        ev ??= StartEvent(id);
        // Only stored bytes count towards the buffered limit (Emit subtracts what the event stored): with
        // KeepLines false nothing is stored, and counting the lines anyway split every event after 64 MB.
        int stored = ev.DataLength;
        ev.CannotMatch |= cannotMatch;
        ev.Append(KeepLines && !ev.CannotMatch ? line : default, _lineNumber, _sourceIndex);
        _bufferedBytes += ev.DataLength - stored;
        if (kind == RecordKind.Syscall)
        {
            // A SYSCALL record is the event's record even if an ANOM_ABEND came first. One ruled out keeps
            // just its arch and syscall (BuildRecord).
            if (cannotMatch) (ev.RuledOutArch, ev.RuledOutSyscall) = (_scratchRecord.GetU32(RecordLayout.Arch), _scratchRecord.GetU32(RecordLayout.Syscall));
            else (ev.Record, _scratchRecord) = (_scratchRecord, ev.Record);
            ev.HasSyscall = true;
            ev.HasSignal = false;
            ev.HasExit = hasExit;
            ev.SyscallLine = ev.LineCount - 1;
            // A record ruled out wants nothing more of its event.
            ev.Aux = cannotMatch ? AuxFields.None : eventFields ?? _aux;
        }
        else if (kind == RecordKind.AnomAbend)
        {
            (ev.Record, _scratchRecord) = (_scratchRecord, ev.Record);
            ev.HasSignal = true;
        }
        else if (kind == RecordKind.Eoe)
        {
            ev.Closed = true;
        }
        else if (kind == RecordKind.Last)
        {
            ev.Closed = true;
            _ended[EndedSlot(_endedNext++)] = id;
        }
        if (_bufferedBytes > _maxBufferedBytes) _ring[_head]!.Closed = true;
        return true;
    }

    // Ring and history slots without an integer division, which every event paid a few times (the ring's
    // length is maxOpenEvents + 1, not a power of two; the history's is one). No faster in a timed count
    // here, but no slower either, and simpler than the modulo it replaces where it wraps.
    private int RingSlot(int n)
    {
        int slot = _head + n;
        return slot < _ring.Length ? slot : slot - _ring.Length;
    }

    private static int EndedSlot(long n) => (int)(n & (EndedIdsKept - 1));

    /// <summary>Whether an event with this id was ended by its last record (EventEnd) lately.</summary>
    private bool RecentlyEnded(AuditdEventId id)
    {
        foreach (var ended in _ended) if (ended == id && id != default) return true;
        return false;
    }

    /// <summary>The held event with this id that can still take records, newest first (the likely one).</summary>
    private PendingEvent? FindOpen(AuditdEventId id)
    {
        // Ids normally grow: an id after every id seen so far cannot be held (without EOE records, 64
        // events are always held, and scanning them for every new event was a fifth of the time).
        if (id.CompareTo(_newestId) > 0)
        {
            _newestId = id;
            return null;
        }
        for (int n = _count - 1; n >= 0; n--)
        {
            var ev = _ring[RingSlot(n)]!;
            if (!ev.Closed && ev.Id == id) return ev;
        }
        return null;
    }

    private PendingEvent StartEvent(AuditdEventId id)
    {
        // Rule (2): at most maxOpenEvents are held; the head is open here (a closed head is emitted before
        // any further line is read), and the slot it frees is the extra one in the ring.
        if (_count >= _maxOpenEvents) _ring[_head]!.Closed = true;
        var ev = _free.Count > 0 ? _free.Pop() : new PendingEvent();
        ev.Id = id;
        ev.Aux = _aux;
        _ring[RingSlot(_count)] = ev;
        _count++;
        return ev;
    }

    private ReadResult Emit()
    {
        var ev = _ring[_head]!;
        _ring[_head] = null;
        _head = RingSlot(1);
        _count--;
        _bufferedBytes -= ev.DataLength;
        _current = ev;
        if ((ev.HasSyscall || ev.HasSignal) && !ev.CannotMatch)
        {
            ev.Extras.ApplyTo(ev.Record, ev.Id, ev.Aux);
            if ((ev.Aux & AuxFields.Path) != 0 && ev.Record.GetU32(RecordLayout.Items) > RecordLayout.PathItems) _eventsPastItems++;
        }
        return ReadResult.Record;
    }

    private void Recycle(PendingEvent? ev)
    {
        if (ev is null) return;
        ev.Reset();
        _free.Push(ev);
    }

    private bool Reject(string message)
    {
        Fail(message);
        return false;
    }

    private ReadResult Fail(string message, bool unreadable = false)
    {
        string source = _sourceIndex < _sources.Length ? _sources[_sourceIndex].Name : _sources[^1].Name;
        _error = unreadable ? InputErrors.Unreadable(source, _lineNumber, message) : InputErrors.Malformed(source, _lineNumber, message);
        return ReadResult.Error;
    }

    // ---- Headers ----------------------------------------------------------------------------------------

    /// <summary>
    /// Parses <c>[node=NAME ]type=TYPE msg=audit(SEC.MSEC:SERIAL):</c> and returns where the record's text
    /// starts. <paramref name="line"/> has no '\r'. (Every line passes here: the messages are built out of
    /// line, so that the position stays in a register and the frame small.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryParseHeader(ReadOnlySpan<byte> line, out RecordKind kind, out AuxRecord aux, out AuditdEventId id, out int bodyAt, out string? message)
    {
        kind = RecordKind.Other;
        aux = AuxRecord.None;
        id = default;
        bodyAt = 0;
        int p = 0;
        if (line.StartsWith("node="u8))
        {
            p = line.IndexOf((byte)' ') + 1;
            if (p == 0) return Malformed(HeaderError.NodeOnly, line, 0, 0, out message);
        }
        if (!line[p..].StartsWith("type="u8)) return Malformed(HeaderError.NoType, line, p, 0, out message);
        p += "type=".Length;
        int end = AuditdSyscall.ScanTo(line, p, (byte)' ', (byte)' ', (byte)' ');
        if (end == p || end == line.Length) return Malformed(HeaderError.NoTypeName, line, p, 0, out message);
        if (!line[end..].StartsWith(" msg=audit("u8)) return Malformed(HeaderError.NoMsg, line, p, end - p, out message);
        (kind, aux) = Classify(line, p, end - p);
        p = end + " msg=audit(".Length;
        var lastIdText = _lastIdText.AsSpan(0, _lastIdLength);
        if (_lastIdLength > 0 && line[p..].StartsWith(lastIdText))
        {
            // Digits cannot contain "):", so a prefix match is the same id.
            id = _lastId;
            p += _lastIdLength;
        }
        else
        {
            // A new id usually repeats the last one's seconds, often its milliseconds too: those are not
            // parsed again (a common prefix reaching past the '.' or ':' means the same digits before it).
            int idAt = p, common = _lastIdLength > 0 ? line[p..].CommonPrefixLength(lastIdText) : 0;
            ulong seconds = _lastId.Seconds, millis = _lastId.Millis;
            int dot = _lastDot, colon = _lastColon;
            if (common <= colon)
            {
                if (common <= dot)
                {
                    p = Number(line, p, (byte)'.', out seconds);
                    dot = p - 1 - idAt;
                }
                else p += dot + 1;
                if (p > 0) p = Number(line, p, (byte)':', out millis);
                colon = p - 1 - idAt;
            }
            else p += colon + 1;
            ulong serial = 0;
            if (p > 0) p = Number(line, p, (byte)')', out serial);
            if (p <= 0 || p >= line.Length || line[p] != (byte)':') return Malformed(HeaderError.BadId, line, 0, 0, out message);
            if (!AuditdEventId.TryCreate(seconds, millis, serial, out id))
            {
                message = TimeOutOfRange(seconds, millis);
                return false;
            }
            p++;
            if (p - idAt <= _lastIdText.Length)
            {
                line[idAt..p].CopyTo(_lastIdText);
                (_lastIdLength, _lastId, _lastDot, _lastColon) = (p - idAt, id, dot, colon);
            }
        }
        bodyAt = p < line.Length && line[p] == (byte)' ' ? p + 1 : p;
        message = null;
        return true;
    }

    private enum HeaderError : byte { NodeOnly, NoType, NoTypeName, NoMsg, BadId }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Malformed(HeaderError error, ReadOnlySpan<byte> line, int at, int length, out string? message)
    {
        message = error switch
        {
            HeaderError.NodeOnly => "expected 'type=' after the node name",
            HeaderError.NoType => $"expected a record 'type=TYPE msg=audit(...)', got '{AuditdSyscall.Show(line[at..])}'",
            HeaderError.NoTypeName => "expected a record type and ' msg=audit(' after 'type='",
            HeaderError.NoMsg => $"expected 'msg=audit(' after 'type={AuditdSyscall.Show(line.Slice(at, length))}'",
            _ => "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):",
        };
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string TimeOutOfRange(ulong seconds, ulong millis) =>
        $"event time {seconds}.{millis:D3} is out of range (seconds at most {AuditdEventId.MaxSeconds}, milliseconds 000 to 999)";

    /// <summary>
    /// What a record of type <c>line[at..(at + length)]</c> is to the reader, from the cache of the types seen.
    /// The line goes on with " msg=audit(" after the type, so the 16 bytes from <paramref name="at"/> that
    /// a type of more than 8 bytes is packed from are all in the line, and 8 bytes for a shorter one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (RecordKind, AuxRecord) Classify(ReadOnlySpan<byte> line, int at, int length)
    {
        var type = line.Slice(at, length);
        if (length > 16) return ClassifyType(type);
        ulong lo = BinaryPrimitives.ReadUInt64LittleEndian(line[at..]), hi = 0;
        if (length > 8) hi = BinaryPrimitives.ReadUInt64LittleEndian(line[(at + 8)..]) & (ulong.MaxValue >> (8 * (16 - length)));
        else lo &= ulong.MaxValue >> (8 * (8 - length));
        ref var slot = ref _types[(int)(((lo ^ (hi * 31) ^ (ulong)length) * 0x9E3779B97F4A7C15UL) >> 59)];
        if (slot.Length != length || slot.Lo != lo || slot.Hi != hi)
        {
            var (kind, aux) = ClassifyType(type);
            slot = new TypeClass { Lo = lo, Hi = hi, Length = length, Kind = kind, Aux = aux };
        }
        return (slot.Kind, slot.Aux);
    }

    private (RecordKind, AuxRecord) ClassifyType(ReadOnlySpan<byte> type)
    {
        if (type.SequenceEqual("SYSCALL"u8)) return (RecordKind.Syscall, AuxRecord.None);
        if (type.SequenceEqual("EOE"u8)) return (RecordKind.Eoe, AuxRecord.None);
        if (type.SequenceEqual("ANOM_ABEND"u8)) return (RecordKind.AnomAbend, AuxRecord.None);
        // Both may hold: a PROCTITLE is decoded into the event and ends it.
        return (EventEnd.IsLast(type) ? RecordKind.Last : RecordKind.Other, EventExtras.KindOf(type, _aux));
    }

    // A record type's classification, cached: a log has a dozen types, and comparing each line's type with
    // every name the reader knows was 3% of reading a log.
    private struct TypeClass
    {
        public ulong Lo, Hi;
        public int Length;
        public RecordKind Kind;
        public AuxRecord Aux;
    }

    private readonly TypeClass[] _types = new TypeClass[32];

    /// <summary>
    /// Decimal digits at <paramref name="p"/> ending with <paramref name="end"/>: the position after
    /// <paramref name="end"/>, or -1 if there are none or something else ends them.
    /// </summary>
    private static int Number(ReadOnlySpan<byte> line, int p, byte end, out ulong value)
    {
        ulong v = 0;
        int n = p;
        while (n < line.Length && (uint)(line[n] - '0') <= 9)
        {
            v = v * 10 + (uint)(line[n] - '0');
            n++;
        }
        value = v;
        if (n == p || n >= line.Length || line[n] != end) return -1;
        // 19 digits cannot overflow; longer numbers are checked the slow way (they are never in real logs).
        if (n - p > 19 && !System.Buffers.Text.Utf8Parser.TryParse(line[p..n], out value, out _)) return -1;
        return n + 1;
    }

    // ---- Sources ----------------------------------------------------------------------------------------

    private enum LineStatus : byte { Line, End, Failed, Quiet }

    /// <summary>
    /// The next line of the current source, moving on to the next source at the end of one. Failed means an
    /// input could not be opened or read; <see cref="Error"/> says why and the next call goes on.
    /// </summary>
    private LineStatus NextLine(out long overLongBytes)
    {
        overLongBytes = 0;
        while (true)
        {
            if (_sourceIndex >= _sources.Length) return LineStatus.End;
            if (_lines is null)
            {
                var source = _sources[_sourceIndex];
                _lineNumber = 0;
                _position = 0;
                try
                {
                    _stream = source.Open();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    _stream = null;
                    Fail($"cannot open: {Diagnostic.Reason(e, source.Name)}", unreadable: true);
                    _sourceIndex++;
                    return LineStatus.Failed;
                }
                _lines = new LineReader(_stream, _maxLineBytes, _sourceIndex == 0 ? StartLineNumber : 1);
            }
            bool more;
            try
            {
                more = _lines.ReadLine(out overLongBytes);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // Corrupt or truncated compressed data: the rest of this input is lost, the others are not.
                _lineNumber = _lines.LineNumber + 1;
                Fail($"cannot read past here: {e.Message}", unreadable: true);
                CloseSource();
                return LineStatus.Failed;
            }
            if (more)
            {
                Took(_lines);
                return LineStatus.Line;
            }
            if (_lines.Quiet) return LineStatus.Quiet;
            CloseSource();
        }
    }

    /// <summary>The bookkeeping of a line read from <paramref name="lines"/>, the current source's.</summary>
    private void Took(LineReader lines)
    {
        (_lineNumber, _position) = (lines.LineNumber, lines.Position);
        _linesRead++;
    }

    private void CloseSource()
    {
        _lines?.Dispose();
        _lines = null;
        if (_stream is not null && !_sources[_sourceIndex].LeaveOpen) _stream.Dispose();
        _stream = null;
        _sourceIndex++;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_sourceIndex < _sources.Length) CloseSource();
        Recycle(_current);
        _current = null;
        for (int n = 0; n < _count; n++)
        {
            var ev = _ring[RingSlot(n)]!;
            _ring[RingSlot(n)] = null;
            Recycle(ev);
        }
        _count = 0;
        if (_pool is null) _free.Clear();
        else _pool.Scratch = _scratchRecord;
    }

    // ---- Held events ------------------------------------------------------------------------------------

    internal struct LineInfo
    {
        public int Start, Length, Source;
        public long Number;
    }

    /// <summary>
    /// An event being assembled: its lines' bytes in one pooled array, and its decoded record (SYSCALL, or
    /// the signal record of an ANOM_ABEND). Arrays rented from the pool go back whenever the event is
    /// recycled, so they follow the events that need them (a handful of large events do not leave every
    /// recycled event holding a large array); a small line table stays with the event (renting and
    /// returning it for every event was a few percent of a run).
    /// </summary>
    internal sealed class PendingEvent
    {
        private const int MinDataBytes = 4096, MinLines = 16;

        public AuditdEventId Id;
        public byte[] Data = [];
        public int DataLength;
        private readonly LineInfo[] _ownLines = new LineInfo[MinLines];
        public LineInfo[] Lines;

        public PendingEvent() => Lines = _ownLines;
        public int LineCount;
        public bool Closed, HasSyscall, HasSignal, HasExit, CannotMatch;
        public int SyscallLine;
        /// <summary>The other records and fields decoded for the event: the reader's, those its syscall's rules read, or none once it is ruled out.</summary>
        public AuxFields Aux;
        public RecordBuilder Record = new();
        public EventExtras Extras = new();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(ReadOnlySpan<byte> line, long number, int source)
        {
            if (Data.Length - DataLength < line.Length || LineCount == Lines.Length) Grow(line.Length);
            if (line.Length > 0) line.CopyTo(Data.AsSpan(DataLength));
            Lines[LineCount++] = new LineInfo { Start = DataLength, Length = line.Length, Source = source, Number = number };
            DataLength += line.Length;
        }

        private void Grow(int lineLength)
        {
            if (Data.Length - DataLength < lineLength)
            {
                long wanted = Math.Max(Math.Max(MinDataBytes, 2L * Data.Length), (long)DataLength + lineLength);
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, wanted));
                Data.AsSpan(0, DataLength).CopyTo(larger);
                if (Data.Length > 0) ArrayPool<byte>.Shared.Return(Data);
                Data = larger;
            }
            if (LineCount == Lines.Length)
            {
                var larger = ArrayPool<LineInfo>.Shared.Rent(2 * Lines.Length);
                Lines.AsSpan(0, LineCount).CopyTo(larger);
                if (Lines != _ownLines) ArrayPool<LineInfo>.Shared.Return(Lines);
                Lines = larger;
            }
        }

        /// <summary>
        /// The event's record, built. Of one ruled out (<see cref="CannotMatch"/>) only the arch and syscall
        /// were decoded: its record is made of those two on first use here, not for every record ruled out
        /// (most never are).
        /// </summary>
        public ReadOnlySpan<byte> BuildRecord()
        {
            if (CannotMatch && !_ruledOutBuilt)
            {
                Record.Clear();
                Record.SetU32(RecordLayout.Arch, RuledOutArch);
                Record.SetU32(RecordLayout.Syscall, RuledOutSyscall);
                _ruledOutBuilt = true;
            }
            return Record.Build();
        }

        public uint RuledOutArch, RuledOutSyscall;
        private bool _ruledOutBuilt;

        /// <summary>Empties the event for reuse, giving its storage back to the pool.</summary>
        public void Reset()
        {
            // Stored only when changed: a reference stored is a write barrier, and most events rent nothing.
            if (Data.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Data);
                Data = [];
            }
            if (Lines != _ownLines)
            {
                ArrayPool<LineInfo>.Shared.Return(Lines);
                Lines = _ownLines;
            }
            DataLength = LineCount = SyscallLine = 0;
            Closed = HasSyscall = HasSignal = HasExit = CannotMatch = _ruledOutBuilt = false;
            Id = default;
            Extras.Reset();
        }
    }
}

/// <summary>
/// Events, with their record builders and the room for their strings, kept from one reader to the next: a
/// parallel run's worker reads chunk after chunk, and a reader of its own for each built all of them again
/// (for a policy that reads paths, ~400 first-touched pages in a 200 MB run). For readers that run one after
/// another, never two at once.
/// </summary>
public sealed class AuditdReaderPool
{
    internal readonly Stack<AuditdReader.PendingEvent> Free = new();
    internal RecordBuilder? Scratch;
}
