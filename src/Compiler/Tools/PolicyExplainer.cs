using System.Globalization;
using System.Text;
using System.Text.Json;
using Filter.Compiler.Binding;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Tools;

/// <summary>
/// One sub-expression on the path taken: its source text (or the macro's name), the operand values it
/// compared, and its value; <see cref="Evaluated"/> is false for an operand that <c>&amp;&amp;</c> or
/// <c>||</c> skipped (its value is then meaningless).
/// </summary>
public sealed record ExplainStep(string Text, string? Macro, string? Detail, bool Evaluated, bool Value, int Line, IReadOnlyList<ExplainStep> Children);

/// <summary>One rule: its value, or null when an earlier rule decided and it was not evaluated.</summary>
public sealed record RuleExplanation(int Index, RuleAction Kind, string? Key, int Verdict, int Line, string Text, ExplainStep? Condition)
{
    public bool? Holds => Condition?.Value;
}

/// <summary>
/// Why a record got its verdict: every rule up to the deciding one (<see cref="DecidingRule"/>, -1 when no
/// rule holds), step by step. <see cref="Arch"/> and <see cref="Syscall"/> are the record's.
/// </summary>
public sealed record Explanation(IReadOnlyList<RuleExplanation> Rules, int DecidingRule, int Verdict, string? Key, uint Arch, uint Syscall)
{
    /// <summary>The record's arch and syscall, with their names where known: <c>arch=x86_64 syscall=59 (execve)</c>.</summary>
    public string RecordSummary => $"arch={ArchText} syscall={Syscall}{(SyscallName is { } name ? $" ({name})" : "")}";

    private string ArchText => AuditArch.NameOf(Arch) ?? $"0x{Arch:x}";

    private string? SyscallName => Syscalls.NameOf(Arch, (int)Math.Min(Syscall, int.MaxValue));

