using System.Text;
using Pidgin;
using Pidgin.Expression;
using static Pidgin.Parser;
using static Pidgin.Parser<char>;

namespace Filter.Compiler.Syntax;

/// <summary>
/// The filter grammar (spec/language.md), syntax only: names stay names and literals stay text until the
/// binder. Parsers are built once. Positions come from <c>CurrentOffset</c>; every node carries its span.
/// Binary levels come from an operator table, highest precedence first; comparisons are non-associative
/// (<c>InfixN</c>); <c>&amp;&amp;</c> and <c>||</c> chains are parsed flat so that long chains do not nest.
/// </summary>
public static class FilterParser
{
    /// <summary>Deepest parenthesis nesting accepted (spec/limits.md); checked before parsing so the recursive parser cannot overflow the stack.</summary>
    public const int MaxParenDepth = 256;
    /// <summary>Longest filter text accepted, in characters.</summary>
    public const int MaxLength = 1 << 20;

    private static readonly HashSet<string> Keywords = ["and", "or", "not", "in", "startswith", "endswith", "contains", "true", "false"];

    // Whitespace and '#' comments to the end of the line.
    private static readonly Parser<char, Unit> Ws = Lexemes.Whitespace;

    private static readonly Parser<char, char> IdentChar = Token(Lexemes.IsNameChar);

    private static Parser<char, (T Value, TextSpan Span)> Spanned<T>(Parser<char, T> p) =>
        Map((start, value, end) => (value, new TextSpan(start, end)), CurrentOffset, p, CurrentOffset).Before(Ws);

    private static Lexemes.SymbolParser Keyword(string word) => Lexemes.Keyword(word);

    private static Lexemes.SymbolParser Symbol(string text, string notFollowedBy = "") => Lexemes.Symbol(text, notFollowedBy);

    // ---- terminals ----

    private static readonly Parser<char, SyntaxNode> Number =
        Spanned(
            Try(Char('0').Then(OneOf('x', 'X'))).Then(Token(char.IsAsciiHexDigit).AtLeastOnceString(), (_, hex) => "0x" + hex)
                .Or(Token(char.IsAsciiDigit).AtLeastOnceString()) // Pidgin's Digit takes any Unicode digit: '０' is not a number here
                .Before(Not(IdentChar).Labelled("end of number")))
        .Select(t => (SyntaxNode)new IntLiteralSyntax(t.Value, t.Span))
        .Labelled("number");

    private static Parser<char, string> Digits(int n) => Token(char.IsAsciiDigit).RepeatString(n);

    /// <summary>
    /// A date and time as ISO 8601 writes it: <c>2026-12-06</c>, <c>2026-12-06T10:00</c>, <c>...T10:00:00.250</c>,
    /// then optionally <c>Z</c> or an offset <c>+01:00</c>. Tried before a number: <c>2026-12-06</c> is a date,
    /// never a subtraction. The binder turns it into milliseconds since the epoch.
    /// </summary>
    private static readonly Parser<char, SyntaxNode> DateTime =
        Spanned(Try(
            Map((y, m, d) => $"{y}-{m}-{d}", Digits(4), Char('-').Then(Digits(2)), Char('-').Then(Digits(2)))
            .Then(Try(Char('T').Then(Map((h, min, rest) => $"T{h}:{min}{rest}", Digits(2), Char(':').Then(Digits(2)),
                    Try(Char(':').Then(Digits(2))).Then(Try(Char('.').Then(Token(char.IsAsciiDigit).AtLeastOnceString())).Optional(),
                        (s, f) => ":" + s + (f.HasValue ? "." + f.Value : "")).Optional().Select(o => o.HasValue ? o.Value : ""))))
                .Optional(), (date, time) => date + (time.HasValue ? time.Value : ""))
            .Then(Char('Z').Select(_ => "Z").Or(Try(Map((sign, h, min) => $"{sign}{h}:{min}", OneOf('+', '-'), Digits(2), Char(':').Then(Digits(2)))))
                .Optional(), (dt, zone) => dt + (zone.HasValue ? zone.Value : ""))
            .Before(Not(IdentChar))))
        .Select(t => (SyntaxNode)new DateTimeSyntax(t.Value, t.Span))
        .Labelled("date");

