using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace Filter.Tests.Properties;

/// <summary>
/// Random policies built from <see cref="FilterGen"/>'s expressions: a few macros and lists, then a few
/// <c>always</c>/<c>never</c> rules that use them; and "simple" conditions, for which the syscall analysis
/// must be exact.
/// </summary>
public static class PolicyGen
{
    private static Gen<T> Freq<T>(params (int, Gen<T>)[] choices) => Gen.Frequency(choices);

    private static Gen<(A, B)> Zip<A, B>(Gen<A> a, Gen<B> b) => a.SelectMany(x => b.Select(y => (x, y)));

    private static Gen<(A, B, C)> Zip<A, B, C>(Gen<A> a, Gen<B> b, Gen<C> c) =>
        a.SelectMany(x => b.SelectMany(y => c.Select(z => (x, y, z))));

    private static Gen<List<T>> Sequence<T>(IEnumerable<Gen<T>> gens) =>
        gens.Aggregate(Gen.Constant(new List<T>()), (acc, g) => acc.SelectMany(list => g.Select(x => new List<T>(list) { x })));

    private static readonly string[] SyscallNames = ["read", "write", "openat", "execve", "fork", "clone", "exit_group", "connect", "kill", "ptrace", "gettimeofday"];

    private static Gen<string> Rule(int index, int macros) =>
        from always in Freq((3, Gen.Constant(true)), (1, Gen.Constant(false)))
        from key in Gen.Elements("", "k", "net", "dup")
        from withKey in Gen.Elements(true, false)
        from body in Freq(
            (3, FilterGen.Filter(4)),
            (2, from names in Gen.Elements(SyscallNames).ArrayOf(2)
                from rest in FilterGen.Filter(2)
                select $"syscall in ({names[0]}, {names[1]}) && {rest}"),
            (1, Gen.Constant(index % 2 == 0 ? "syscall in calls" : "uid in ids")),
            (macros > 0 ? 2 : 0, from m in Gen.Choose(0, Math.Max(0, macros - 1))
                                 from rest in FilterGen.Filter(2)
                                 select $"m{m} {(index % 2 == 0 ? "&&" : "||")} !({rest})"))
        select always ? (withKey ? $"always \"{key}\": {body}" : $"always: {body}") : $"never: {body}";

    /// <summary>Two lists, up to two macros (the second may use the first) and one to five rules.</summary>
    public static Gen<string> Policy =>
        from macros in Gen.Choose(0, 2)
        from m0 in FilterGen.Filter(3)
        from m1 in FilterGen.Filter(2)
        from count in Gen.Choose(1, 5)
        from rules in Sequence(Enumerable.Range(0, count).Select(i => Rule(i, macros)))
        select string.Join("\n",
            new[] { "list calls = (execve, fork, 60..70)", "list ids = (0, 1000..1999)" }
                .Concat(macros > 0 ? [$"macro m0 = {m0}"] : [])
                .Concat(macros > 1 ? [$"macro m1 = m0 && ({m1})"] : [])
                .Concat(rules));

    // ---- simple conditions: per-field tests against constants, combined with &&, || and ! ----

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static Gen<string> SimpleAtom =>
        Freq(
            (3, Gen.Elements(SyscallNames).ArrayOf(3).Select(n => $"syscall in ({n[0]}, {n[1]}, {n[2]})")),
            (2, Gen.Elements(SyscallNames).Select(n => $"syscall == {n}")),
            (2, Zip(Gen.Elements("==", "!=", "<", "<=", ">", ">="), Gen.Choose(0, 480)).Select(t => $"syscall {t.Item1} {N(t.Item2)}")),
            (1, Gen.Choose(0, 480).Two().Select(t => $"syscall in ({N(Math.Min(t.Item1, t.Item2))}..{N(Math.Max(t.Item1, t.Item2))})")),
            (2, Gen.Elements("arch == x86_64", "arch != i386", "arch in (aarch64, i386)", "arch == 0", "arch != 7")),
            (2, Zip(Gen.Elements("uid", "euid", "auid", "a0", "exit", "ppid"), Gen.Elements("==", "!=", "<", "<=", ">", ">="),
                    Gen.Elements(0L, 1L, 5L, 1000L, -1L, 4294967295L)).Select(t => $"{t.Item1} {t.Item2} {N(t.Item3)}")),
            (1, Zip(Gen.Elements("uid", "a1", "exit"), Gen.Choose(0, 2000), Gen.Choose(0, 50)).Select(t => $"{t.Item1} in ({N(t.Item2)}..{N(t.Item2 + t.Item3)}, 7)")),
            (1, Zip(Gen.Elements("a2", "uid"), Gen.Choose(0, 40)).Select(t => $"{t.Item1} & {1UL << t.Item2} {(t.Item2 % 2 == 0 ? "!=" : "==")} 0")),
            (1, Zip(Gen.Elements("comm", "exe"), Gen.Elements("==", "!=", "startswith"), Gen.Elements("", "sh", "bash", "/tmp/", "/tmp/x")).Select(t => $"{t.Item1} {t.Item2} \"{t.Item3}\"")),
            (1, Gen.Elements("success", "!success", "type == signal")));

    public static Gen<string> Simple(int depth) =>
        depth <= 0 ? SimpleAtom
        : Freq(
            (2, SimpleAtom),
            (3, Zip(Simple(depth - 1), Gen.Elements("&&", "||"), Simple(depth - 1)).Select(t => $"({t.Item1} {t.Item2} {t.Item3})")),
            (1, Simple(depth - 1).Select(s => $"!({s})")));
}
