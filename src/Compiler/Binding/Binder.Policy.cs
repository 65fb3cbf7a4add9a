using System.Text;
using Filter.Compiler.Syntax;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Binding;

/// <summary>
/// Policy statements (spec/language.md, "Policies"): lists, macros and rules. Only earlier definitions
/// are visible, so a definition can never refer to itself or to a later one: cycles are impossible by
/// construction, and such a reference is reported as what it is.
/// </summary>
public sealed partial class Binder
{
    /// <summary>Most nodes a condition may have once its macros are expanded: macros may share
    /// subtrees, so a few lines could otherwise describe an exponentially large expression.</summary>
    public const int MaxExpandedNodes = 1 << 16;

    /// <summary>
    /// Most set elements one filter may take from lists, each use of a list counting all its elements
    /// (in a list definition, an inline set or after <c>in</c>), counted before any is copied. A list may
    /// name earlier lists, so a few lines could otherwise describe an exponentially large set; this way
    /// lists never describe more elements than the longest filter (1 MiB) could write out (524,288).
    /// </summary>
    public const int MaxSplicedElements = 1 << 19;

    private abstract record Definition(NameSyntax Name);

    /// <summary>A list: its elements as written, earlier lists already spliced in; bound where it is used.</summary>
    private sealed record ListDefinition(NameSyntax Name, IReadOnlyList<SetElementSyntax> Elements) : Definition(Name);

    /// <summary>A macro, bound once; a null body failed to bind (and was reported) and makes its users give up quietly.</summary>
    private sealed record MacroDefinition(NameSyntax Name, BoundBool? Body) : Definition(Name);

    private readonly string _source;
    /// <summary>The definitions seen so far: the only ones a statement may use.</summary>
    private readonly Dictionary<string, Definition> _visible = new(StringComparer.Ordinal);
    /// <summary>Every definition in the file (the first of each name), to tell "defined later" from "unknown".</summary>
    private readonly Dictionary<string, NameSyntax> _declared = new(StringComparer.Ordinal);
    /// <summary>The name being defined, so a self-reference is reported as one.</summary>
    private string? _defining;
    private bool _usedMacro;
    /// <summary>Elements taken from lists so far (<see cref="MaxSplicedElements"/>); past the limit, every later splice gives up quietly.</summary>
    private long _spliced;

    private Binder(string source) => _source = source;

    /// <summary>Binds a policy: its rules, or errors; warnings point at constructs that are legal but almost certainly wrong.</summary>
    public static (BoundPolicy? Policy, IReadOnlyList<Diagnostic> Diagnostics, IReadOnlyList<Diagnostic> Warnings) Bind(PolicySyntax tree, string source,
        TimeZoneInfo? timeZone = null)
    {
        var binder = new Binder(source) { _timeZone = timeZone ?? TimeZoneInfo.Local };
        var rules = binder.BindPolicy(tree);
        var diagnostics = binder._diagnostics.Distinct().ToList();
        return (diagnostics.Count == 0 ? new BoundPolicy(rules) : null, diagnostics, binder._warnings.Distinct().ToList());
    }

    private List<BoundRule> BindPolicy(PolicySyntax tree)
    {
        foreach (var statement in tree.Statements)
            if (statement is ListDefinitionSyntax or MacroDefinitionSyntax && BuiltinMeaning(DefinedName(statement).Name) == "")
                _declared.TryAdd(DefinedName(statement).Name, DefinedName(statement));

        var rules = new List<BoundRule>();
        int verdict = 0;
        bool hasRules = false;
        foreach (var statement in tree.Statements)
        {
            switch (statement)
            {
                case ListDefinitionSyntax list:
                    DefineList(list);
                    break;
                case MacroDefinitionSyntax macro:
                    DefineMacro(macro);
                    break;
                case RuleSyntax rule:
                    hasRules = true;
                    bool always = rule.Kind == RuleKind.Always;
                    if (always) verdict++;
                    string? key = always ? BindKey(rule.Key) : null;
                    if (BindCondition(rule.Condition, "a rule's condition") is { } condition)
                        rules.Add(new BoundRule(always ? RuleAction.Always : RuleAction.Never, key, always ? verdict : 0, condition, rule.Span));
                    break;
            }
        }
        if (tree.Expression is { } expression)
        {
            if (hasRules)
                Error(DiagnosticCode.MixedExpressionAndRules, expression.Span,
                    "a filter is either one expression or a list of rules, not both: write this expression as a rule too (always: EXPR)");
            else if (BindCondition(expression, "a filter") is { } condition)
                rules.Add(new BoundRule(RuleAction.Always, "", 1, condition, expression.Span));
        }
        else if (!hasRules)
        {
            Error(DiagnosticCode.NoRules, new TextSpan(tree.Span.End, tree.Span.End), tree.Statements.Count == 0
                ? "the filter is empty: write an expression, or rules (always \"key\": EXPR)"
                : "the policy has no rules: add one (always \"key\": EXPR), or end it with an expression");
        }
        return rules;
    }