    /// <summary>A string literal; <paramref name="label"/> names what is expected where it may start.</summary>
    private static Parser<char, SyntaxNode> StringLiteralLabelled(string label) =>
        Lexemes.StringLiteral(label).Select(t => (SyntaxNode)new StringLiteralSyntax(t.Value, t.Span));

    private static readonly Parser<char, SyntaxNode> StringLiteral = StringLiteralLabelled("expression");

    private static readonly Parser<char, (string Value, TextSpan Span)> Identifier = Lexemes.Name;

    private static readonly Parser<char, SyntaxNode> NameOrBool =
        Try(Identifier.Assert(t => !Keywords.Contains(t.Value) || t.Value is "true" or "false", "a name"))
        .Select(t => t.Value switch
        {
            "true" => new BoolLiteralSyntax(true, t.Span),
            "false" => new BoolLiteralSyntax(false, t.Span),
            _ => (SyntaxNode)new NameSyntax(t.Value, t.Span),
        })
        .Labelled("name");

    // ---- expressions ----

    // Labels go only on parsers that fail without consuming input: Pidgin replaces the inner error with
    // the label, which would hide, say, the missing ')' of a parenthesised expression.
    private static readonly Parser<char, SyntaxNode> Parenthesised =
        Symbol("(").Labelled("expression").Then(Rec(() => Expression!)).Before(Symbol(")"));

    // A digit not four of them and '-' (a date's start) is a number: the date's try is skipped.
    private static readonly Parser<char, SyntaxNode> Primary = Lexemes.ByFirstChar(
        OneOf(DateTime, Number, NameOrBool).Labelled("expression").Or(StringLiteral).Or(Parenthesised),
        (Lexemes.NameAhead, NameOrBool), (a => a[0] == '"', StringLiteral), (a => a[0] == '(', Parenthesised),
        (a => char.IsAsciiDigit(a[0]) && !(a.Length == 5 && char.IsAsciiDigit(a[1]) && char.IsAsciiDigit(a[2]) && char.IsAsciiDigit(a[3]) && a[4] == '-'),
            Number.Labelled("expression")));

    private static readonly Parser<char, (UnaryOp Op, TextSpan Span)> PrefixOp = Lexemes.OneOf(
        (Symbol("~"), UnaryOp.BitNot),
        (Symbol("-"), UnaryOp.Negate),
        (Symbol("!", "="), UnaryOp.LogicalNot),
        (Keyword("not"), UnaryOp.LogicalNot)).Labelled("expression");

    // Prefix operators are collected and applied in a loop (not by recursion), so a long run of them
    // cannot overflow the stack here; the depth check after parsing bounds the tree.
    private static readonly Parser<char, SyntaxNode> Unary =
        Map((ops, operand) =>
        {
            var node = operand;
            for (int i = ops.Count - 1; i >= 0; i--)
                node = new UnarySyntax(ops[i].Op, node, ops[i].Span, new TextSpan(ops[i].Span.Start, node.Span.End));
            return node;
        }, PrefixOp.Many().Select(o => o as IReadOnlyList<(UnaryOp Op, TextSpan Span)> ?? [.. o]), Primary);

    /// <summary>The binary operators of one level, by their symbols (one parser for them all: each is tried after every operand).</summary>
    private static Parser<char, Func<SyntaxNode, SyntaxNode, SyntaxNode>> Binary(params (Lexemes.SymbolParser Symbol, BinaryOp Op)[] ops) =>
        Lexemes.OneOf(ops).Select<Func<SyntaxNode, SyntaxNode, SyntaxNode>>(op =>
            (l, r) => new BinarySyntax(op.Value, l, r, op.Span, TextSpan.Cover(l.Span, r.Span)));

    private static readonly Parser<char, SetElementSyntax> SetElement =
        Map((lo, hi) => new SetElementSyntax(lo, hi.HasValue ? hi.Value : null,
                hi.HasValue ? TextSpan.Cover(lo.Span, hi.Value.Span) : lo.Span),
            Rec(() => BitOrLevel!), Symbol("..").Then(Rec(() => BitOrLevel!)).Optional());