    /// <summary>The explanation as indented text: one line per rule and per sub-expression.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("record: ").Append(RecordSummary).Append('\n');
        foreach (var rule in Rules)
        {
            sb.Append(CultureInfo.InvariantCulture, $"rule {rule.Index + 1} (line {rule.Line}) {PrintableText.Escape(rule.Text)}");
            if (rule.Condition is null)
            {
                sb.Append("\n  not evaluated: an earlier rule decided\n");
                continue;
            }
            sb.Append(CultureInfo.InvariantCulture, $"  -> {Bool(rule.Condition.Value)}\n");
            Append(sb, rule.Condition, 1);
        }
        sb.Append(DecidingRule < 0
            ? "verdict 0 (drop): no rule holds\n"
            : Rules[DecidingRule].Kind == RuleAction.Never
                ? $"verdict 0 (drop): decided by rule {DecidingRule + 1}, a never rule\n"
                : $"verdict {Verdict}: decided by rule {DecidingRule + 1}, key \"{PrintableText.Escape(Key ?? "")}\"\n");
        return sb.ToString();
    }

    /// <summary>The explanation as one JSON document (the schema is in spec/tools.md).</summary>
    public string Json(string sourceName)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, DiagnosticRenderer.Readable(indented: true)))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);
            w.WriteString("file", sourceName);
            w.WriteStartObject("record");
            w.WriteString("arch", AuditArch.NameOf(Arch) ?? "other");
            w.WriteString("archValue", $"0x{Arch:x8}");
            w.WriteNumber("syscall", Syscall);
            if (SyscallName is { } name) w.WriteString("syscallName", name);
            w.WriteEndObject();
            w.WriteNumber("verdict", Verdict);
            if (DecidingRule < 0) w.WriteNull("decidingRule");
            else w.WriteNumber("decidingRule", DecidingRule + 1);
            if (Key is not null) w.WriteString("key", Key);
            w.WriteStartArray("rules");
            foreach (var rule in Rules)
            {
                w.WriteStartObject();
                AnalysisOutput.WriteRuleFields(w, rule.Index, rule.Kind, rule.Key, rule.Verdict, rule.Line, rule.Text);
                w.WriteBoolean("evaluated", rule.Condition is not null);
                if (rule.Condition is { } condition)
                {
                    w.WriteBoolean("holds", condition.Value);
                    w.WritePropertyName("condition");
                    Write(w, condition);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Write(Utf8JsonWriter w, ExplainStep step)
    {
        w.WriteStartObject();
        w.WriteString("text", step.Text);
        if (step.Macro is not null) w.WriteString("macro", step.Macro);
        w.WriteNumber("line", step.Line);
        w.WriteBoolean("evaluated", step.Evaluated);
        if (step.Evaluated)
        {
            if (step.Detail is not null) w.WriteString("detail", step.Detail);
            w.WriteBoolean("value", step.Value);
        }
        w.WriteStartArray("children");
        foreach (var child in step.Children) Write(w, child);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Append(StringBuilder sb, ExplainStep step, int depth)
    {
        sb.Append(' ', depth * 2);
        sb.Append(PrintableText.Escape(step.Macro is null ? step.Text : $"{step.Macro} (macro: {step.Text})"));
        if (!step.Evaluated)
        {
            sb.Append("  -> not evaluated\n");
            return;
        }
        if (step.Detail is not null) sb.Append("   [").Append(step.Detail).Append(']');
        sb.Append("  -> ").Append(Bool(step.Value)).Append('\n');
        foreach (var child in step.Children) Append(sb, child, depth + 1);
    }

    private static string Bool(bool b) => b ? "true" : "false";
}

/// <summary>
/// Explains a policy's verdict on a record in source terms (<c>filterc explain</c>, spec/tools.md). The
/// structure (first rule that holds decides; <c>&amp;&amp;</c>/<c>||</c> stop at the first deciding operand) is
/// walked here; every leaf's truth and every operand's value come from <see cref="ReferenceEvaluator"/>,
/// so the explanation cannot disagree with the language's semantics (tests cross-check the verdicts).
/// </summary>
public static class PolicyExplainer
{
    public static Explanation Explain(Compilation compilation, Record record)
    {
        var policy = compilation.Policy ?? throw new ArgumentException("the compilation failed: nothing to explain", nameof(compilation));
        var source = new PolicySource(compilation.Source);
        var rules = new List<RuleExplanation>();
        int deciding = -1;
        for (int i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            string text = source.RuleText(rule);
            if (deciding >= 0)
            {
                rules.Add(new RuleExplanation(i, rule.Kind, rule.Key, rule.Verdict, source.LineOf(rule.Span.Start), text, null));
                continue;
            }
            var step = new Tracer(source, record).Trace(rule.Condition, rule.Span);
            rules.Add(new RuleExplanation(i, rule.Kind, rule.Key, rule.Verdict, source.LineOf(rule.Span.Start), text, step));
            if (step.Value) deciding = i;
        }
        int verdict = deciding < 0 ? 0 : policy.Rules[deciding].Verdict;
        return new Explanation(rules, deciding, verdict, verdict == 0 ? null : policy.Rules[deciding].Key, record.Arch, record.Syscall);
    }

    /// <summary>Evaluates one condition, recording each sub-expression it evaluates (a ref struct record cannot be a field elsewhere).</summary>
    private readonly ref struct Tracer(PolicySource source, Record record)
    {
        private readonly PolicySource _source = source;
        private readonly Record _record = record;

        public ExplainStep Trace(BoundBool node, TextSpan parent)
        {
            var step = TraceNode(node);
            // A node whose span lies outside its parent's is a macro's body, used by name in the parent.
            if (!PolicySource.Contains(parent, node.Span) && _source.MacroAt(node.Span) is { } macro)
                step = step with { Macro = macro.Name };
            return step;
        }

        private ExplainStep TraceNode(BoundBool node)
        {
            string text = _source.TextOf(node.Span);
            int line = _source.LineOf(node.Span.Start);
            switch (node)
            {
                case BoundLogical l:
                {
                    var children = new List<ExplainStep>(l.Operands.Count);
                    bool? decided = null;
                    foreach (var operand in l.Operands)
                    {
                        if (decided is not null)
                        {
                            children.Add(NotEvaluated(operand, node.Span));
                            continue;
                        }
                        var child = Trace(operand, node.Span);
                        children.Add(child);
                        // && stops at the first false operand, || at the first true one.
                        if (child.Value != l.IsAnd) decided = child.Value;
                    }
                    return new ExplainStep(text, null, null, true, decided ?? l.IsAnd, line, children);
                }
                case BoundNot n:
                {
                    var child = Trace(n.Operand, node.Span);
                    // `x != y`, `!(x in s)` written as one operator: one line, not a negation of a hidden node.
                    if (n.Operand.Span == n.Span && child.Macro is null)
                        return child with { Value = !child.Value };
                    return new ExplainStep(text, null, null, true, !child.Value, line, [child]);
                }
                case BoundBoolEquals e:
                {
                    var left = Trace(e.Left, node.Span);
                    var right = Trace(e.Right, node.Span);
                    return new ExplainStep(text, null, $"{Bool(left.Value)} == {Bool(right.Value)}", true, left.Value == right.Value, line, [left, right]);
                }
                default:
                    // A leaf: its truth is the reference evaluator's; the detail shows what it looked at.
                    return new ExplainStep(text, null, Detail(node), true, ReferenceEvaluator.Evaluate(node, _record), line, []);
            }
        }

        private ExplainStep NotEvaluated(BoundBool node, TextSpan parent)
        {
            string? macro = !PolicySource.Contains(parent, node.Span) ? _source.MacroAt(node.Span)?.Name : null;
            return new ExplainStep(_source.TextOf(node.Span), macro, null, false, false, _source.LineOf(node.Span.Start), []);
        }

        private string? Detail(BoundBool node) => node switch
        {
            BoundCompare c => $"{Show(c.Left, c.Signed)} {CompareText(c.Op)} {Show(c.Right, c.Signed)}",
            BoundInSet s => $"{Describe(s.Value)} = {Show(s.Value, s.Set.Signed)}",
            BoundSyscallIn => $"syscall = {Show(new BoundFieldLoad(RecordLayout.ScalarNamed("syscall")!, default), false)}",
            BoundStringTest t => $"{t.Field.Name} = {Quote(_record.GetString(t.Field))}",
            BoundBoolField f => $"{f.Field.Name} = {_record.Load(f.Field)}",
            BoundBoolConst => null,
            _ => null,
        };

        private string Describe(BoundInt value) => value is BoundFieldLoad f ? f.Field.Name : _source.TextOf(value.Span);

        /// <summary>An operand's value as the comparison sees it, with the syscall or arch name when it has one.</summary>
        private string Show(BoundInt operand, bool signed)
        {
            ulong v = ReferenceEvaluator.Value(operand, _record);
            string number = signed ? ((long)v).ToString(CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
            if (operand is not BoundFieldLoad f) return number;
            return f.Field.Name switch
            {
                "syscall" when Syscalls.NameOf(_record.Arch, (int)Math.Min(v, int.MaxValue)) is { } name => $"{number} ({name})",
                "arch" => AuditArch.NameOf((uint)v) is { } name ? $"0x{v:x} ({name})" : $"0x{v:x}",
                _ => number,
            };
        }
    }

    private static string Bool(bool b) => b ? "true" : "false";

    private static string CompareText(CompareOp op) => op switch
    {
        CompareOp.Equal => "==",
        CompareOp.NotEqual => "!=",
        CompareOp.Less => "<",
        CompareOp.LessEqual => "<=",
        CompareOp.Greater => ">",
        _ => ">=",
    };

    /// <summary>A string value as a literal: printable ASCII as is, other bytes as \xNN.</summary>
    public static string Quote(ReadOnlySpan<byte> value)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in value)
        {
            if (b == '"' || b == '\\') sb.Append('\\').Append((char)b);
            else if (b >= 0x20 && b < 0x7f) sb.Append((char)b);
            else sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
        }
        return sb.Append('"').ToString();
    }
}
