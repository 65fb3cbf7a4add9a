using System.Globalization;
using Filter.Compiler.Syntax;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Binding;

/// <summary>
/// The fields that stand for more than one field of the record, with auditctl's meaning (spec/language.md,
/// "Files, keys and time"): <c>path</c>, <c>dir</c> and <c>filetype</c> over the event's PATH items, <c>perm</c>
/// over its call (the kernel's syscall classes and open flags), <c>key</c> per key of the rule that logged it;
/// and date literals. Each is bound to ordinary tests of the record's fields, so every engine runs it unchanged.
/// </summary>
public sealed partial class Binder
{
    /// <summary>Names that are not one record field but tests over several: reserved like field names.</summary>
    internal static readonly IReadOnlySet<string> EventFieldNames = new HashSet<string>(["path", "dir", "filetype", "perm"], StringComparer.Ordinal);

    private static string EventFieldExample(string name) => name switch
    {
        "path" => "path == \"/etc/passwd\"",
        "dir" => "dir == \"/etc\"",
        "filetype" => "filetype == file",
        _ => "perm in (w, a)",
    };

    private static NameSyntax? EventField(SyntaxNode node) => node is NameSyntax n && EventFieldNames.Contains(n.Name) ? n : null;

    /// <summary>The time zone of date literals without an offset (the compiler options' TimeZone).</summary>
    private TimeZoneInfo _timeZone = TimeZoneInfo.Local;

    // ---------------------------------------------------------------- PATH items

    private static readonly ScalarField Items = RecordLayout.ScalarNamed("items")!;

    /// <summary>
    /// Some PATH item i the record holds (i below <c>items</c> and below <see cref="RecordLayout.PathItems"/>)
    /// passes <paramref name="test"/>: <c>items &gt; 0 &amp;&amp; (t0 || items &gt; 1 &amp;&amp; (t1 || ...))</c>,
    /// so an event without items costs one test.
    /// </summary>
    private static BoundBool AnyItem(Func<int, BoundBool> test, TextSpan span)
    {
        BoundBool? rest = null;
        for (int i = RecordLayout.PathItems - 1; i >= 0; i--)
        {
            var here = test(i);
            var body = rest is null ? here : Or([here, rest], span);
            rest = And([new BoundCompare(CompareOp.Greater, new BoundFieldLoad(Items, span), new BoundIntConst((ulong)i, false, false, span), false, span), body], span);
        }
        return rest!;
    }

    private static BoundBool Or(IEnumerable<BoundBool> operands, TextSpan span) => Logical(false, operands, span);
    private static BoundBool And(IEnumerable<BoundBool> operands, TextSpan span) => Logical(true, operands, span);

    /// <summary>A flat &amp;&amp; or || with constants folded away.</summary>
    private static BoundBool Logical(bool isAnd, IEnumerable<BoundBool> operands, TextSpan span)
    {
        var kept = new List<BoundBool>();
        foreach (var o in operands)
        {
            if (o is BoundBoolConst c)
            {
                if (c.Value != isAnd) return new BoundBoolConst(c.Value, span);
                continue;
            }
            if (o is BoundLogical l && l.IsAnd == isAnd) kept.AddRange(l.Operands);
            else kept.Add(o);
        }
        return kept.Count switch
        {
            0 => new BoundBoolConst(isAnd, span),
            1 => kept[0],
            _ => new BoundLogical(isAnd, kept, span),
        };
    }

    private static StringField Name(int item) => RecordLayout.Strings.Single(s => s.Name == $"name{item}");
    private static StringField ItemPath(int item) => RecordLayout.Strings.Single(s => s.Name == $"path{item}");
    private static ScalarField ItemScalar(string name, int item) => RecordLayout.ScalarNamed($"{name}{item}")!;

    private BoundNode? BindEventComparison(BinarySyntax b, NameSyntax field, SyntaxNode other)
    {
        BoundBool? test = field.Name switch
        {
            "path" => PathTest(b, other),
            "dir" => DirTest(b, other),
            _ => NamedValues(field, b, other) is { } values ? ValueTest(field, values, b.Span) : null,
        };
        if (test is null) return null;
        return b.Op == BinaryOp.NotEqual ? Not(test, b.Span) : test;
    }