    private static NameSyntax DefinedName(SyntaxNode definition) => definition switch
    {
        ListDefinitionSyntax l => l.Name,
        MacroDefinitionSyntax m => m.Name,
        _ => throw new ArgumentException("not a definition", nameof(definition)),
    };

    /// <summary>Binds a rule's, macro's or filter's expression, which must be boolean and, with macros expanded, not too big.</summary>
    private BoundBool? BindCondition(SyntaxNode syntax, string what)
    {
        if (CheckDepth(syntax) is { } deep)
        {
            _diagnostics.Add(deep);
            return null;
        }
        _usedMacro = false;
        var bound = BindNode(syntax);
        bool usedMacro = _usedMacro;
        if (bound is not null and not BoundBool)
        {
            Error(DiagnosticCode.TypeMismatch, syntax.Span, $"{what} must be a boolean expression, but this is {Describe(bound)}");
            return null;
        }
        // Only an expression that uses macros can be bigger than its text; the others stay as they were.
        if (bound is BoundBool b && usedMacro && Measure(b, new(ReferenceEqualityComparer.Instance)) is var (size, depth)
            && (depth > MaxDepth || size > MaxExpandedNodes))
        {
            Error(depth > MaxDepth ? DiagnosticCode.NestingTooDeep : DiagnosticCode.ExpansionTooLarge, syntax.Span, depth > MaxDepth
                ? $"expression nested more than {MaxDepth} deep once its macros are expanded"
                : $"expression has more than {MaxExpandedNodes} nodes once its macros are expanded");
            return null;
        }
        return (BoundBool?)bound;
    }

    /// <summary>Nodes and depth of a bound tree, shared subtrees counted at each use; memoised, so linear in the distinct nodes.</summary>
    private static (int Size, int Depth) Measure(BoundNode node, Dictionary<BoundNode, (int, int)> memo)
    {
        if (memo.TryGetValue(node, out var known)) return known;
        IEnumerable<BoundNode> children = node switch
        {
            BoundNot n => [n.Operand],
            BoundLogical l => l.Operands,
            BoundBoolEquals e => [e.Left, e.Right],
            BoundCompare c => [c.Left, c.Right],
            BoundInSet s => [s.Value],
            BoundUnaryInt u => [u.Operand],
            BoundBinaryInt b => [b.Left, b.Right],
            _ => [],
        };
        long size = 1;
        int depth = 0;
        foreach (var child in children)
        {
            var (s, d) = Measure(child, memo);
            size += s;
            depth = Math.Max(depth, d);
        }
        var result = ((int)Math.Min(size, int.MaxValue), depth + 1);
        memo[node] = result;
        return result;
    }

    private string BindKey(StringLiteralSyntax? key)
    {
        if (key is null) return "";
        string text;
        try { text = new UTF8Encoding(false, true).GetString(key.Value); }
        catch (DecoderFallbackException)
        {
            Error(DiagnosticCode.BadKey, key.Span, "a rule key must be valid UTF-8 text");
            return "";
        }
        // \x01 is allowed: the kernel joins the keys of one audit rule with it (AUDIT_KEY_SEPARATOR), and
        // imported auditctl rules must compute the kernel's key (spec/auditctl.md, "Importing")
        if (ProgramKeys.FirstForbidden(text) >= 0)
            Error(DiagnosticCode.BadKey, key.Span, "a rule key may not contain control characters other than \\x01 (keys are printed one per line)");
        else if (key.Value.Length > ProgramLimits.MaxKeyLength)
            Error(DiagnosticCode.BadKey, key.Span, $"rule key is {key.Value.Length} bytes long; the limit is {ProgramLimits.MaxKeyLength}");
        return text;
    }

