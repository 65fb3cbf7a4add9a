using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Filter.VM;

namespace Filter.Audit.Formats;

/// <summary>
/// Reads records in the JSON-lines format: one object per line whose keys are the record's field names
/// (<see cref="RecordLayout"/>), <c>arch</c> as a name, <c>success</c> as a boolean, integers as JSON
/// integers, <c>comm</c>/<c>exe</c> as strings. A record must give every field in <see cref="Fields"/> (the
/// filter's) that a record of its type has; other missing fields are 0, false or "". Unknown keys are
/// skipped, lines of only whitespace are skipped (but counted). Every other problem is an
/// error (<see cref="InputErrors"/>) naming the line and key: nothing is dropped silently.
/// </summary>
/// <remarks>
/// The per-line path allocates nothing: lines are found by a <see cref="LineReader"/> (one pooled buffer,
/// a vectorised newline search) and parsed in place with <see cref="Utf8JsonReader"/>; strings go straight
/// into the builder (through a fixed scratch buffer only when they contain escapes). Memory is bounded by
/// the line limit: a longer line is skipped chunk by chunk, never held whole. The reader does not own the
/// stream.
/// </remarks>
public sealed class JsonLinesReader : IDisposable
{
    private readonly LineReader _lines;
    private readonly string _sourceName;
    private readonly int _maxLineBytes;
    private readonly byte[] _unescaped = new byte[MaxUnescapedLength];
    private Diagnostic? _error;
    private bool _disposed, _unreadable;