    /// <summary><c>path op "x"</c>: some item's name as logged, or its resolved path, passes the string test.</summary>
    private BoundBool? PathTest(BinarySyntax b, SyntaxNode other)
    {
        if (other is not StringLiteralSyntax literal || StringOpOf(b.Op) is not { } op)
        {
            Error(b.Op is BinaryOp.Equal or BinaryOp.NotEqual or BinaryOp.StartsWith or BinaryOp.EndsWith or BinaryOp.Contains ? DiagnosticCode.TypeMismatch : DiagnosticCode.OperatorNotApplicable,
                other is StringLiteralSyntax ? b.OpSpan : other.Span,
                "'path' is compared with a string literal by ==, !=, startswith, endswith or contains (path == \"/etc/passwd\")");
            return null;
        }
        return PathTest(op, literal.Value, b.Span, literal.Span);
    }

    private BoundBool? PathTest(StringTestOp op, byte[] value, TextSpan span, TextSpan valueSpan)
    {
        if (value.Length > RecordLayout.NameMaxLength)
            return StringTest(Name(0), op, value, span, valueSpan); // the warning, and false
        return AnyItem(i => Or([new BoundStringTest(Name(i), op, value, span), new BoundStringTest(ItemPath(i), op, value, span)], span), span);
    }

    /// <summary>
    /// <c>dir == "/etc"</c>: some item's resolved path is the directory or under it (auditctl's <c>-F dir=</c> names
    /// the same files, by name rather than by inode). A trailing '/' is the same directory.
    /// </summary>
    private BoundBool? DirTest(BinarySyntax b, SyntaxNode other)
    {
        if (b.Op is not (BinaryOp.Equal or BinaryOp.NotEqual) || other is not StringLiteralSyntax literal)
        {
            Error(b.Op is BinaryOp.Equal or BinaryOp.NotEqual ? DiagnosticCode.TypeMismatch : DiagnosticCode.OperatorNotApplicable,
                b.Op is BinaryOp.Equal or BinaryOp.NotEqual ? other.Span : b.OpSpan,
                "'dir' is compared with a directory by == or != (dir == \"/etc\"): true when a PATH item is the directory or under it");
            return null;
        }
        var dir = literal.Value.AsSpan();
        if (dir.Length == 0 || dir[0] != (byte)'/')
        {
            Error(DiagnosticCode.TypeMismatch, literal.Span, "'dir' needs an absolute directory, starting with '/'");
            return null;
        }
        while (dir.Length > 1 && dir[^1] == (byte)'/') dir = dir[..^1];
        byte[] exact = dir.ToArray(), under = dir.Length == 1 ? exact : [.. exact, (byte)'/'];
        if (exact.Length >= RecordLayout.NameMaxLength)
            return StringTest(ItemPath(0), StringTestOp.Equal, [.. exact, 0], b.Span, literal.Span);
        bool root = exact.Length == 1;
        return AnyItem(i => root
            ? new BoundStringTest(ItemPath(i), StringTestOp.StartsWith, under, b.Span)
            : Or([new BoundStringTest(ItemPath(i), StringTestOp.Equal, exact, b.Span), new BoundStringTest(ItemPath(i), StringTestOp.StartsWith, under, b.Span)], b.Span), b.Span);
    }

    // ---------------------------------------------------------------- filetype and perm: named values

    /// <summary>auditctl's file type names (lib/fieldtab, audit_name_to_ftype) and the S_IFMT value of each.</summary>
    private static readonly IReadOnlyList<(string Name, uint Value)> FileTypes =
    [
        ("file", 0x8000), ("dir", 0x4000), ("socket", 0xC000), ("link", 0xA000), ("character", 0x2000), ("block", 0x6000), ("fifo", 0x1000),
    ];

    /// <summary>The permission letters of <c>-F perm=</c> and their AUDIT_PERM_* bits.</summary>
    private static readonly IReadOnlyList<(string Name, uint Value)> Perms = [("r", 4), ("w", 2), ("x", 1), ("a", 8)];

    private const uint FileTypeMask = 0xF000; // S_IFMT

    private static IReadOnlyList<(string Name, uint Value)> ValuesOf(string field) => field == "filetype" ? FileTypes : Perms;