    private static readonly Lexemes.SymbolParser InKeyword = Keyword("in"), NotKeyword = Keyword("not");

    private static readonly Parser<char, (bool Negated, TextSpan Span)> InOp =
        InKeyword.Select(s => (false, s))
        .Or(Map((n, i) => (true, TextSpan.Cover(n, i)), NotKeyword, InKeyword));

    private static readonly Parser<char, (IReadOnlyList<SetElementSyntax> Elements, TextSpan Close)> Elements =
        Map((elements, close) => ((IReadOnlyList<SetElementSyntax>)elements.ToList(), close),
            Symbol("(").Then(SetElement.SeparatedAtLeastOnce(Symbol(","))), Symbol(")"));

    /// <summary>A name that is not a keyword (a list or macro name, or a definition's name).</summary>
    private static Parser<char, NameSyntax> PlainName(string label) =>
        Try(Identifier.Assert(t => !Keywords.Contains(t.Value), label))
        .Select(t => new NameSyntax(t.Value, t.Span))
        .Labelled(label);

    // `x in (e1, e2)` or `x in NAME` (a list).
    private static readonly Parser<char, Func<SyntaxNode, SyntaxNode>> InSuffix =
        Map((op, target) => target.Match(
                set => (Func<SyntaxNode, SyntaxNode>)(value =>
                    new InSyntax(value, op.Negated, set.Elements, op.Span, new TextSpan(value.Span.Start, set.Close.End))),
                list => value => new InListSyntax(value, op.Negated, list, op.Span, new TextSpan(value.Span.Start, list.Span.End))),
            InOp,
            Elements.Select(e => new SetOrList(e, null)).Or(PlainName("list name").Select(n => new SetOrList(default, n))));

    private readonly record struct SetOrList((IReadOnlyList<SetElementSyntax> Elements, TextSpan Close) Set, NameSyntax? List)
    {
        public T Match<T>(Func<(IReadOnlyList<SetElementSyntax> Elements, TextSpan Close), T> set, Func<NameSyntax, T> list) =>
            List is null ? set(Set) : list(List);
    }

    // Highest precedence first; each row is left-associative.
    private static readonly (Lexemes.SymbolParser Symbol, BinaryOp Op)[][] ArithmeticRows =
    [
        [(Symbol("+"), BinaryOp.Add), (Symbol("-"), BinaryOp.Subtract)],
        [(Symbol("<<"), BinaryOp.ShiftLeft), (Symbol(">>"), BinaryOp.ShiftRight)],
        [(Symbol("&", "&"), BinaryOp.BitAnd)],
        [(Symbol("^"), BinaryOp.BitXor)],
        [(Symbol("|", "|"), BinaryOp.BitOr)],
    ];

    private static readonly Parser<char, SyntaxNode> BitOrLevel = new OperatorLevels(Unary,
        [.. ArithmeticRows.Select(row => Operator.InfixL(Binary(row)))],
        [.. ArithmeticRows.SelectMany(row => row.Select(o => o.Symbol))]);

    // Comparisons do not chain (InfixN); `in` is a postfix operator of the same level.
    private static readonly (Lexemes.SymbolParser Symbol, BinaryOp Op)[] ComparisonOps =
    [
        (Symbol("=="), BinaryOp.Equal),
        (Symbol("!="), BinaryOp.NotEqual),
        (Symbol("<="), BinaryOp.LessEqual),
        (Symbol(">="), BinaryOp.GreaterEqual),
        (Symbol("<"), BinaryOp.Less),
        (Symbol(">"), BinaryOp.Greater),
        (Keyword("startswith"), BinaryOp.StartsWith),
        (Keyword("endswith"), BinaryOp.EndsWith),
        (Keyword("contains"), BinaryOp.Contains),
    ];

    private static readonly Parser<char, SyntaxNode> Comparison = new OperatorLevels(BitOrLevel,
        [Operator.InfixN(Binary(ComparisonOps)).And(Operator.Postfix(InSuffix))],
        [.. ComparisonOps.Select(o => o.Symbol), InKeyword, NotKeyword]);