    // ---------------------------------------------------------------- definitions

    private void DefineList(ListDefinitionSyntax list)
    {
        _defining = list.Name.Name;
        var elements = SpliceLists(list.Elements);
        _defining = null;
        if (CheckNewName(list.Name, "list")) _visible[list.Name.Name] = new ListDefinition(list.Name, elements ?? []);
    }

    private void DefineMacro(MacroDefinitionSyntax macro)
    {
        _defining = macro.Name.Name;
        var body = BindCondition(macro.Body, "a macro");
        _defining = null;
        if (CheckNewName(macro.Name, "macro")) _visible[macro.Name.Name] = new MacroDefinition(macro.Name, body);
    }

    /// <summary>A definition may not take a name that already means something: that would make uses ambiguous.</summary>
    private bool CheckNewName(NameSyntax name, string kind)
    {
        string n = name.Name;
        string? hidden = BuiltinMeaning(n);
        if (hidden is null)
        {
            Error(DiagnosticCode.NameHidesBuiltin, name.Span, $"'{n}' is a reserved word and cannot name a {kind}");
            return false;
        }
        if (hidden.Length > 0)
        {
            Error(DiagnosticCode.NameHidesBuiltin, name.Span, $"{kind} '{n}' would hide {hidden}");
            return false;
        }
        if (_visible.TryGetValue(n, out var earlier))
        {
            Error(DiagnosticCode.DuplicateDefinition, name.Span, $"'{n}' is already defined, at {Where(earlier.Name)}");
            return false;
        }
        return true;
    }

    /// <summary>What a name already means: "" if nothing, null if it is a reserved word, else a description.</summary>
    private static string? BuiltinMeaning(string n) =>
            FilterParser.StatementWords.Contains(n) || FilterParser.ExpressionKeywords.Contains(n) ? null
            : RecordLayout.ScalarNamed(n) is not null || RecordLayout.StringNamed(n) is not null || EventFieldNames.Contains(n) ? $"the field '{n}'"
            : NamedConstants.TryGet(n, out _, out _) ? $"the constant '{n}'"
            : Syscalls.IsKnown(n) || (n.StartsWith(SyscallPrefix, StringComparison.Ordinal) && Syscalls.IsKnown(n[SyscallPrefix.Length..])) ? $"the syscall '{n}'"
            : AuditArch.TryParse(n, out _) ? $"the arch '{n}'"
            : TryEventType(n, out _) ? $"the event type '{n}'"
            : "";

    private string Where(NameSyntax name)
    {
        var (line, column) = Diagnostic.LineColumn(_source, name.Span.Start);
        return $"line {line}, column {column}";
    }

    private bool IsDefinitionName(string name) => _declared.ContainsKey(name);

    /// <summary>The nearest visible definition name, if it is at least as close as <paramref name="otherHint"/>.</summary>
    private string? NearestDefinition(string name, string? otherHint)
    {
        var hint = Spelling.Nearest(name, _visible.Keys);
        if (hint is null) return null;
        return otherHint is null || Spelling.Distance(name, hint) <= Spelling.Distance(name, otherHint) ? hint : null;
    }

    /// <summary>Reports the use of a definition that is not visible here: itself, or one defined later.</summary>
    private void NotYetDefined(NameSyntax use)
    {
        if (use.Name == _defining)
            Error(DiagnosticCode.UseBeforeDefinition, use.Span,
                $"'{use.Name}' cannot be used in its own definition: only earlier definitions are visible, so definitions cannot be cyclic");
        else
            Error(DiagnosticCode.UseBeforeDefinition, use.Span,
                $"'{use.Name}' is defined later, at {Where(_declared[use.Name])}: only earlier definitions are visible, so definitions cannot be cyclic");
    }

    // ---------------------------------------------------------------- uses

