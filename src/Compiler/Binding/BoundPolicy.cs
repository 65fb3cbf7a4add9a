
namespace Filter.Compiler.Binding;

/// <summary>
/// One rule of a policy, bound. <paramref name="Key"/> is null for a <c>never</c> rule and the written key
/// ("" when none) for an <c>always</c> rule. <paramref name="Verdict"/> is 0 for a <c>never</c> rule and k for
/// the k-th <c>always</c> rule (counting from 1, in source order). Macros are expanded in
/// <paramref name="Condition"/> (a macro used twice is one shared subtree) and lists are resolved.
/// </summary>
public sealed record BoundRule(RuleAction Kind, string? Key, int Verdict, BoundBool Condition, TextSpan Span);

/// <summary>What a rule does when its condition holds: keep the record (with the rule's verdict) or drop it.</summary>
public enum RuleAction { Always, Never }

/// <summary>
/// A bound policy: ordered rules; the first rule whose condition holds decides (spec/language.md,
/// "Policies"). A filter written as one expression is one anonymous <c>always</c> rule.
/// </summary>
public sealed class BoundPolicy
{
    public BoundPolicy(IReadOnlyList<BoundRule> rules)
    {
        Rules = rules;
        Keys = rules.Where(r => r.Kind == RuleAction.Always).Select(r => r.Key!).ToList();
        MatchCondition = BuildMatchCondition(rules);
    }

    public IReadOnlyList<BoundRule> Rules { get; }

    /// <summary>The key of each verdict: <c>Keys[k - 1]</c> is verdict k's key (verdict 0, "drop", has none).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>
    /// A condition that holds exactly when the verdict is not 0: folded from the last rule back,
    /// <c>always: c</c> gives <c>c || rest</c> and <c>never: c</c> gives <c>!c &amp;&amp; rest</c>. For a
    /// single-expression filter it is that expression.
    /// </summary>
    public BoundBool MatchCondition { get; }

    private static BoundBool BuildMatchCondition(IReadOnlyList<BoundRule> rules)
    {
        // Runs of rules of one kind become one flat || or && so that the tree's depth grows with the
        // number of always/never alternations, not with the number of rules.
        BoundBool rest = new BoundBoolConst(false, rules.Count > 0 ? rules[^1].Span : default);
        int end = rules.Count;
        while (end > 0)
        {
            var kind = rules[end - 1].Kind;
            int start = end;
            while (start > 0 && rules[start - 1].Kind == kind) start--;
            var run = rules.Skip(start).Take(end - start).ToList();
            var span = TextSpan.Cover(run[0].Span, run[^1].Span);
            var operands = kind == RuleAction.Always
                ? run.Select(r => r.Condition).ToList()
                : run.Select(r => r.Condition is BoundBoolConst c ? c with { Value = !c.Value } : (BoundBool)new BoundNot(r.Condition, r.Span)).ToList();
            if (!(rest is BoundBoolConst { Value: false } && kind == RuleAction.Always)) operands.Add(rest);
            rest = Fold(kind == RuleAction.Always ? false : true, operands, span);
            end = start;
        }
        return rest;
    }

    /// <summary>A flat && (or ||) of the operands, with constants folded away; a single operand stands alone.</summary>
    private static BoundBool Fold(bool isAnd, List<BoundBool> operands, TextSpan span)
    {
        var kept = new List<BoundBool>();
        foreach (var o in operands)
        {
            if (o is BoundBoolConst c)
            {
                if (c.Value != isAnd) return new BoundBoolConst(c.Value, span);
                continue;
            }
            kept.Add(o);
        }
        return kept.Count switch
        {
            0 => new BoundBoolConst(isAnd, span),
            1 => kept[0],
            _ => new BoundLogical(isAnd, kept, span),
        };
    }
}