    private static Parser<char, SyntaxNode> Chain(Parser<char, SyntaxNode> operand, Parser<char, TextSpan> op, bool isAnd) =>
        operand.SeparatedAtLeastOnce(op).Select(items =>
        {
            var list = items.ToList();
            return list.Count == 1 ? list[0]
                : new LogicalSyntax(isAnd, list, TextSpan.Cover(list[0].Span, list[^1].Span));
        });

    private static readonly Parser<char, SyntaxNode> AndLevel =
        Chain(Comparison, Lexemes.OneOf((Symbol("&&"), true), (Keyword("and"), true)).Select(t => t.Span), isAnd: true);

    private static readonly Parser<char, SyntaxNode> Expression =
        Chain(AndLevel, Lexemes.OneOf((Symbol("||"), false), (Keyword("or"), false)).Select(t => t.Span), isAnd: false);

    // ---- policies: statements start with a reserved word, so no terminators are needed ----

    private static readonly Parser<char, SyntaxNode> ListDefinition =
        Map((start, name, elements) => (SyntaxNode)new ListDefinitionSyntax(name, elements.Elements, new TextSpan(start.Start, elements.Close.End)),
            Keyword("list"), Identifier.Select(t => new NameSyntax(t.Value, t.Span)).Labelled("name"),
            Symbol("=", "=").Then(Elements));

    private static readonly Parser<char, SyntaxNode> MacroDefinition =
        Map((start, name, body) => (SyntaxNode)new MacroDefinitionSyntax(name, body, new TextSpan(start.Start, body.Span.End)),
            Keyword("macro"), Identifier.Select(t => new NameSyntax(t.Value, t.Span)).Labelled("name"),
            Symbol("=", "=").Then(Expression));

    private static readonly Parser<char, (RuleKind Kind, StringLiteralSyntax? Key, TextSpan Start)> RuleHead =
        Keyword("always").Then(StringLiteralLabelled("key").Optional(),
                (start, key) => (RuleKind.Always, key.HasValue ? (StringLiteralSyntax?)key.Value : null, start))
            .Or(Keyword("never").Select(start => (RuleKind.Never, (StringLiteralSyntax?)null, start)));

    private static readonly Parser<char, SyntaxNode> Rule =
        Map((head, condition) => (SyntaxNode)new RuleSyntax(head.Kind, head.Key, condition, new TextSpan(head.Start.Start, condition.Span.End)),
            RuleHead, Symbol(":").Then(Expression));

    private static readonly Parser<char, SyntaxNode> Statement = OneOf(ListDefinition, MacroDefinition, Rule);

    private static readonly Parser<char, PolicySyntax> Policy =
        Ws.Then(Map((statements, expression, end) => new PolicySyntax(statements.ToList(), expression.HasValue ? expression.Value : null, new TextSpan(0, end)),
                Statement.Many(), Expression.Optional(), CurrentOffset))
        .Before(End.Labelled("end of filter"));

    /// <summary>The words that start a statement: reserved, so no list or macro may take them as its name.</summary>
    public static readonly IReadOnlyList<string> StatementWords = ["list", "macro", "always", "never"];

    /// <summary>The language's keywords (<c>and</c>, <c>in</c>, <c>true</c>, ...).</summary>
    public static IReadOnlyCollection<string> ExpressionKeywords => Keywords;

    /// <summary>Parses a filter or policy into a syntax tree, or returns the first syntax error.</summary>
    public static (PolicySyntax? Tree, Diagnostic? Error) Parse(string text)
    {
        if (text.Length > MaxLength)
            return (null, new Diagnostic(DiagnosticCode.InputTooLong, new TextSpan(MaxLength, MaxLength),
                $"filter is {text.Length} characters long; the limit is {MaxLength}"));
        if (CheckParenDepth(text) is { } depthError) return (null, depthError);
        if (CheckSurrogates(text) is { } textError) return (null, textError);

        var result = Policy.Parse(text, ParserPools.Instance);
        if (!result.Success) return (null, ToDiagnostic(text, result.Error!));
        return (result.Value, null);
    }

