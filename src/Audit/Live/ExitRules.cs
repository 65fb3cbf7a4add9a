using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Filter.Compiler.Analysis;
using Filter.VM;

namespace Filter.Audit.Live;

/// <summary>
/// The kernel exit rules a live consumer installs for the syscalls its filter can match (spec/live.md,
/// "--install"): one rule per arch of this machine, with a unique key and the processes that read the audit
/// stream excluded (<see cref="ReaderPids"/>, <see cref="AuditRule.Excluding"/>), and their removal — exactly
/// the rules added, never others.
/// </summary>
public static class ExitRules
{
    /// <summary>The arches whose syscalls this machine's kernel can audit: native first, then 32-bit compat.</summary>
    public static IEnumerable<(string Name, uint Value)> HostArches() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => [("x86_64", AuditArch.X86_64), ("i386", AuditArch.I386)],
        Architecture.Arm64 => [("aarch64", AuditArch.Aarch64)],
        _ => [],
    };

    /// <summary>A key no other rule has: <c>filterc-PURPOSE-PID-RANDOM</c> (the pid says whose it is).</summary>
    public static string UniqueKey(string purpose) =>
        $"filterc-{purpose}-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>
    /// The processes whose syscalls an installed rule must not record: this one, and the audit daemon the
    /// kernel knows (<c>AUDIT_GET</c> pid), if any — both read every record from the netlink socket, so a rule
    /// that records their reads would make each read produce another record. Without the permission to ask
    /// (installing will fail then anyway), just this one.
    /// </summary>
    public static List<uint> ReaderPids()
    {
        var pids = new List<uint> { (uint)Environment.ProcessId };
        try
        {
            using var control = AuditControl.Open();
            uint auditd = control.GetStatus().Pid;
            if (auditd != 0 && !pids.Contains(auditd)) pids.Add(auditd);
        }
        catch (AuditUnavailableException)
        {
        }
        return pids;
    }

    /// <summary>
    /// One rule per host arch for the numbers of <paramref name="sets"/> there (an arch without any gets none),
    /// each excluding <paramref name="excludedPids"/> and testing <paramref name="fields"/> too (<c>--install-field</c>:
    /// the user's narrowing to some processes). Null, with <paramref name="error"/>, when an arch's set
    /// is every number (a rule would record every syscall of the machine) or no arch has any number.
    /// </summary>
    public static List<AuditRule>? For(SyscallSets sets, string key, IReadOnlyList<uint> excludedPids, IReadOnlyList<AuditRuleField> fields, out string? error)
    {
        var rules = new List<AuditRule>();
        foreach (var (archName, arch) in HostArches())
        {
            // The kernel's rule mask has 2048 bits and a syscall number past it matches no mask (audit_in_mask),
            // so the part of the set beyond 2047 can never be a record: clip it away.
            var set = sets.ForArch(arch).Intersect(SyscallSet.Of([new ValueRange(0, AuditRule.BitmaskWords * 32 - 1)]));
            if (set.IsEmpty) continue;
            if (set.Count == AuditRule.BitmaskWords * 32)
            {
                error = $"can match any syscall on {archName}, so a kernel rule would have to record every syscall";
                return null;
            }
            rules.Add(AuditRule.Excluding(excludedPids, arch, [.. set.Numbers()], key, fields));
        }
        if (rules.Count == 0)
        {
            error = "matches no syscall on this machine's architectures: there is no rule to install";
            return null;
        }
        error = null;
        return rules;
    }

    /// <summary>One line per rule: its arch and syscall names (the first few).</summary>
    public static string Describe(AuditRule rule)
    {
        var names = SyscallSet.Of([.. rule.Syscalls]).Names(rule.Arch).ToList();
        string shown = names.Count <= 8 ? string.Join(",", names) : $"{string.Join(",", names.Take(8))},... ({names.Count} syscalls)";
        return $"{AuditArch.NameOf(rule.Arch)}: {shown}";
    }

    /// <summary>Adds <paramref name="rules"/> in order, appending each to <paramref name="installed"/> once the kernel has it.</summary>
    public static void Install(AuditControl control, IEnumerable<AuditRule> rules, List<AuditRule> installed)
    {
        foreach (var rule in rules)
        {
            control.AddRule(rule);
            installed.Add(rule);
        }
    }

    /// <summary>
    /// Deletes exactly <paramref name="installed"/>; a rule the kernel refuses to delete is reported with the
    /// auditctl command that removes it. Returns how many were removed.
    /// </summary>
    public static int Remove(AuditControl control, IReadOnlyList<AuditRule> installed, Action<string> report)
    {
        int removed = 0;
        foreach (var rule in installed)
        {
            try
            {
                control.DeleteRule(rule);
                removed++;
            }
            catch (AuditUnavailableException e)
            {
                report($"error: {e.Message}; remove it with: auditctl {rule.ToAuditctl().Replace("-a ", "-d ")}");
            }
        }
        return removed;
    }
}
