using System.Globalization;
using Filter.Compiler.Syntax;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Binding;

/// <summary>
/// Resolves names, checks types, types literals and folds constants (spec/language.md). Reports every
/// independent error it finds; a node that failed to bind is null and its parents give up quietly so
/// one mistake is reported once. Policy statements (lists, macros, rules) are in Binder.Policy.cs.
/// </summary>
public sealed partial class Binder
{
    /// <summary>Deepest expression tree accepted; bounds the recursion of every later phase.</summary>
    public const int MaxDepth = 256;

    private readonly List<Diagnostic> _diagnostics = [];
    private readonly List<Diagnostic> _warnings = [];

    private void Error(DiagnosticCode code, TextSpan span, string message) => _diagnostics.Add(new Diagnostic(code, span, message));

    /// <summary>Iterative depth measurement, so an absurdly deep tree is rejected without recursion.</summary>
    private static Diagnostic? CheckDepth(SyntaxNode root)
    {
        var stack = new Stack<(SyntaxNode Node, int Depth)>();
        stack.Push((root, 1));
        while (stack.Count > 0)
        {
            var (node, depth) = stack.Pop();
            if (depth > MaxDepth)
                return new Diagnostic(DiagnosticCode.NestingTooDeep, node.Span, $"expression nested more than {MaxDepth} deep");
            foreach (var child in Children(node)) stack.Push((child, depth + 1));
        }
        return null;
    }

    private static IEnumerable<SyntaxNode> Children(SyntaxNode node) => node switch
    {
        UnarySyntax u => [u.Operand],
        BinarySyntax b => [b.Left, b.Right],
        LogicalSyntax l => l.Operands,
        InSyntax i => i.Elements.Prepend<SyntaxNode>(i.Value),
        InListSyntax i => [i.Value],
        SetElementSyntax e => e.Hi is null ? [e.Lo] : [e.Lo, e.Hi],
        _ => [],
    };

    // ---------------------------------------------------------------- dispatch

    private BoundNode? BindNode(SyntaxNode node) => node switch
    {
        IntLiteralSyntax lit => BindIntLiteral(lit),
        DateTimeSyntax d => BindDateTime(d),
        BoolLiteralSyntax b => new BoundBoolConst(b.Value, b.Span),
        StringLiteralSyntax s => new BoundString(s.Value, s.Span),
        NameSyntax name => BindName(name),
        UnarySyntax u => BindUnary(u),
        BinarySyntax b => BindBinary(b),
        LogicalSyntax l => BindLogical(l),
        InSyntax i => BindIn(i),
        InListSyntax i => BindInList(i),
        _ => throw new InvalidOperationException($"unexpected syntax node {node.GetType().Name}"),
    };

    /// <summary>Only string literals have string type, and only as a comparison operand: never in the bound tree.</summary>
    private sealed record BoundString(byte[] Value, TextSpan Span) : BoundNode(Span);

    /// <summary>A string field as an operand; compiled only as part of a string test.</summary>
    private sealed record BoundStringField(StringField Field, TextSpan Span) : BoundNode(Span);

