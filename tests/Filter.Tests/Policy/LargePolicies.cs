using System.Globalization;
using System.Text;

namespace Filter.Testing;

/// <summary>
/// Policies of many rules shaped like imported <c>auditctl</c> rules (<c>-a always,exit -S name -F field=value
/// -k key</c>): each rule names one syscall of the x86_64 table, drawn uniformly (1 in 8 rules: two), and tests
/// one other field, and has its own key. Seeded, so the same arguments give the same text; shared by the tests
/// (LargePolicyTests) and the benchmarks (bench/PolicyBenchmarks.cs).
/// </summary>
public static class LargePolicies
{
    private static readonly string[] Tests =
    [
        "auid >= 1000", "uid == {0}", "euid == 0", "exit == -EACCES", "exit == -EPERM", "success == false",
        "a0 == {0}", "a1 & {1} != 0", "gid == {0}", "exe == \"/usr/bin/prog{0}\"", "comm == \"tool{0}\"",
    ];

    public static string Generate(int rules, int seed = 21)
    {
        // `exit` beside `syscall` is the exit field (spec/language.md): leave out names that are fields.
        var names = Syscalls.ForArch(AuditArch.X86_64).Select(e => e.Name)
            .Where(n => RecordLayout.ScalarNamed(n) is null && RecordLayout.StringNamed(n) is null).ToArray();
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int r = 0; r < rules; r++)
        {
            string syscall = random.Next(8) == 0
                ? $"syscall in ({names[random.Next(names.Length)]}, {names[random.Next(names.Length)]})"
                : $"syscall == {names[random.Next(names.Length)]}";
            string test = string.Format(CultureInfo.InvariantCulture, Tests[random.Next(Tests.Length)], random.Next(2000), 1 << random.Next(20));
            text.Append(CultureInfo.InvariantCulture, $"always \"k{r}\": {syscall} && {test}\n");
        }
        return text.ToString();
    }
}