    /// <summary>The value named <paramref name="name"/> beside <paramref name="field"/> (filetype, perm), or an error.</summary>
    private uint? NamedValue(NameSyntax field, SyntaxNode name)
    {
        var values = ValuesOf(field.Name);
        if (name is NameSyntax n)
            foreach (var (text, value) in values)
                if (text == n.Name) return value;
        string hint = name is NameSyntax m && Spelling.Nearest(m.Name, values.Select(v => v.Name)) is { } near ? $" (did you mean '{near}'?)" : "";
        if (field.Name == "perm" && name is NameSyntax letters && letters.Name.Length > 1 && letters.Name.All(c => "rwxa".Contains(c)))
            hint = $" (for auditctl's perm={letters.Name} write perm in ({string.Join(", ", letters.Name.ToCharArray())}))";
        Error(DiagnosticCode.UnknownName, name.Span,
            $"'{field.Name}' takes {(field.Name == "perm" ? "the permissions" : "the file types")} {string.Join(", ", values.Select(v => v.Name))}{hint}");
        return null;
    }

    private uint? NamedValues(NameSyntax field, BinarySyntax b, SyntaxNode other)
    {
        if (b.Op is not (BinaryOp.Equal or BinaryOp.NotEqual))
        {
            Error(DiagnosticCode.OperatorNotApplicable, b.OpSpan, $"'{field.Name}' is compared with ==, != or in ({EventFieldExample(field.Name)})");
            return null;
        }
        return NamedValue(field, other);
    }

    private BoundBool? BindEventIn(InSyntax node, NameSyntax field)
    {
        if (field.Name is "path")
        {
            var tests = new List<BoundBool>();
            foreach (var e in node.Elements)
            {
                if (e.Hi is null && e.Lo is StringLiteralSyntax s) { if (PathTest(StringTestOp.Equal, s.Value, e.Span, s.Span) is { } t) tests.Add(t); }
                else Error(DiagnosticCode.SetElementNotConstant, e.Span, "a set of paths holds string literals only");
            }
            return _diagnostics.Count > 0 ? null : Or(tests, node.Span);
        }
        if (field.Name is "dir")
        {
            Error(DiagnosticCode.OperatorNotApplicable, node.OpSpan, "'dir' is compared with one directory (dir == \"/etc\"); join several with ||");
            return null;
        }
        // filetype and perm: the values, ORed (perm in (w, a) is auditctl's perm=wa).
        var sets = new List<uint>();
        foreach (var e in node.Elements)
        {
            if (e.Hi is not null) { Error(DiagnosticCode.SetElementNotConstant, e.Span, $"'{field.Name}' values are names, not ranges"); continue; }
            if (NamedValue(field, e.Lo) is { } v) sets.Add(v);
        }
        if (_diagnostics.Count > 0) return null;
        return field.Name == "perm" ? PermTest(sets.Aggregate(0u, (m, v) => m | v), node.Span) : FileTypeTest(sets, node.Span);
    }

    private BoundBool ValueTest(NameSyntax field, uint value, TextSpan span) =>
        field.Name == "perm" ? PermTest(value, span) : FileTypeTest([value], span);

    /// <summary>
    /// <c>filetype == T</c>: some item has an inode of that type (kernel/auditsc.c <c>audit_match_filetype</c>; an item
    /// without an inode has mode 0, which is no type).
    /// </summary>
    private static BoundBool FileTypeTest(IReadOnlyList<uint> types, TextSpan span) =>
        AnyItem(i =>
        {
            var masked = new BoundBinaryInt(IntBinaryOp.BitAnd, new BoundFieldLoad(ItemScalar("mode", i), span), new BoundIntConst(FileTypeMask, false, false, span), false, span);
            return types.Count == 1
                ? new BoundCompare(CompareOp.Equal, masked, new BoundIntConst(types[0], false, false, span), false, span)
                : new BoundInSet(masked, SetBuilder.Build(types.Select(t => new ValueRange(t, t)).ToList(), signed: false)!, span);
        }, span);