    /// <param name="input">The input; read forward only, left open by <see cref="Dispose"/>.</param>
    /// <param name="sourceName">The name errors give for the input (a path, or "-" for stdin).</param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes without the '\n'.</param>
    public JsonLinesReader(Stream input, string sourceName, int maxLineBytes = 1 << 20)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLineBytes, Array.MaxLength - 1);
        _lines = new LineReader(input, maxLineBytes);
        _sourceName = sourceName;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>
    /// Names of the fields a record must give (a filter's <c>VerifiedProgram.FieldsRead</c>; null or empty:
    /// none), so that no filter sees an absent field as 0 (spec/record.md, "Records as input"). Exempt are
    /// <c>type</c> (absent: a syscall record), a syscall record's <c>sig</c>, <c>success</c> and <c>exit</c>,
    /// and the fields a signal record does not have (0 by definition: arch, syscall, exit, the arguments, ...).
    /// </summary>
    public IEnumerable<string>? Fields
    {
        init => _required = value is null ? 0 : value.Select(name => Array.FindIndex(Keys, k => k.Name == name))
            .Where(i => i >= 0 && Keys[i].Name != "type").Aggregate(UInt128.Zero, (bits, i) => bits | UInt128.One << i);
    }

    private readonly UInt128 _required;

    /// <summary>
    /// The raw bytes of the line just read, without its '\n' but with any '\r' (so it can be written back
    /// unchanged), and without the UTF-8 byte order mark if it is the first line. Empty after an over-long
    /// line and at the end. Valid until the next <see cref="Read"/>.
    /// </summary>
    public ReadOnlySpan<byte> Line => _lines.Line;

    /// <summary>The 1-based number of the line just read (blank lines count); at the end, the number of lines.</summary>
    public long LineNumber => _lines.LineNumber;

    /// <summary>The problem with the line just read, when <see cref="Read"/> returned <see cref="ReadResult.Error"/>.</summary>
    /// <summary>The error the last <c>Read</c> returned <see cref="ReadResult.Error"/> for.</summary>
    public Diagnostic? Error => _error;

    /// <summary>
    /// Clears <paramref name="builder"/> and reads the next record into it, skipping blank lines. After an
    /// error the reader is past the bad line, so the caller may stop or read on; the builder then holds
    /// whatever fields came before the problem and should not be used.
    /// </summary>
    public ReadResult Read(RecordBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ObjectDisposedException.ThrowIf(_disposed, this);
        builder.Clear();
        _error = default;
        while (true)
        {
            if (_unreadable) return ReadResult.End;
            bool more;
            long overLongBytes;
            try
            {
                more = _lines.ReadLine(out overLongBytes);
            }
            catch (IOException e)
            {
                // The rest of the input is lost: said once, as such, and the reader is at its end.
                _unreadable = true;
                _error = InputErrors.Unreadable(_sourceName, _lines.LineNumber + 1, $"cannot read past here: {e.Message}");
                return ReadResult.Error;
            }
            if (!more) return ReadResult.End;
            if (overLongBytes > 0)
                return Fail($"line is {overLongBytes} bytes, longer than the limit of {_maxLineBytes} bytes");

            var json = _lines.Line;
            if (json.EndsWith((byte)'\r')) json = json[..^1];
            if (json.IndexOfAnyExcept(JsonWhitespace) < 0) continue;

            if (!Utf8.IsValid(json))
                return Fail($"invalid UTF-8 at column {FirstInvalidUtf8(json) + 1}");
            return Parse(json, builder, out string? message) ? ReadResult.Record : Fail(message!);
        }
    }

    private ReadResult Fail(string message)
    {
        _error = InputErrors.Malformed(_sourceName, _lines.LineNumber, message);
        return ReadResult.Error;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _lines.Dispose();
    }

    private static ReadOnlySpan<byte> JsonWhitespace => " \t\r"u8;

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        for (int i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf8(text[i..], out _, out int consumed) != OperationStatus.Done) return i;
            i += consumed;
        }
        return text.Length;
    }

    // ---- Objects --------------------------------------------------------------------------------------

    /// <summary>
    /// Parses one line's object into <paramref name="builder"/>. Utf8JsonReader reports malformed JSON only by
    /// throwing; that is turned into a message here, at the boundary, as every other problem is.
    /// </summary>
    private bool Parse(ReadOnlySpan<byte> json, RecordBuilder builder, out string? message)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                message = $"expected a JSON object, got {Describe(ref reader)}";
                return false;
            }
            UInt128 seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int index = FindKey(ref reader);
                reader.Read();
                if (index < 0)
                {
                    reader.Skip();
                    continue;
                }
                var key = Keys[index];
                if ((seen & (UInt128.One << index)) != 0)
                {
                    message = $"key '{key.Name}': duplicate key";
                    return false;
                }
                seen |= UInt128.One << index;
                if (!SetField(ref reader, key, builder, out message)) return false;
            }
            // The closing brace; with one value per line allowed, anything after it throws here.
            reader.Read();
            message = null;
            return (_required & ~seen) == 0 || Complete(builder, seen, out message);
        }
        catch (JsonException e)
        {
            long at = e.BytePositionInLine ?? reader.BytesConsumed;
            // At the end of the line the reader's complaint is about whatever came last ("'1' is an invalid
            // end of a number"); what matters is that the value was cut short.
            string why = at >= json.Length ? "the line ends before the JSON value does" : Explain(e.Message);
            message = $"invalid JSON at column {at + 1}: {why}";
            return false;
        }
    }

    /// <summary>Whether the keys of <see cref="Fields"/> that the record lacks are ones a record of its type does not have.</summary>
    private bool Complete(RecordBuilder builder, UInt128 seen, out string? message)
    {
        bool signal = builder.Build()[RecordLayout.Type] == RecordLayout.EventTypeSignal;
        UInt128 missing = _required & ~seen & ~(signal ? SignalRecordOptional : SyscallRecordOptional);
        message = missing == 0 ? null
            : $"key '{Keys[(int)UInt128.TrailingZeroCount(missing)].Name}' is missing: the filter reads it, and a {(signal ? "signal" : "syscall")} record must give every field the filter reads";
        return missing == 0;
    }

    private bool SetField(ref Utf8JsonReader reader, Key key, RecordBuilder builder, out string? message)
    {
        message = null;
        switch (key.Kind)
        {
            case ValueKind.Unsigned:
                if (!TryGetUnsigned(ref reader, out ulong unsigned) || unsigned > key.Max)
                {
                    message = $"key '{key.Name}': expected a non-negative integer up to {key.Max}, got {Describe(ref reader)}";
                    return false;
                }
                builder.SetScalar(key.Scalar!, unsigned);
                return true;

            case ValueKind.Signed:
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long signed))
                {
                    message = $"key '{key.Name}': expected an integer from {long.MinValue} to {long.MaxValue}, got {Describe(ref reader)}";
                    return false;
                }
                builder.SetScalar(key.Scalar!, (ulong)signed);
                return true;

            case ValueKind.Boolean:
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    message = $"key '{key.Name}': expected true or false, got {Describe(ref reader)}";
                    return false;
                }
                builder.SetScalar(key.Scalar!, reader.TokenType == JsonTokenType.True ? 1UL : 0UL);
                return true;

            case ValueKind.Arch:
                if (reader.TokenType != JsonTokenType.String)
                {
                    message = $"key '{key.Name}': expected an architecture name ({ArchList}), got {Describe(ref reader)}";
                    return false;
                }
                if (!TryGetText(ref reader, key, out var name, out message)) return false;
                foreach (var (archName, value) in ArchNames)
                {
                    if (name.SequenceEqual(archName))
                    {
                        builder.SetScalar(key.Scalar!, value);
                        return true;
                    }
                }
                message = $"key '{key.Name}': unknown architecture {Describe(ref reader)} (expected {ArchList})";
                return false;

            default:
                if (reader.TokenType != JsonTokenType.String)
                {
                    message = $"key '{key.Name}': expected a string, got {Describe(ref reader)}";
                    return false;
                }
                if (!TryGetText(ref reader, key, out var text, out message)) return false;
                builder.SetString(key.String!, text);
                return true;
        }
    }

    private static bool TryGetUnsigned(ref Utf8JsonReader reader, out ulong value)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number) return false;
        // "-0" is zero, not a negative number; Utf8Parser refuses any sign for unsigned types.
        return reader.TryGetUInt64(out value) || reader.ValueSpan.SequenceEqual("-0"u8);
    }

    /// <summary>
    /// The unescaped UTF-8 of the current string token, no longer than <c>key.Max</c> bytes. Unescaping
    /// happens only when the token has escapes, into a fixed scratch buffer, after its length is known.
    /// </summary>
    private bool TryGetText(ref Utf8JsonReader reader, Key key, out ReadOnlySpan<byte> text, out string? message)
    {
        text = reader.ValueSpan;
        message = null;
        int length = text.Length;
        if (reader.ValueIsEscaped && !JsonEscapes.TryMeasure(text, out length, out int bad))
        {
            message = $"key '{key.Name}': unpaired UTF-16 surrogate escape '{Encoding.UTF8.GetString(text.Slice(bad, 6))}'";
            return false;
        }
        if ((ulong)length > key.Max)
        {
            message = key.Kind == ValueKind.Arch
                ? $"key '{key.Name}': unknown architecture {Describe(ref reader)} (expected {ArchList})"
                : $"key '{key.Name}': string is {length} bytes of UTF-8, longer than the limit of {key.Max}";
            return false;
        }
        if (reader.ValueIsEscaped) text = _unescaped.AsSpan(0, reader.CopyString(_unescaped));
        return true;
    }

    /// <summary>The index in <see cref="Keys"/> of the current property name, or -1 for a key to skip.</summary>
    private static int FindKey(ref Utf8JsonReader reader)
    {
        var name = reader.ValueSpan;
        if (!reader.ValueIsEscaped) return FindKey(name);
        // An escaped key is unescaped only if it could still be a field name ("\u0075id" is "uid").
        if (name.Length > MaxEscapedKeyLength || !JsonEscapes.TryMeasure(name, out int length, out _) || length > MaxKeyLength)
            return -1;
        Span<byte> unescaped = stackalloc byte[MaxKeyLength];
        return FindKey(unescaped[..reader.CopyString(unescaped)]);
    }

    private static int FindKey(ReadOnlySpan<byte> name)
    {
        if (name.Length >= KeysByLength.Length) return -1;
        foreach (int index in KeysByLength[name.Length])
            if (name.SequenceEqual(Keys[index].Utf8)) return index;
        return -1;
    }

    /// <summary>How a value is shown in a message: the JSON token as written (clipped), or its kind.</summary>
    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.String => Clip(reader.ValueSpan, quote: true),
        JsonTokenType.Number => Clip(reader.ValueSpan, quote: false),
        var other => other.ToString(),
    };

    private static string Clip(ReadOnlySpan<byte> token, bool quote)
    {
        const int MaxShown = 40;
        string text = Encoding.UTF8.GetString(token);
        string q = quote ? "\"" : "";
        return text.Length <= MaxShown
            ? q + text + q
            : $"{q}{text[..MaxShown]}...{q} ({token.Length} bytes)";
    }

    /// <summary>
    /// The reader's message without its " LineNumber: 0 | BytePositionInLine: n." suffix (our line and column
    /// say it better) or advice meant for programmers ("Change the reader options.").
    /// </summary>
    private static string Explain(string message)
    {
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (at >= 0) message = message[..at];
        return message.Replace(" Change the reader options.", "", StringComparison.Ordinal);
    }

    // ---- Field table (derived from RecordLayout, the one definition of the fields) ---------------------

    private enum ValueKind : byte { Unsigned, Signed, Boolean, Arch, Text }

    /// <param name="Max">Largest value (integers) or length in bytes (strings).</param>
    private sealed record Key(string Name, byte[] Utf8, ValueKind Kind, ulong Max, ScalarField? Scalar, StringField? String);

    private static readonly Key[] Keys = BuildKeys();

    /// <summary>
    /// The keys a syscall record may leave out — <c>sig</c> (0 but for a signal) and, as in auditd's log,
    /// <c>success</c> and <c>exit</c> (a call that never returns: false and 0) — and those a signal record may
    /// (all but its own). Declared after <see cref="Keys"/>, from which they are computed.
    /// </summary>
    private static readonly UInt128 SyscallRecordOptional = KeyBits(["sig", "success", "exit"]),
        SignalRecordOptional = ~KeyBits([.. AuditdSyscall.SignalRecordFields, "type"]);

    private static UInt128 KeyBits(IEnumerable<string> names) =>
        names.Aggregate(UInt128.Zero, (bits, name) => bits | UInt128.One << Array.FindIndex(Keys, k => k.Name == name));

    private static readonly int MaxKeyLength = Keys.Max(k => k.Utf8.Length);
    // Every byte of a key may be written as a 6-byte \uXXXX escape.
    private static readonly int MaxEscapedKeyLength = 6 * MaxKeyLength;
    private static readonly int[][] KeysByLength = Enumerable.Range(0, MaxKeyLength + 1)
        .Select(length => Enumerable.Range(0, Keys.Length).Where(i => Keys[i].Utf8.Length == length).ToArray())
        .ToArray();

    private static readonly (byte[] Name, uint Value)[] ArchNames =
        AuditArch.All.Select(a => (Encoding.UTF8.GetBytes(a.Name), a.Value)).ToArray();
    private static readonly string ArchList = string.Join(", ", AuditArch.All.Select(a => $"\"{a.Name}\""));
    private static int MaxUnescapedLength => RecordLayout.Strings.Max(s => s.MaxLength);

    private static Key[] BuildKeys()
    {
        var keys = new List<Key>();
        foreach (var f in RecordLayout.Scalars)
        {
            var (kind, max) = f.Name == "arch" ? (ValueKind.Arch, 16UL) : f.IsBoolean ? (ValueKind.Boolean, 1UL) : f.Kind switch
            {
                FieldKind.U8 => (ValueKind.Unsigned, byte.MaxValue),
                FieldKind.U32 => (ValueKind.Unsigned, uint.MaxValue),
                FieldKind.U64 => (ValueKind.Unsigned, ulong.MaxValue),
                _ => (ValueKind.Signed, (ulong)long.MaxValue),
            };
            keys.Add(new Key(f.Name, Encoding.UTF8.GetBytes(f.Name), kind, max, f, null));
        }
        foreach (var s in RecordLayout.Strings)
        {
            if (s.MaxLength > MaxUnescapedLength)
                throw new InvalidOperationException($"string field '{s.Name}' is longer than the reader's scratch buffer");
            keys.Add(new Key(s.Name, Encoding.UTF8.GetBytes(s.Name), ValueKind.Text, (ulong)s.MaxLength, null, s));
        }
        // Duplicate detection keeps one bit per key.
        if (keys.Count > 128) throw new InvalidOperationException("more than 128 record fields");
        return [.. keys];
    }
}

