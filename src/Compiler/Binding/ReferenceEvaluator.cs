
namespace Filter.Compiler.Binding;

/// <summary>
/// The language's executable semantics: walks the bound tree over a record, with no bytecode involved.
/// Slow and simple on purpose; every engine is tested against it.
/// </summary>
public static class ReferenceEvaluator
{
    /// <summary>A policy's verdict: the first rule (in source order) whose condition holds decides; 0 when it is a
    /// <c>never</c> rule or no rule holds, else that <c>always</c> rule's verdict.</summary>
    public static int Evaluate(BoundPolicy policy, Record record)
    {
        int rule = DecidingRule(policy, record);
        return rule < 0 ? 0 : policy.Rules[rule].Verdict;
    }

    /// <summary>The index into <see cref="BoundPolicy.Rules"/> of the first rule whose condition holds, or -1 if none does.</summary>
    public static int DecidingRule(BoundPolicy policy, Record record)
    {
        for (int i = 0; i < policy.Rules.Count; i++)
            if (Evaluate(policy.Rules[i].Condition, record)) return i;
        return -1;
    }

    public static bool Evaluate(BoundBool node, Record record) => node switch
    {
        BoundBoolConst c => c.Value,
        BoundBoolField f => record.Load(f.Field) != 0,
        BoundNot n => !Evaluate(n.Operand, record),
        BoundLogical l => Logical(l, record),
        BoundBoolEquals eq => Evaluate(eq.Left, record) == Evaluate(eq.Right, record),
        BoundCompare c => IntOps.Compare(c.Op, Value(c.Left, record), Value(c.Right, record), c.Signed),
        BoundInSet s => s.Set.Contains(Value(s.Value, record)),
        BoundSyscallIn s => SyscallSet(s, record.Arch)?.Contains(record.Syscall) ?? false,
        BoundStringTest t => t.Op.Holds(record.GetString(t.Field), t.Value),
        _ => throw new InvalidOperationException($"no evaluation for {node.GetType().Name}"),
    };

    private static bool Logical(BoundLogical l, Record record)
    {
        // A ref struct cannot be captured by a lambda, hence the loop; && stops at the first false.
        foreach (var operand in l.Operands)
            if (Evaluate(operand, record) != l.IsAnd) return !l.IsAnd;
        return l.IsAnd;
    }

    private static ValueSet? SyscallSet(BoundSyscallIn s, uint arch)
    {
        for (int i = 0; i < AuditArch.All.Count; i++)
            if (AuditArch.All[i].Value == arch) return s.PerArch[i];
        return s.OtherArch;
    }

    public static ulong Value(BoundInt node, Record record) => node switch
    {
        BoundIntConst c => c.Value,
        BoundFieldLoad f => record.Load(f.Field),
        BoundUnaryInt u => IntOps.Unary(u.Op, Value(u.Operand, record)),
        BoundBinaryInt b => IntOps.Binary(b.Op, Value(b.Left, record), Value(b.Right, record), b.Signed),
        _ => throw new InvalidOperationException($"no evaluation for {node.GetType().Name}"),
    };
}
