using System.Globalization;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;

namespace Filter.Tests.Properties;

/// <summary>
/// Generators of well-typed filters (as source text, so the parser is exercised too) and of records
/// with extreme values. Depth is bounded; every operator, sets with ranges, strings, syscall, arch and
/// named constants appear.
/// </summary>
public static class FilterGen
{
    private static readonly string[] IntFields =
        ["syscall", "exit", "a0", "a1", "a2", "a3", "a4", "a5", "pid", "ppid", "auid", "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "ses", "arch"];

    private static readonly string[] Syscalls = ["read", "write", "openat", "execve", "fork", "clone", "exit", "exit_group", "connect", "socket", "open", "getpid", "kill", "ptrace"];
    private static readonly string[] Constants = ["EACCES", "ENOENT", "EPERM", "SIGSEGV", "SIGKILL"];
    private static readonly string[] Strings = ["", "bash", "ls", "/usr/bin/", "/usr/bin/ls", "/tmp/x", "python3", "a-very-long-name", "\\x00", "\\\""];

    private static readonly ulong[] Interesting =
        [0, 1, 2, 7, 13, 59, 63, 64, 65, 1000, 4095, 65534, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
         0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffffffe, 0xffffffffffffffff];

    private static Gen<T> Freq<T>(params (int, Gen<T>)[] choices) => Gen.Frequency(choices);

    private static Gen<(A, B)> Zip<A, B>(Gen<A> a, Gen<B> b) => a.SelectMany(x => b.Select(y => (x, y)));

    private static Gen<(A, B, C)> Zip<A, B, C>(Gen<A> a, Gen<B> b, Gen<C> c) =>
        a.SelectMany(x => b.SelectMany(y => c.Select(z => (x, y, z))));

    public static Gen<ulong> Value =>
        Freq(
            (3, Gen.Elements(Interesting)),
            (2, Gen.Choose(0, 500).Select(i => (ulong)i)),
            (1, Gen.Choose(int.MinValue, int.MaxValue).Two().Select(t => ((ulong)(uint)t.Item1 << 32) | (uint)t.Item2)));

    private static Gen<string> Literal =>
        Value.SelectMany(v => Gen.Elements(
            v.ToString(CultureInfo.InvariantCulture),
            "0x" + v.ToString("x", CultureInfo.InvariantCulture),
            v <= long.MaxValue ? "-" + v.ToString(CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture)));

    public static Gen<string> Int(int depth) => Ints[Math.Min(depth, MaxDepth)];

    private static Gen<string> BuildInt(int depth) =>
        depth <= 0
            ? Freq((4, Gen.Elements(IntFields)), (3, Literal), (1, Gen.Elements(Constants)))
            : Freq(
                (3, Int(0)),
                (1, Int(depth - 1).Select(x => $"-({x})")),
                (1, Int(depth - 1).Select(x => $"~({x})")),
                (4, Zip(Int(depth - 1), Gen.Elements("+", "-", "&", "|", "^", "<<", ">>"), Int(depth - 1))
                    .Select(t => $"({t.Item1} {t.Item2} {t.Item3})")),
                (1, Zip(Int(depth - 1), Gen.Elements("<<", ">>"), Gen.Choose(0, 70)).Select(t => $"({t.Item1} {t.Item2} {t.Item3})")));

    // A range whose bounds share the top bit is non-empty in both signed and unsigned order, so it
    // suits a set whatever the signedness of the value tested.
    private static Gen<string> SetElement =>
        Freq((3, Literal), (1, Zip(Value, Value).Select(t =>
            (t.Item1 ^ t.Item2) >> 63 == 0
                ? Math.Min(t.Item1, t.Item2) + ".." + Math.Max(t.Item1, t.Item2)
                : t.Item1.ToString(CultureInfo.InvariantCulture))));

    private static Gen<string> Set(Gen<string> element) =>
        Gen.Choose(1, 5).SelectMany(n => element.ArrayOf(n)).Select(e => "(" + string.Join(", ", e) + ")");

    private static Gen<string> Comparison(int depth) =>
        Zip(Int(depth), Gen.Elements("==", "!=", "<", "<=", ">", ">="), Int(depth)).Select(t => $"{t.Item1} {t.Item2} {t.Item3}");

    public static Gen<string> Bool(int depth) => Bools[Math.Min(depth, MaxDepth)];

    private static Gen<string> BuildBool(int depth) =>
        depth <= 0
            ? Freq(
                (6, Comparison(1)),
                (1, Gen.Elements("success", "!success", "success == false", "true", "false")),
                (2, Zip(Gen.Elements("comm", "exe"), Gen.Elements("==", "!=", "startswith", "endswith", "contains"), Gen.Elements(Strings)).Select(t => $"{t.Item1} {t.Item2} \"{t.Item3}\"")),
                (1, Zip(Gen.Elements("comm", "exe"), Gen.Elements(Strings).ArrayOf(2)).Select(t => $"{t.Item1} in (\"{t.Item2[0]}\", \"{t.Item2[1]}\")")),
                (2, Zip(Int(1), Gen.Elements("in", "not in"), Set(SetElement)).Select(t => $"{t.Item1} {t.Item2} {t.Item3}")),
                (2, Zip(Gen.Elements("==", "!=", "in", "not in"), Set(Freq((3, Gen.Elements(Syscalls)), (1, Gen.Choose(0, 450).Select(i => i.ToString(CultureInfo.InvariantCulture))))))
                    .Select(t => t.Item1.Contains("in") ? $"syscall {t.Item1} {t.Item2}" : $"syscall {t.Item1} {Gen.Elements(Syscalls).Sample(1)[0]}")),
                (1, Gen.Elements("arch == x86_64", "arch != i386", "arch in (aarch64, i386)", "arch == 0")),
                (1, Zip(Int(0), Gen.Choose(0, 63)).Select(t => $"{t.Item1} & {1UL << t.Item2} != 0")))
            : Freq(
                (2, Bool(0)),
                (3, Zip(Bool(depth - 1), Gen.Elements("&&", "||", "and", "or"), Bool(depth - 1)).Select(t => $"({t.Item1} {t.Item2} {t.Item3})")),
                (1, Bool(depth - 1).Select(b => $"!({b})")),
                (1, Bool(depth - 1).Select(b => $"not ({b})")),
                (1, Zip(Bool(depth - 1), Gen.Elements("==", "!="), Bool(depth - 1)).Select(t => $"({t.Item1}) {t.Item2} ({t.Item3})")));

    // Generators are built once per depth: building them recursively on every use is exponential in depth.
    private const int MaxDepth = 8;
    private static readonly Gen<string>[] Ints = new Gen<string>[MaxDepth + 1];
    private static readonly Gen<string>[] Bools = new Gen<string>[MaxDepth + 1];

    static FilterGen()
    {
        for (int d = 0; d <= MaxDepth; d++) Ints[d] = BuildInt(d);
        for (int d = 0; d <= MaxDepth; d++) Bools[d] = BuildBool(d);
    }

    public static Gen<string> Filter(int maxDepth) => Gen.Choose(0, maxDepth).SelectMany(Bool);

    private static readonly string[] Comms = ["", "bash", "ls", "python3", "a-very-long-nam", "cat"];
    private static readonly string[] Exes = ["", "/usr/bin/ls", "/usr/bin/python3.11", "/tmp/x", "/bin/bash", "/usr/sbin/sshd", new string('x', 4096)];
    private static readonly uint[] Arches = [AuditArch.X86_64, AuditArch.I386, AuditArch.Aarch64, 0, 0x40000028];

    /// <summary>Records as bytes, fields drawn from extremes and typical values.</summary>
    public static Gen<byte[]> Record =>
        from values in Value.ArrayOf(RecordLayout.Scalars.Count)
        from arch in Gen.Elements(Arches)
        from syscall in Freq((3, Gen.Choose(0, 460)), (1, Value.Select(v => (int)(uint)v)))
        from success in Gen.Elements(true, false)
        from comm in Gen.Elements(Comms)
        from exe in Gen.Elements(Exes)
        select Build(values, arch, (uint)syscall, success, comm, exe);

    private static byte[] Build(ulong[] values, uint arch, uint syscall, bool success, string comm, string exe)
    {
        var b = new RecordBuilder();
        for (int i = 0; i < RecordLayout.Scalars.Count; i++) b.SetScalar(RecordLayout.Scalars[i], values[i]);
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Syscall, syscall);
        b.SetSuccess(success);
        b.SetComm(comm);
        b.SetExe(exe);
        return b.ToArray();
    }
}