/// <summary>
/// Measures escaped JSON string bodies (as <see cref="Utf8JsonReader.ValueSpan"/> gives them, escape syntax
/// already checked by the reader) without unescaping them.
/// </summary>
file static class JsonEscapes
{
    /// <summary>
    /// The UTF-8 length of <paramref name="escaped"/> once unescaped, or false with the offset of the first
    /// unpaired surrogate escape (<c>\ud800</c>), which has no UTF-8 form and on which Utf8JsonReader throws.
    /// </summary>
    public static bool TryMeasure(ReadOnlySpan<byte> escaped, out int length, out int badEscapeAt)
    {
        length = 0;
        badEscapeAt = -1;
        int i = 0;
        while (true)
        {
            int backslash = escaped[i..].IndexOf((byte)'\\');
            if (backslash < 0)
            {
                length += escaped.Length - i;
                return true;
            }
            length += backslash;
            i += backslash;
            if (escaped[i + 1] != (byte)'u')
            {
                length += 1;
                i += 2;
                continue;
            }
            int codeUnit = Hex4(escaped.Slice(i + 2, 4));
            if (codeUnit is >= 0xD800 and <= 0xDBFF
                && i + 12 <= escaped.Length && escaped[i + 6] == (byte)'\\' && escaped[i + 7] == (byte)'u'
                && Hex4(escaped.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF)
            {
                length += 4;
                i += 12;
                continue;
            }
            if (codeUnit is >= 0xD800 and <= 0xDFFF)
            {
                badEscapeAt = i;
                return false;
            }
            length += codeUnit < 0x80 ? 1 : codeUnit < 0x800 ? 2 : 3;
            i += 6;
        }
    }

    private static int Hex4(ReadOnlySpan<byte> digits)
    {
        int value = 0;
        foreach (byte d in digits)
            value = value << 4 | (d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
        return value;
    }
}