    /// <summary>A name in an expression that is a macro (its bound body) or a list (an error); false if it is neither.</summary>
    private bool TryBindDefinitionName(NameSyntax name, out BoundNode? result)
    {
        result = null;
        if (_visible.TryGetValue(name.Name, out var definition))
        {
            if (definition is MacroDefinition macro)
            {
                _usedMacro = true;
                result = macro.Body;
            }
            else
                Error(DiagnosticCode.WrongKindOfName, name.Span, $"'{name.Name}' is a list, not a condition: use it after 'in' (for example: syscall in {name.Name})");
            return true;
        }
        if (!_declared.ContainsKey(name.Name)) return false;
        NotYetDefined(name);
        return true;
    }

    /// <summary><c>x in NAME</c>: the list's elements, resolved beside <c>x</c> as if written in place.</summary>
    private BoundNode? BindInList(InListSyntax node)
    {
        var name = node.List;
        if (_visible.TryGetValue(name.Name, out var definition))
        {
            if (definition is ListDefinition list)
                return TakeFromLists(list.Elements.Count, name)
                    ? BindIn(new InSyntax(node.Value, node.Negated, list.Elements, node.OpSpan, node.Span))
                    : null;
            Error(DiagnosticCode.WrongKindOfName, name.Span, $"'{name.Name}' is a macro, not a list: only a list can follow 'in'");
        }
        else if (_declared.ContainsKey(name.Name))
            NotYetDefined(name);
        else if (RecordLayout.ScalarNamed(name.Name) is not null || NamedConstants.TryGet(name.Name, out _, out _)
                 || Syscalls.IsKnown(name.Name) || AuditArch.TryParse(name.Name, out _) || TryEventType(name.Name, out _))
            Error(DiagnosticCode.UnknownDefinition, name.Span, $"'{name.Name}' is not a list: write a set in parentheses, ({name.Name})");
        else
            Error(DiagnosticCode.UnknownDefinition, name.Span,
                $"unknown list '{name.Name}'{Hint(Spelling.Nearest(name.Name, _visible.Where(d => d.Value is ListDefinition).Select(d => d.Key)))}");
        return null;
    }

    /// <summary>
    /// Replaces each element that names a list by that list's elements; null (after reporting) if an
    /// element names a macro or a definition that is not visible here, or if the lists named would take
    /// the filter past <see cref="MaxSplicedElements"/> (checked before anything is copied).
    /// </summary>
    private IReadOnlyList<SetElementSyntax>? SpliceLists(IReadOnlyList<SetElementSyntax> elements)
    {
        if (_declared.Count == 0) return elements;
        bool failed = false, anyList = false;
        foreach (var e in elements)
        {
            if (e.Hi is not null || e.Lo is not NameSyntax n || !_declared.ContainsKey(n.Name)) continue;
            if (!_visible.TryGetValue(n.Name, out var definition))
            {
                NotYetDefined(n);
                failed = true;
            }
            else if (definition is ListDefinition list)
            {
                anyList = true;
                if (!TakeFromLists(list.Elements.Count, n)) return null;
            }
            else
            {
                Error(DiagnosticCode.WrongKindOfName, n.Span, $"'{n.Name}' is a macro, not a list: a set holds values, not conditions");
                failed = true;
            }
        }
        if (failed) return null;
        if (!anyList) return elements;
        var result = new List<SetElementSyntax>();
        foreach (var e in elements)
        {
            if (e.Hi is null && e.Lo is NameSyntax n && _visible.GetValueOrDefault(n.Name) is ListDefinition list) result.AddRange(list.Elements);
            else result.Add(e);
        }
        return result;
    }

    /// <summary>Counts <paramref name="count"/> elements taken from the list <paramref name="use"/> names; false (reported once) past the limit.</summary>
    private bool TakeFromLists(int count, NameSyntax use)
    {
        if (_spliced > MaxSplicedElements) return false;
        _spliced += count;
        if (_spliced <= MaxSplicedElements) return true;
        Error(DiagnosticCode.ExpansionTooLarge, use.Span,
            $"list '{use.Name}' brings the set elements taken from lists to {_spliced}; a filter may take at most {MaxSplicedElements} (each use of a list counts all its elements)");
        return false;
    }
}
