namespace Filter.Audit.Formats;

/// <summary>
/// The KEY=VALUE fields of a record's kernel text, up to any \x1d (auditd's ENRICHED tail): the one
/// tokenizer of the SYSCALL record (<see cref="AuditdSyscall"/>) and the others (<see cref="EventExtras"/>).
/// Keys and unquoted values are found eight bytes at a time (<see cref="AuditdSyscall.ScanTo"/>).
/// </summary>
internal ref struct RecordTokens(ReadOnlySpan<byte> text, string record)
{
    private readonly ReadOnlySpan<byte> _text = text;

    /// <summary>Where the next field is looked for; set it to a field's start to read on from there.</summary>
    public int Position;

    /// <summary>Where the key <see cref="Next"/> returned last starts.</summary>
    public int KeyAt { get; private set; }

    /// <summary>
    /// Skips the spaces before the next field: false at the end of the kernel's text (the end, or \x1d),
    /// else <see cref="Position"/> is that field's start.
    /// </summary>
    public bool AtField()
    {
        var text = _text;
        int at = Position;
        while (at < text.Length && text[at] == (byte)' ') at++;
        Position = at;
        return at < text.Length && text[at] != 0x1d;
    }

    /// <summary>
    /// The next field. False at the end of the kernel's text (<paramref name="message"/> null) or on a field
    /// that is not KEY=VALUE or a quoted value left open (<paramref name="message"/> says which).
    /// </summary>
    public bool Next(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out bool quoted, out string? message)
    {
        key = value = default;
        quoted = false;
        message = null;
        if (!AtField()) return false;
        // The position in a local: a loop over the field stores it every step.
        var text = _text;
        int at = Position, start = at;
        KeyAt = start;
        at = AuditdSyscall.KeyEnd(text, at);
        key = text[start..at];
        if (at >= text.Length || text[at] != (byte)'=')
        {
            // The kernel writes only KEY=VALUE fields: a bare word is a line cut short (`... a2=3 a3`) or damaged.
            message = $"{record} record: '{AuditdSyscall.Show(key)}' is not a KEY=VALUE field (the line is cut short or damaged)";
            return false;
        }
        if (!Value(text, at + 1, out value, out quoted, out int end))
        {
            message = $"{record} field '{AuditdSyscall.Show(key)}': unterminated quoted value";
            return false;
        }
        Position = end;
        return true;
    }

    /// <summary>
    /// The value starting at <paramref name="at"/> (just after its '='): a quoted one to its closing quote
    /// (false if there is none), any other to the next ' ' or \x1d; <paramref name="end"/> is just past it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Value(ReadOnlySpan<byte> text, int at, out ReadOnlySpan<byte> value, out bool quoted, out int end)
    {
        quoted = at < text.Length && text[at] == (byte)'"';
        if (quoted)
        {
            int close = text[(at + 1)..].IndexOf((byte)'"');
            value = close < 0 ? default : text.Slice(at + 1, close);
            end = at + close + 2;
            return close >= 0;
        }
        end = AuditdSyscall.ValueEnd(text, at);
        value = text[at..end];
        return true;
    }
}
