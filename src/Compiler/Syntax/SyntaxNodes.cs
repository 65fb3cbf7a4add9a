namespace Filter.Compiler.Syntax;

public enum UnaryOp { Negate, BitNot, LogicalNot }

public enum BinaryOp
{
    Add, Subtract, ShiftLeft, ShiftRight, BitAnd, BitXor, BitOr,
    Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, StartsWith, EndsWith, Contains,
}

/// <summary>The parser's output: syntax only, every node positioned. Names are not resolved here.</summary>
public abstract record SyntaxNode(TextSpan Span);

/// <summary>An integer literal as written (decimal or 0x hex); the binder checks its range.</summary>
public sealed record IntLiteralSyntax(string Text, TextSpan Span) : SyntaxNode(Span);

/// <summary>A date and time literal as written (<c>2026-12-06T10:00:00Z</c>); the binder resolves it to milliseconds.</summary>
public sealed record DateTimeSyntax(string Text, TextSpan Span) : SyntaxNode(Span);

public sealed record BoolLiteralSyntax(bool Value, TextSpan Span) : SyntaxNode(Span);

/// <summary>A string literal, escapes decoded, as UTF-8 bytes.</summary>
public sealed record StringLiteralSyntax(byte[] Value, TextSpan Span) : SyntaxNode(Span);

/// <summary>A field, syscall, arch or constant name.</summary>
public sealed record NameSyntax(string Name, TextSpan Span) : SyntaxNode(Span);

public sealed record UnarySyntax(UnaryOp Op, SyntaxNode Operand, TextSpan OpSpan, TextSpan Span) : SyntaxNode(Span);

public sealed record BinarySyntax(BinaryOp Op, SyntaxNode Left, SyntaxNode Right, TextSpan OpSpan, TextSpan Span) : SyntaxNode(Span);

/// <summary><c>a &amp;&amp; b &amp;&amp; ...</c> or <c>a || b || ...</c>, flat so long chains do not nest.</summary>
public sealed record LogicalSyntax(bool IsAnd, IReadOnlyList<SyntaxNode> Operands, TextSpan Span) : SyntaxNode(Span);

/// <summary>One element of a set: a value or an inclusive range <c>Lo..Hi</c>.</summary>
public sealed record SetElementSyntax(SyntaxNode Lo, SyntaxNode? Hi, TextSpan Span) : SyntaxNode(Span);

public sealed record InSyntax(SyntaxNode Value, bool Negated, IReadOnlyList<SetElementSyntax> Elements, TextSpan OpSpan, TextSpan Span) : SyntaxNode(Span);

/// <summary><c>x in NAME</c>: membership in a named list, whose elements are resolved beside <c>x</c>.</summary>
public sealed record InListSyntax(SyntaxNode Value, bool Negated, NameSyntax List, TextSpan OpSpan, TextSpan Span) : SyntaxNode(Span);

// ---- policies (spec/language.md, "Policies") ----

public enum RuleKind { Always, Never }

/// <summary><c>list NAME = (elements)</c>: elements as written; names of earlier lists are spliced by the binder.</summary>
public sealed record ListDefinitionSyntax(NameSyntax Name, IReadOnlyList<SetElementSyntax> Elements, TextSpan Span) : SyntaxNode(Span);

/// <summary><c>macro NAME = EXPR</c>.</summary>
public sealed record MacroDefinitionSyntax(NameSyntax Name, SyntaxNode Body, TextSpan Span) : SyntaxNode(Span);

/// <summary><c>always "KEY": EXPR</c>, <c>always: EXPR</c> or <c>never: EXPR</c>; <paramref name="Key"/> is null when none is written.</summary>
public sealed record RuleSyntax(RuleKind Kind, StringLiteralSyntax? Key, SyntaxNode Condition, TextSpan Span) : SyntaxNode(Span);

/// <summary>
/// A whole filter file: definitions and rules in source order, then possibly a bare expression (a
/// filter written as one expression is a policy with no statements and that expression).
/// </summary>
public sealed record PolicySyntax(IReadOnlyList<SyntaxNode> Statements, SyntaxNode? Expression, TextSpan Span) : SyntaxNode(Span);