    /// <summary>
    /// <c>perm</c> with AUDIT_PERM_* bits <paramref name="mask"/>, decided as kernel/auditsc.c <c>audit_match_perm</c>
    /// decides it, per arch (<c>audit_classify_syscall</c>: lib/audit.c, arch/x86/kernel/audit_64.c, arch/x86/ia32/audit.c):
    /// open, openat and openat2 by their flags (ACC_MODE: O_RDONLY reads, O_WRONLY writes, O_RDWR both), execve
    /// and execveat are x, i386's socketcall is w when it is bind, and every other call by the classes of
    /// include/asm-generic/audit_{read,write,change_attr}.h (<see cref="AuditClassData"/>).
    /// </summary>
    private static BoundBool PermTest(uint mask, TextSpan span)
    {
        var tests = new List<BoundBool> { PermClasses.GetOrAdd(mask & 0xf, ClassesOf) is { } classes ? new BoundSyscallIn(classes, null, span) : new BoundBoolConst(false, span) };
        var flags = AccessModes(mask);
        if (flags is not null)
        {
            tests.Add(And([SyscallsNamed(["open"], span), flags(RecordLayout.ScalarNamed("a1")!)], span));
            tests.Add(And([SyscallsNamed(["openat"], span), flags(RecordLayout.ScalarNamed("a2")!)], span));
            tests.Add(And([SyscallsNamed(["openat2"], span), flags(RecordLayout.ScalarNamed("oflag")!)], span));
        }
        if ((mask & 1) != 0) tests.Add(SyscallsNamed(["execve", "execveat"], span));
        if ((mask & 2) != 0)
            tests.Add(And([SyscallsNamed(["socketcall"], span),
                new BoundCompare(CompareOp.Equal, new BoundFieldLoad(RecordLayout.ScalarNamed("a0")!, span), new BoundIntConst(2, false, false, span), false, span)], span)); // SYS_BIND
        return Or(tests, span);

        Func<ScalarField, BoundBool>? AccessModes(uint m)
        {
            // ACC_MODE(flags) = "\004\002\006\006"[flags & O_ACCMODE]: the AUDIT_PERM_READ (4) and _WRITE (2) bits.
            uint[] acc = [4, 2, 6, 6];
            var modes = Enumerable.Range(0, 4).Where(x => (acc[x] & m) != 0).Select(x => (ulong)x).ToList();
            if (modes.Count == 0) return null;
            return field =>
            {
                if (modes.Count == 4) return new BoundBoolConst(true, span);
                var masked = new BoundBinaryInt(IntBinaryOp.BitAnd, new BoundFieldLoad(field, span), new BoundIntConst(3, false, false, span), false, span);
                return modes.Count == 1
                    ? new BoundCompare(CompareOp.Equal, masked, new BoundIntConst(modes[0], false, false, span), false, span)
                    : new BoundInSet(masked, SetBuilder.Build(modes.Select(v => new ValueRange(v, v)).ToList(), signed: false)!, span);
            };
        }
    }

    // Per perm mask, the syscalls its classes name (the open and exec calls and socketcall apart), per arch:
    // the same for every rule, so built once per mask rather than for each of an imported rule set's perm
    // rules. Null: none on any arch.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<uint, IReadOnlyList<ValueSet?>?> PermClasses = new();

    private static IReadOnlyList<ValueSet?>? ClassesOf(uint mask)
    {
        string[] special = ["open", "openat", "openat2", "execve", "execveat", "socketcall"];
        var names = new List<string>();
        if ((mask & 4) != 0) names.AddRange(AuditClassData.Read);
        if ((mask & 2) != 0) names.AddRange(AuditClassData.Write);
        if ((mask & 8) != 0) names.AddRange(AuditClassData.Attr);
        return PerArch(names.Except(special));
    }

    /// <summary>The record's syscall is one of these names in its arch (absent names match nothing there).</summary>
    private static BoundBool SyscallsNamed(string[] names, TextSpan span) =>
        NamedSets.GetOrAdd(string.Join(' ', names), static (_, names) => PerArch(names), names) is { } perArch
            ? new BoundSyscallIn(perArch, null, span) : new BoundBoolConst(false, span);

    // The sets of the few name lists perm tests use, built once (as the classes) rather than per rule.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<ValueSet?>?> NamedSets = new();

    private static IReadOnlyList<ValueSet?>? PerArch(IEnumerable<string> names)
    {
        var list = names.Distinct().ToList();
        var perArch = AuditArch.All.Select(arch =>
        {
            var ranges = new List<ValueRange>();
            foreach (var name in list)
                if (Syscalls.TryGetNumber(arch.Value, name, out int nr)) ranges.Add(new ValueRange((ulong)nr, (ulong)nr));
            return SetBuilder.Build(ranges, signed: false);
        }).ToList();
        return perArch.All(s => s is null) ? null : perArch;
    }

