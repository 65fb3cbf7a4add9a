using Pidgin;
using Pidgin.Expression;

namespace Filter.Compiler.Syntax;

/// <summary>
/// <c>ExpressionParser.Build(term, rows)</c> with the same results and errors, and a shortcut. Pidgin's
/// expression parser tries every row's operators after every operand, a dozen parser calls a row, and most
/// operands are followed by none of them (the right side of a comparison, a name before <c>==</c>, every
/// operand but one of a chain of <c>&amp;&amp;</c>). So the operand is parsed first, and when none of
/// <paramref name="operators"/> (every operator the rows can start with) is next, it is the result, as
/// the full parser's would be: each row's failed try consumes nothing, and Pidgin keeps no trace of a failed
/// alternative once another succeeds. Otherwise the full parser goes on from there, its first term being the
/// operand already parsed (nothing is parsed twice, so nesting stays linear). The rows may have no prefix
/// operators: the first thing the full parser does must be to parse its first term.
/// </summary>
internal sealed class OperatorLevels : Parser<char, SyntaxNode>
{
    // The operand handed from TryParse to the full parser's first term, taken at once (so one for all).
    [ThreadStatic] private static SyntaxNode? t_parsed;

    private readonly Parser<char, SyntaxNode> _term;
    private readonly Parser<char, SyntaxNode> _full;
    private readonly Lexemes.SymbolParser[] _operators;
    private readonly int _lookAhead;

    public OperatorLevels(Parser<char, SyntaxNode> term, IReadOnlyList<OperatorTableRow<char, SyntaxNode>> rows, IReadOnlyList<Lexemes.SymbolParser> operators)
    {
        if (rows.Any(r => r.PrefixOps.Any())) throw new ArgumentException("rows with prefix operators parse before their first term", nameof(rows));
        _term = term;
        _full = ExpressionParser.Build(new Parsed(term), rows);
        _operators = [.. operators];
        _lookAhead = _operators.Max(o => o.Text.Length) + 1;
    }

    public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out SyntaxNode result)
    {
        if (!_term.TryParse(ref state, ref expecteds, out result!)) return false;
        var ahead = state.LookAhead(_lookAhead);
        bool operatorNext = false;
        foreach (var op in _operators) operatorNext |= op.IsAt(ahead);
        if (!operatorNext) return true;
        t_parsed = result;
        bool parsed = _full.TryParse(ref state, ref expecteds, out result!);
        t_parsed = null;
        return parsed;
    }

    /// <summary>The full parser's term: the operand parsed already, the first time, then <c>term</c>.</summary>
    private sealed class Parsed(Parser<char, SyntaxNode> term) : Parser<char, SyntaxNode>
    {
        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out SyntaxNode result)
        {
            if (t_parsed is { } node)
            {
                t_parsed = null;
                result = node;
                return true;
            }
            return term.TryParse(ref state, ref expecteds, out result!);
        }
    }
}