    /// <summary>An unpaired surrogate has no UTF-8 form: in a string literal it would become U+FFFD's bytes.</summary>
    private static Diagnostic? CheckSurrogates(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i]))
                return new Diagnostic(DiagnosticCode.InvalidText, new TextSpan(i, i + 1),
                    $"unpaired surrogate U+{(int)text[i]:X4}: the filter is not Unicode text");
        }
        return null;
    }

    private static Diagnostic? CheckParenDepth(string text)
    {
        int depth = 0;
        bool inString = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '"' || c == '\n') inString = false;
            }
            else if (c == '"') inString = true;
            else if (c == '#') { while (i < text.Length && text[i] != '\n') i++; }
            else if (c == '(' && ++depth > MaxParenDepth)
                return new Diagnostic(DiagnosticCode.NestingTooDeep, new TextSpan(i, i + 1),
                    $"parentheses nested more than {MaxParenDepth} deep");
            else if (c == ')') depth--;
        }
        return null;
    }

    private static Diagnostic ToDiagnostic(string text, ParseError<char> error)
    {
        int at = Math.Min(error.ErrorOffset, text.Length);
        bool endExpected = error.Expected.Any(e => e.IsEof || e.Label == "end of filter"); // where an operator could have been too
        string unexpected = error.EOF ? "end of filter"
            : endExpected && SyntaxHints.WordAt(text, at, Keywords) is { } unexpectedWord ? $"'{unexpectedWord}'"
            : error.Unexpected.HasValue ? Describe(error.Unexpected.Value)
            : at < text.Length ? Describe(text[at]) : "end of filter";
        var expected = error.Expected
            .Select(e => e.IsEof ? "end of filter" : e.Label ?? $"'{string.Concat(e.Tokens)}'")
            .Distinct().Order(StringComparer.Ordinal).ToList();
        var message = new StringBuilder(error.Message ?? $"unexpected {unexpected}");
        if (expected.Count > 0)
            message.Append("; expected ").Append(expected.Count == 1 ? expected[0]
                : string.Join(", ", expected.Take(expected.Count - 1)) + " or " + expected[^1]);
        if (!error.EOF && SyntaxHints.At(text, at, Keywords, endExpected) is { } hint)
            message.Append(hint);
        else if (!error.EOF && at < text.Length && text[at] == '=' && (at + 1 >= text.Length || text[at + 1] != '='))
            message.Append(" (use '==' to compare)");
        else if (!error.EOF && at < text.Length && "=!<>".Contains(text[at]) && expected.Contains("end of filter"))
            message.Append(" (comparisons do not chain: combine them with &&)");
        int end = at < text.Length ? at + 1 : at;
        if (!error.EOF && StatementWordAt(text, at) is { } word && !expected.Contains($"'{word}'"))
            return new Diagnostic(DiagnosticCode.MixedExpressionAndRules, new TextSpan(at, at + word.Length), word is "always" or "never"
                ? "a filter is either one expression or a list of rules, not both: write the expression before this as a rule too (always: EXPR)"
                : $"a {word} must be defined before the expression that ends the filter");
        return new Diagnostic(DiagnosticCode.SyntaxError, new TextSpan(at, end), message.ToString());
    }

    /// <summary>The statement word (<c>always</c>, <c>list</c>, ...) that starts at <paramref name="at"/>, if any.</summary>
    private static string? StatementWordAt(string text, int at)
    {
        foreach (var word in StatementWords)
            if (string.CompareOrdinal(text, at, word, 0, word.Length) == 0
                && (at + word.Length == text.Length || !(char.IsAsciiLetterOrDigit(text[at + word.Length]) || text[at + word.Length] == '_')))
                return word;
        return null;
    }

    private static string Describe(char c) => c switch
    {
        '\0' => "NUL character",
        '\n' => "end of line",
        _ when char.IsControl(c) => $"control character U+{(int)c:X4}",
        // Outside ASCII the character may look like one that is allowed ('０', 'ｕ'): say which it is.
        _ when c > 0x7e => $"'{c}' (U+{(int)c:X4})",
        _ => $"'{c}'",
    };
}