    // ---------------------------------------------------------------- keys

    /// <summary>
    /// A string test on <c>key</c>, per key: the field is the rule's keys joined by \x01, and <c>key == "x"</c> holds
    /// when one of them is "x" (as <c>ausearch -w -k</c> finds it); <c>startswith</c>, <c>endswith</c> likewise per key,
    /// <c>contains</c> in any key. An event without a key has the one key "". A value holding \x01 is an error: it
    /// would span keys.
    /// </summary>
    private BoundBool? KeyTest(StringTestOp op, byte[] value, TextSpan span, TextSpan valueSpan)
    {
        var key = RecordLayout.StringNamed("key")!;
        if (value.Contains((byte)1))
        {
            Error(DiagnosticCode.OperatorNotApplicable, valueSpan, "a key test is per key, and \\x01 separates keys: test each key on its own (key == \"a\" && key == \"b\")");
            return null;
        }
        BoundBool Test(StringTestOp o, byte[] v) => v.Length > key.MaxLength ? new BoundBoolConst(false, span) : new BoundStringTest(key, o, v, span);
        const byte Sep = 1;
        if (value.Length == 0 && op != StringTestOp.Equal) return new BoundBoolConst(true, span);
        return op switch
        {
            StringTestOp.Equal when value.Length == 0 => Test(StringTestOp.Equal, []),
            StringTestOp.Equal => Or([Test(StringTestOp.Equal, value), Test(StringTestOp.StartsWith, [.. value, Sep]),
                Test(StringTestOp.EndsWith, [Sep, .. value]), Test(StringTestOp.Contains, [Sep, .. value, Sep])], span),
            StringTestOp.StartsWith => Or([Test(StringTestOp.StartsWith, value), Test(StringTestOp.Contains, [Sep, .. value])], span),
            StringTestOp.EndsWith => Or([Test(StringTestOp.EndsWith, value), Test(StringTestOp.Contains, [.. value, Sep])], span),
            _ => Test(StringTestOp.Contains, value),
        };
    }

    // ---------------------------------------------------------------- dates

    /// <summary>
    /// A date literal: milliseconds since 1970-01-01 00:00 UTC, an unsigned integer. Without <c>Z</c> or an offset it
    /// is a time in the compiler's time zone (the compiler options' TimeZone, the machine's local zone by
    /// default, as ausearch reads its times); a local time that does not exist (skipped by a DST change) is an error.
    /// </summary>
    private BoundNode? BindDateTime(DateTimeSyntax d)
    {
        string text = d.Text;
        bool zoned = text.EndsWith('Z') || (text.Length > 10 && text.LastIndexOfAny(['+', '-']) > 10);
        string[] formats = ["yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF"];
        string[] zonedFormats = [.. formats.Select(f => f + "K")];
        if (!DateTime.TryParseExact(text, zoned ? zonedFormats : formats, CultureInfo.InvariantCulture,
                zoned ? DateTimeStyles.AdjustToUniversal : DateTimeStyles.None, out var parsed))
        {
            Error(DiagnosticCode.BadTimeLiteral, d.Span, $"'{text}' is not a date and time (write 2026-12-06, 2026-12-06T10:00:00, ...T10:00:00.250, with Z or +01:00 for a zone)");
            return null;
        }
        DateTime utc;
        if (zoned) utc = DateTime.SpecifyKind(parsed, DateTimeKind.Utc);
        else if (_timeZone.IsInvalidTime(parsed))
        {
            Error(DiagnosticCode.BadTimeLiteral, d.Span, $"{text} does not exist in the time zone {_timeZone.Id} (the clocks skip it); give an offset");
            return null;
        }
        else utc = TimeZoneInfo.ConvertTimeToUtc(parsed, _timeZone);
        if (utc < DateTime.UnixEpoch)
        {
            Error(DiagnosticCode.BadTimeLiteral, d.Span, $"{text} is before 1970, when event times start");
            return null;
        }
        ulong ms = (ulong)((utc - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMillisecond);
        if ((utc - DateTime.UnixEpoch).Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            Error(DiagnosticCode.BadTimeLiteral, d.Span, $"{text} is finer than a millisecond, which event times are not");
            return null;
        }
        return new BoundIntConst(ms, false, true, d.Span);
    }
}