    private BoundNode? BindIntLiteral(IntLiteralSyntax lit)
    {
        bool hex = lit.Text.StartsWith("0x", StringComparison.Ordinal);
        bool ok = hex
            ? ulong.TryParse(lit.Text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(lit.Text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            Error(DiagnosticCode.NumberTooLarge, lit.Span, $"integer literal {lit.Text} does not fit in 64 bits (the largest is 18446744073709551615 = 0xffffffffffffffff)");
            return null;
        }
        return Literal(value, lit.Span);
    }

    /// <summary>
    /// A literal's own type, used only when both operands are literals: signed if it fits in a signed
    /// 64-bit integer, else unsigned (as C types an unsuffixed constant).
    /// </summary>
    private static BoundIntConst Literal(ulong value, TextSpan span) => new(value, value <= long.MaxValue, true, span);

    private BoundNode? BindName(NameSyntax name)
    {
        if (TryBindDefinitionName(name, out var defined)) return defined;
        if (RecordLayout.ScalarNamed(name.Name) is { } field)
            return field.IsBoolean ? new BoundBoolField(field, name.Span) : new BoundFieldLoad(field, name.Span);
        if (RecordLayout.StringNamed(name.Name) is { } str)
            return new BoundStringField(str, name.Span);
        if (EventFieldNames.Contains(name.Name))
        {
            Error(DiagnosticCode.TypeMismatch, name.Span, $"'{name.Name}' stands for the event's PATH items or its call: it can only be compared ({EventFieldExample(name.Name)})");
            return null;
        }
        if (NamedConstants.TryGet(name.Name, out ulong value, out _))
            return Literal(value, name.Span);
        // `signal` is also an i386 syscall; as a bare name it far more likely means the event type.
        if (TryEventType(name.Name, out _))
            Error(DiagnosticCode.MisplacedName, name.Span, $"'{name.Name}' is an event type name; compare it with the type field (type == {name.Name})");
        else if (Syscalls.IsKnown(name.Name))
            Error(DiagnosticCode.MisplacedName, name.Span, $"'{name.Name}' is a syscall name; compare it with the syscall field (syscall == {name.Name})");
        else if (AuditArch.TryParse(name.Name, out _))
            Error(DiagnosticCode.MisplacedName, name.Span, $"'{name.Name}' is an arch name; compare it with the arch field (arch == {name.Name})");
        else
            UnknownName(name);
        return null;
    }

    private void UnknownName(NameSyntax name)
    {
        var fields = RecordLayout.Scalars.Select(f => f.Name).Concat(RecordLayout.Strings.Select(s => s.Name)).Concat(EventFieldNames);
        string? fieldHint = Spelling.Nearest(name.Name, fields);
        string? constHint = Spelling.Nearest(name.Name, NamedConstants.AllNames);
        if (NearestDefinition(name.Name, fieldHint ?? constHint) is { } definitionHint)
        {
            Error(DiagnosticCode.UnknownDefinition, name.Span, $"unknown macro or list '{name.Name}'{Hint(definitionHint)}");
            return;
        }
        bool looksConstant = name.Name.Length > 0 && char.IsUpper(name.Name[0]);
        if (looksConstant)
            Error(DiagnosticCode.UnknownName, name.Span, $"unknown constant '{name.Name}'{Hint(constHint ?? fieldHint)}");
        else
            Error(DiagnosticCode.UnknownField, name.Span, $"unknown field '{name.Name}'{ComparisonHint(name.Name) ?? Hint(fieldHint ?? constHint)}");
    }

    private static string Hint(string? suggestion) => suggestion is null ? "" : $" (did you mean '{suggestion}'?)";

    // ---------------------------------------------------------------- operators

    private BoundNode? BindUnary(UnarySyntax u)
    {
        var operand = BindNode(u.Operand);
        if (operand is null) return null;
        if (u.Op == UnaryOp.LogicalNot)
        {
            if (operand is BoundBool b)
                return b is BoundBoolConst c ? new BoundBoolConst(!c.Value, u.Span) : new BoundNot(b, u.Span);
            Error(DiagnosticCode.TypeMismatch, u.OpSpan, $"'!' needs a boolean operand, but this is {Describe(operand)}"
                + (operand is BoundInt ? " (use '~' for bitwise not, or compare: x == 0)" : ""));
            return null;
        }
        if (operand is not BoundInt i)
        {
            Error(DiagnosticCode.TypeMismatch, u.OpSpan, $"'{(u.Op == UnaryOp.Negate ? "-" : "~")}' needs an integer operand, but this is {Describe(operand)}");
            return null;
        }
        var op = u.Op == UnaryOp.Negate ? IntUnaryOp.Negate : IntUnaryOp.BitNot;
        if (i is BoundIntConst k)
            return k with { Value = IntOps.Unary(op, k.Value), Span = u.Span };
        return new BoundUnaryInt(op, i, i.Signed, u.Span);
    }

    private BoundNode? BindLogical(LogicalSyntax l)
    {
        var operands = new List<BoundBool>();
        bool failed = false;
        foreach (var syntax in l.Operands)
        {
            var bound = BindNode(syntax);
            if (bound is BoundBool b) operands.Add(b);
            else
            {
                if (bound is not null)
                    Error(DiagnosticCode.TypeMismatch, syntax.Span, $"'{(l.IsAnd ? "&&" : "||")}' needs boolean operands, but this is {Describe(bound)}"
                        + (bound is BoundInt ? " (compare it, e.g. x != 0)" : ""));
                failed = true;
            }
        }
        if (failed) return null;
        // Fold constants: true/false operands disappear or decide the whole chain.
        var kept = new List<BoundBool>();
        foreach (var b in operands)
        {
            if (b is BoundBoolConst c)
            {
                if (c.Value != l.IsAnd) return new BoundBoolConst(c.Value, l.Span);
                continue;
            }
            kept.Add(b);
        }
        return kept.Count switch
        {
            0 => new BoundBoolConst(l.IsAnd, l.Span),
            1 => kept[0],
            _ => new BoundLogical(l.IsAnd, kept, l.Span),
        };
    }

    private BoundNode? BindBinary(BinarySyntax b)
    {
        bool comparison = b.Op is BinaryOp.Equal or BinaryOp.NotEqual or BinaryOp.Less or BinaryOp.LessEqual
            or BinaryOp.Greater or BinaryOp.GreaterEqual or BinaryOp.StartsWith or BinaryOp.EndsWith or BinaryOp.Contains;
        if (comparison && EventField(b.Left) is { } eventField) return BindEventComparison(b, eventField, b.Right);
        if (comparison && b.Op is BinaryOp.Equal or BinaryOp.NotEqual && EventField(b.Right) is { } mirrored)
            return BindEventComparison(b, mirrored, b.Left);
        if (comparison && (NamedOperand(b.Left, b.Right) ?? NamedOperand(b.Right, b.Left)) is { } named)
            return BindNamedComparison(b, named.Field, named.Name);

        var left = comparison ? BindComparisonOperand(b, b.Left, b.Right) : BindNode(b.Left);
        var right = comparison ? BindComparisonOperand(b, b.Right, b.Left) : BindNode(b.Right);
        if (left is null || right is null) return null;
        return comparison ? BindComparison(b, left, right) : BindArithmetic(b, left, right);
    }

    private BoundNode? BindArithmetic(BinarySyntax b, BoundNode left, BoundNode right)
    {
        if (left is not BoundInt l || right is not BoundInt r)
        {
            var bad = left is BoundInt ? right : left;
            Error(DiagnosticCode.TypeMismatch, b.OpSpan, $"'{OpText(b.Op)}' needs integer operands, but {(bad == left ? "the left" : "the right")} one is {Describe(bad)}");
            return null;
        }
        (l, r) = Unify(l, r);
        bool signed = l.Signed && r.Signed;
        var op = ToIntOp(b.Op);
        if (l is BoundIntConst lc && r is BoundIntConst rc)
            return new BoundIntConst(IntOps.Binary(op, lc.Value, rc.Value, signed), signed, lc.IsLiteral && rc.IsLiteral, b.Span);
        return new BoundBinaryInt(op, l, r, signed, b.Span);
    }

    /// <summary>A literal adopts the type of the other operand.</summary>
    private static (BoundInt, BoundInt) Unify(BoundInt l, BoundInt r)
    {
        if (l is BoundIntConst { IsLiteral: true } lc && !(r is BoundIntConst { IsLiteral: true }))
            return (lc with { Signed = r.Signed, IsLiteral = false }, r);
        if (r is BoundIntConst { IsLiteral: true } rc && !(l is BoundIntConst { IsLiteral: true }))
            return (l, rc with { Signed = l.Signed, IsLiteral = false });
        return (l, r);
    }

    private BoundNode? BindComparison(BinarySyntax b, BoundNode left, BoundNode right)
    {
        if (left is BoundStringField || right is BoundStringField || left is BoundString || right is BoundString)
            return BindStringComparison(b, left, right);
        if (b.Op is BinaryOp.StartsWith or BinaryOp.EndsWith or BinaryOp.Contains)
        {
            Error(DiagnosticCode.OperatorNotApplicable, b.OpSpan, $"'{OpText(b.Op)}' compares a string field with a string literal (exe {OpText(b.Op)} \"/tmp/\")");
            return null;
        }
        if (left is BoundBool lb && right is BoundBool rb)
        {
            if (b.Op is not (BinaryOp.Equal or BinaryOp.NotEqual))
            {
                Error(DiagnosticCode.OperatorNotApplicable, b.OpSpan, $"'{OpText(b.Op)}' does not apply to booleans; only == and != do");
                return null;
            }
            return BoolEquals(lb, rb, b.Op == BinaryOp.NotEqual, b.Span);
        }
        if (left is BoundInt l && right is BoundInt r)
        {
            (l, r) = Unify(l, r);
            bool signed = l.Signed && r.Signed;
            var op = ToCompareOp(b.Op);
            if (l is BoundIntConst lc && r is BoundIntConst rc)
                return new BoundBoolConst(IntOps.Compare(op, lc.Value, rc.Value, signed), b.Span);
            if (op is CompareOp.Equal or CompareOp.NotEqual) WarnIfOutOfRange(l, r, b.Span);
            return new BoundCompare(op, l, r, signed, b.Span);
        }
        Error(DiagnosticCode.TypeMismatch, b.OpSpan, $"cannot compare {Describe(left)} with {Describe(right)}");
        return null;
    }

    private static BoundBool BoolEquals(BoundBool l, BoundBool r, bool negate, TextSpan span)
    {
        // success == true is success; success == false is !success; constants fold away.
        if (l is BoundBoolConst lc) (l, r) = (r, lc);
        if (r is BoundBoolConst rc)
        {
            if (l is BoundBoolConst c) return new BoundBoolConst((c.Value == rc.Value) != negate, span);
            return rc.Value != negate ? l : new BoundNot(l, span);
        }
        BoundBool eq = new BoundBoolEquals(l, r, span);
        return negate ? new BoundNot(eq, span) : eq;
    }

    private BoundNode? BindStringComparison(BinarySyntax b, BoundNode left, BoundNode right)
    {
        if (left is BoundString && right is BoundStringField && b.Op is BinaryOp.Equal or BinaryOp.NotEqual)
            (left, right) = (right, left);
        if (left is not BoundStringField field || right is not BoundString value)
        {
            Error(DiagnosticCode.TypeMismatch, b.OpSpan,
                b.Op is BinaryOp.StartsWith or BinaryOp.EndsWith or BinaryOp.Contains
                    ? $"'{OpText(b.Op)}' needs a string field on the left and a string literal on the right (exe {OpText(b.Op)} \"/tmp/\")"
                    : $"a string comparison needs a string field (comm, exe, ...) and a string literal, not {Describe(left)} and {Describe(right)}");
            return null;
        }
        if (StringOpOf(b.Op) is not { } op)
        {
            Error(DiagnosticCode.OperatorNotApplicable, b.OpSpan, $"'{OpText(b.Op)}' does not apply to strings; use ==, !=, startswith, endswith or contains");
            return null;
        }
        var test = StringTest(field.Field, op, value.Value, b.Span, value.Span);
        if (test is null) return null;
        return b.Op == BinaryOp.NotEqual ? Not(test, b.Span) : test;
    }

    private static StringTestOp? StringOpOf(BinaryOp op) => op switch
    {
        BinaryOp.Equal or BinaryOp.NotEqual => StringTestOp.Equal,
        BinaryOp.StartsWith => StringTestOp.StartsWith,
        BinaryOp.EndsWith => StringTestOp.EndsWith,
        BinaryOp.Contains => StringTestOp.Contains,
        _ => null,
    };

    private static BoundBool Not(BoundBool test, TextSpan span) => test is BoundBoolConst c ? c with { Value = !c.Value } : new BoundNot(test, span);

    /// <summary>
    /// <c>FIELD op "value"</c>: one string test, except on <c>key</c>, whose tests are per key (<see cref="KeyTest"/>).
    /// A value longer than the field can hold is decided now (and warned about: almost certainly a mistake).
    /// </summary>
    private BoundBool? StringTest(StringField field, StringTestOp op, byte[] value, TextSpan span, TextSpan valueSpan)
    {
        if (value.Length > field.MaxLength)
        {
            // No record holds a longer string, so the test is decided now (and the constant, which could
            // exceed the program's string limit, is never emitted).
            _warnings.Add(new Diagnostic(DiagnosticCode.StringLongerThanField, valueSpan,
                $"'{field.Name}' holds at most {field.MaxLength} bytes, so it never {Verb(op)} this {value.Length}-byte string",
                Severity.Warning));
            return new BoundBoolConst(false, span);
        }
        return field.DescriptorOffset == RecordLayout.KeyDescriptor ? KeyTest(op, value, span, valueSpan) : new BoundStringTest(field, op, value, span);
    }

    private static string Verb(StringTestOp op) => op switch
    {
        StringTestOp.Equal => "equals",
        StringTestOp.StartsWith => "starts with",
        StringTestOp.EndsWith => "ends with",
        _ => "contains",
    };

    // ---------------------------------------------------------------- syscall and arch names

    /// <summary>
    /// If one operand is the syscall or arch field and the other a bare name that is not a field or
    /// constant, the name is a syscall or arch name.
    /// </summary>
    private (ScalarField Field, NameSyntax Name)? NamedOperand(SyntaxNode fieldSide, SyntaxNode nameSide)
    {
        if (fieldSide is not NameSyntax { Name: "syscall" or "arch" or "type" } f || nameSide is not NameSyntax n) return null;
        // A macro or list name is never a syscall name (definitions may not take builtin names).
        if (IsDefinitionName(n.Name)) return null;
        // Field and constant names keep their meaning beside syscall and arch (the language vectors pin
        // `syscall in (exit, ...)`); any other name there is a syscall or arch name (unknown ones are
        // reported as such, with a hint). Beside type, event type names come first: `type == syscall`.
        bool typeName = f.Name == "type" && TryEventType(n.Name, out _);
        bool syscallName = f.Name == "syscall" && IsSyscallBeforeField(n.Name);
        return IsFieldOrConstant(n.Name) && !typeName && !syscallName ? null : (RecordLayout.ScalarNamed(f.Name)!, n);
    }

    private BoundNode? BindNamedComparison(BinarySyntax b, ScalarField field, NameSyntax name)
    {
        if (b.Op is not (BinaryOp.Equal or BinaryOp.NotEqual))
        {
            Error(DiagnosticCode.OperatorNotApplicable, b.OpSpan, $"{field.Name} names can only be compared with ==, != or in, not '{OpText(b.Op)}'");
            return null;
        }
        SetElementSyntax[] element = [new SetElementSyntax(name, null, name.Span)];
        BoundBool? test = field.Name switch
        {
            "syscall" => SyscallTest(element, b.Span),
            "type" => EventTypeTest(element, b.Span),
            _ => ArchTest(element, b.Span),
        };
        if (test is null) return null;
        return b.Op == BinaryOp.NotEqual ? new BoundNot(test, b.Span) : test;
    }

    private BoundBool? SyscallTest(IReadOnlyList<SetElementSyntax> elements, TextSpan span)
    {
        var named = new List<string>();
        var numeric = new List<ValueRange>();
        var dynamic = new List<BoundInt>();
        foreach (var e in elements)
        {
            if (e.Hi is null && e.Lo is NameSyntax n && (!IsFieldOrConstant(n.Name) || IsSyscallBeforeField(n.Name)))
            {
                string name = n.Name.StartsWith(SyscallPrefix, StringComparison.Ordinal) ? n.Name[SyscallPrefix.Length..] : n.Name;
                if (Syscalls.IsKnown(name)) named.Add(name);
                else Error(DiagnosticCode.UnknownSyscall, n.Span, $"unknown syscall '{n.Name}'{Hint(Spelling.Nearest(name, Syscalls.AllNames))}");
            }
            else
            {
                // `syscall in (read, exit)` compares with the exit *field* (the language's rule); almost always
                // the exit syscall was meant.
                if (e.Hi is null && e.Lo is NameSyntax f && Syscalls.IsKnown(f.Name))
                    _warnings.Add(new Diagnostic(DiagnosticCode.FieldNamedLikeSyscall, f.Span,
                        $"'{f.Name}' beside syscall is the {f.Name} field, not the {f.Name} system call; write {SyscallPrefix}{f.Name} for the system call",
                        Severity.Warning));
                Element(e, signed: false, numeric, dynamic);
            }
        }
        if (_diagnostics.Count > 0) return null;
        var other = SetBuilder.Build(numeric, signed: false);
        var syscall = Field("syscall", span);
        if (named.Count == 0)
            return AnyOf(syscall, other is null ? null : InSetOrEqual(syscall, other, span), dynamic, span);
        var perArch = AuditArch.All.Select(arch =>
        {
            var ranges = new List<ValueRange>(numeric);
            foreach (var name in named)
                if (Syscalls.TryGetNumber(arch.Value, name, out int nr)) ranges.Add(new ValueRange((ulong)nr, (ulong)nr));
            return SetBuilder.Build(ranges, signed: false);
        }).ToList();
        return AnyOf(syscall, new BoundSyscallIn(perArch, other, span), dynamic, span);
    }

    /// <summary>
    /// Beside <c>syscall</c>, names of fields and constants keep their meaning (so <c>syscall == exit</c>
    /// compares with the exit field); <c>__NR_exit</c> names the exit syscall unambiguously.
    /// </summary>
    private const string SyscallPrefix = "__NR_";

    private BoundBool? ArchTest(IReadOnlyList<SetElementSyntax> elements, TextSpan span) =>
        NamedValueTest("arch", "arch", elements, span, namesWin: false, AuditArch.All.Select(a => a.Name),
            name => AuditArch.TryParse(name, out uint value) ? value : null);

    /// <summary>
    /// <c>FIELD == NAME</c> / <c>FIELD in (...)</c> for a field whose values have names (arch, type): a bare
    /// name that is not a field or constant (or, with <paramref name="namesWin"/>, any of the field's value
    /// names) is looked up; anything else is an ordinary set element.
    /// </summary>
    private BoundBool? NamedValueTest(string fieldName, string what, IReadOnlyList<SetElementSyntax> elements, TextSpan span,
        bool namesWin, IEnumerable<string> names, Func<string, uint?> lookup)
    {
        var ranges = new List<ValueRange>();
        var dynamic = new List<BoundInt>();
        foreach (var e in elements)
        {
            if (e.Hi is null && e.Lo is NameSyntax n && (namesWin && lookup(n.Name) is not null || !IsFieldOrConstant(n.Name)))
            {
                if (lookup(n.Name) is uint value) ranges.Add(new ValueRange(value, value));
                else Error(DiagnosticCode.UnknownName, n.Span, $"unknown {what} '{n.Name}'{(what == "arch" ? ArchHint(n.Name) : null) ?? Hint(Spelling.Nearest(n.Name, names))}");
            }
            else Element(e, signed: false, ranges, dynamic);
        }
        if (_diagnostics.Count > 0) return null;
        var field = Field(fieldName, span);
        var set = SetBuilder.Build(ranges, signed: false);
        return AnyOf(field, set is null ? null : InSetOrEqual(field, set, span), dynamic, span);
    }

    /// <summary>
    /// Beside <c>type</c>, event type names (<see cref="RecordLayout.EventTypes"/>) name values of the field,
    /// ahead of field names: <c>type == syscall</c> means syscall records.
    /// </summary>
    private static bool TryEventType(string name, out byte value)
    {
        foreach (var (n, v) in RecordLayout.EventTypes)
            if (n == name) { value = v; return true; }
        value = 0;
        return false;
    }

    private BoundBool? EventTypeTest(IReadOnlyList<SetElementSyntax> elements, TextSpan span) =>
        NamedValueTest("type", "event type", elements, span, namesWin: true, RecordLayout.EventTypes.Select(t => t.Name),
            name => TryEventType(name, out byte value) ? value : null);

    /// <summary><paramref name="constantPart"/> || value == d1 || value == d2 ... (false when there is nothing).</summary>
    private static BoundBool AnyOf(BoundInt value, BoundBool? constantPart, List<BoundInt> dynamic, TextSpan span)
    {
        var tests = new List<BoundBool>();
        if (constantPart is not null) tests.Add(constantPart);
        foreach (var d in dynamic)
            tests.Add(new BoundCompare(CompareOp.Equal, value, d, value.Signed && d.Signed, d.Span));
        return tests.Count switch
        {
            0 => new BoundBoolConst(false, span),
            1 => tests[0],
            _ => new BoundLogical(false, tests, span),
        };
    }

    /// <summary>
    /// A syscall name that became a field's name only with the whole event (record v2: <c>time</c>): beside
    /// <c>syscall</c> it stays the system call, so filters written before keep their meaning (spec/language.md).
    /// </summary>
    private static bool IsSyscallBeforeField(string name) =>
        Syscalls.IsKnown(name)
        && (RecordLayout.ScalarNamed(name) is { Offset: >= RecordLayout.V1HeaderSize } || RecordLayout.StringNamed(name) is { DescriptorOffset: >= RecordLayout.V1HeaderSize });

    private static bool IsFieldOrConstant(string name) =>
        RecordLayout.ScalarNamed(name) is not null || RecordLayout.StringNamed(name) is not null || EventFieldNames.Contains(name)
        || NamedConstants.TryGet(name, out _, out _);

    private static BoundFieldLoad Field(string name, TextSpan span) => new(RecordLayout.ScalarNamed(name)!, span);

    private static BoundBool InSetOrEqual(BoundInt value, ValueSet set, TextSpan span) =>
        set.Ranges is [var only] && only.Lo == only.Hi
            ? new BoundCompare(CompareOp.Equal, value, new BoundIntConst(only.Lo, value.Signed, false, span), value.Signed, span)
            : new BoundInSet(value, set, span);

    // ---------------------------------------------------------------- sets

    private BoundNode? BindIn(InSyntax node)
    {
        // Names of lists inside the parentheses are spliced: syscall in (lifecycle, ptrace).
        if (SpliceLists(node.Elements) is not { } elements) return null;
        node = node with { Elements = elements };
        BoundBool? test;
        if (EventField(node.Value) is { } eventField)
            test = BindEventIn(node, eventField);
        else if (node.Value is NameSyntax { Name: "syscall" })
            test = SyscallTest(node.Elements, node.Span);
        else if (node.Value is NameSyntax { Name: "arch" })
            test = ArchTest(node.Elements, node.Span);
        else if (node.Value is NameSyntax { Name: "type" })
            test = EventTypeTest(node.Elements, node.Span);
        else
        {
            var value = BindNode(node.Value);
            if (value is null) return null;
            test = value switch
            {
                BoundStringField field => StringSet(field, node),
                BoundInt i => IntSet(i, node),
                _ => null,
            };
            if (value is not (BoundStringField or BoundInt))
                Error(DiagnosticCode.TypeMismatch, node.OpSpan, $"'in' needs an integer or string field on the left, but this is {Describe(value)}");
        }
        if (test is null) return null;
        return node.Negated ? (test is BoundBoolConst c ? c with { Value = !c.Value } : new BoundNot(test, node.Span)) : test;
    }

    /// <summary>
    /// A 32-bit field widens to 64 bits, so it never equals a constant above 0xffffffff, such as -1:
    /// legal, but almost always a rule written for auditctl, where -1 means "unset" (4294967295).
    /// </summary>
    private void WarnIfOutOfRange(BoundInt left, BoundInt right, TextSpan span)
    {
        var (field, constant) = left is BoundFieldLoad f ? (f, right as BoundIntConst) : (right as BoundFieldLoad, left as BoundIntConst);
        if (field is null || constant is null || field.Field.Kind != FieldKind.U32 || constant.Value <= uint.MaxValue) return;
        _warnings.Add(new Diagnostic(DiagnosticCode.ConstantOutOfFieldRange, constant.Span,
            $"'{field.Field.Name}' is a 32-bit field and never equals {Show(constant.Value, constant.Signed)}"
            + (constant.Value == ulong.MaxValue ? " (0xffffffffffffffff); for 'unset' write 4294967295" : ""),
            Severity.Warning));
    }

    private BoundBool? IntSet(BoundInt value, InSyntax node)
    {
        var ranges = new List<ValueRange>();
        var dynamic = new List<BoundInt>();
        foreach (var e in node.Elements) Element(e, value.Signed, ranges, dynamic);
        if (_diagnostics.Count > 0) return null;
        var set = SetBuilder.Build(ranges, value.Signed);
        BoundBool? constantPart = set is null ? null
            : value is BoundIntConst c ? new BoundBoolConst(set.Contains(c.Value), node.Span)
            : InSetOrEqual(value, set, node.Span);
        return AnyOf(value, constantPart, dynamic, node.Span);
    }

    private BoundBool? StringSet(BoundStringField field, InSyntax node)
    {
        var tests = new List<BoundBool>();
        foreach (var e in node.Elements)
        {
            if (e.Hi is null && e.Lo is StringLiteralSyntax s)
            {
                if (StringTest(field.Field, StringTestOp.Equal, s.Value, e.Span, s.Span) is { } test and not BoundBoolConst { Value: false })
                    tests.Add(test);
            }
            else
                Error(DiagnosticCode.SetElementNotConstant, e.Span, $"a set of {field.Field.Name} values holds string literals only");
        }
        if (_diagnostics.Count > 0) return null;
        return tests.Count switch
        {
            0 => new BoundBoolConst(false, node.Span),
            1 => tests[0],
            _ => new BoundLogical(false, tests, node.Span),
        };
    }

    /// <summary>
    /// Binds a set element in the set's signedness: a constant value or range goes into
    /// <paramref name="ranges"/>; any other integer expression (a field, say) into <paramref name="dynamic"/>,
    /// to be compared at run time. Range bounds must be constants.
    /// </summary>
    private void Element(SetElementSyntax e, bool signed, List<ValueRange> ranges, List<BoundInt> dynamic)
    {
        var lo = BindElementValue(e.Lo);
        if (lo is null) return;
        if (e.Hi is null)
        {
            if (lo is BoundIntConst c) ranges.Add(new ValueRange(c.Value, c.Value));
            else dynamic.Add(lo);
            return;
        }
        var hi = BindElementValue(e.Hi);
        if (hi is null) return;
        if (lo is not BoundIntConst l || hi is not BoundIntConst h)
        {
            Error(DiagnosticCode.SetElementNotConstant, (lo is BoundIntConst ? e.Hi : e.Lo).Span,
                "range bounds must be constants (numbers, named constants, or expressions of them)");
            return;
        }
        bool empty = signed ? (long)l.Value > (long)h.Value : l.Value > h.Value;
        if (empty)
        {
            Error(DiagnosticCode.EmptyRange, e.Span, $"range {Show(l.Value, signed)}..{Show(h.Value, signed)} is empty (the low bound is above the high one)");
            return;
        }
        ranges.Add(new ValueRange(l.Value, h.Value));
    }

    private BoundInt? BindElementValue(SyntaxNode node)
    {
        var bound = BindNode(node);
        if (bound is null or BoundInt) return (BoundInt?)bound;
        Error(DiagnosticCode.TypeMismatch, node.Span, $"set elements must be integers, but this is {Describe(bound)}");
        return null;
    }

    private static string Show(ulong v, bool signed) => signed ? ((long)v).ToString(CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- helpers

    private static IntBinaryOp ToIntOp(BinaryOp op) => op switch
    {
        BinaryOp.Add => IntBinaryOp.Add,
        BinaryOp.Subtract => IntBinaryOp.Subtract,
        BinaryOp.ShiftLeft => IntBinaryOp.ShiftLeft,
        BinaryOp.ShiftRight => IntBinaryOp.ShiftRight,
        BinaryOp.BitAnd => IntBinaryOp.BitAnd,
        BinaryOp.BitXor => IntBinaryOp.BitXor,
        BinaryOp.BitOr => IntBinaryOp.BitOr,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "not an arithmetic operator"),
    };

    private static CompareOp ToCompareOp(BinaryOp op) => op switch
    {
        BinaryOp.Equal => CompareOp.Equal,
        BinaryOp.NotEqual => CompareOp.NotEqual,
        BinaryOp.Less => CompareOp.Less,
        BinaryOp.LessEqual => CompareOp.LessEqual,
        BinaryOp.Greater => CompareOp.Greater,
        BinaryOp.GreaterEqual => CompareOp.GreaterEqual,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static string OpText(BinaryOp op) => op switch
    {
        BinaryOp.Add => "+",
        BinaryOp.Subtract => "-",
        BinaryOp.ShiftLeft => "<<",
        BinaryOp.ShiftRight => ">>",
        BinaryOp.BitAnd => "&",
        BinaryOp.BitXor => "^",
        BinaryOp.BitOr => "|",
        BinaryOp.Equal => "==",
        BinaryOp.NotEqual => "!=",
        BinaryOp.Less => "<",
        BinaryOp.LessEqual => "<=",
        BinaryOp.Greater => ">",
        BinaryOp.GreaterEqual => ">=",
        BinaryOp.StartsWith => "startswith",
        BinaryOp.EndsWith => "endswith",
        BinaryOp.Contains => "contains",
        _ => op.ToString(),
    };

    private static string Describe(BoundNode node) => node switch
    {
        BoundBoolField f => $"the boolean field '{f.Field.Name}'",
        BoundBool => "a boolean",
        BoundFieldLoad f => $"the integer field '{f.Field.Name}'",
        BoundInt => "an integer",
        BoundStringField s => $"the string field '{s.Field.Name}'",
        BoundString => "a string literal",
        _ => node.GetType().Name,
    };
}
