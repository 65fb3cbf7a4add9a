using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Filter.Compiler.Tables;

namespace Filter.Audit.Output;

/// <summary>
/// Field values as ausearch <c>-i</c> prints them: an arch by name, a system call by name in its record's
/// arch, a negative exit by errno name and text (<c>EACCES(Permission denied)</c>), user and group ids by
/// name from the host's user database (<see cref="HostUsers"/>), a session or id of 4294967295 as
/// <c>unset</c>, a signal by name, hex-encoded strings (PROCTITLE, <c>comm</c>, <c>exe</c>, paths, EXECVE
/// arguments, keys) decoded. The names come from the generated tables. A value an ENRICHED log already
/// interpreted (upper-case name after <c>\x1d</c>, resolved on the host that logged it) is taken from the
/// log. Every other value is printed as logged.
/// </summary>
public static class Interpretation
{
    private static readonly HashSet<string> UserFields = new(StringComparer.Ordinal)
        { "auid", "uid", "euid", "suid", "fsuid", "ouid", "oauid", "old-auid", "iuid", "inode_uid", "obj_uid", "sauid", "new-uid", "old-uid" };

    private static readonly HashSet<string> GroupFields = new(StringComparer.Ordinal)
        { "gid", "egid", "sgid", "fsgid", "ogid", "igid", "inode_gid", "obj_gid", "new-gid", "old-gid", "new_gid" };

    private static readonly HashSet<string> Escaped = new(StringComparer.Ordinal)
        { "comm", "exe", "name", "cwd", "path", "cmd", "acct", "dir", "file", "key", "root_dir", "old-disk", "new-disk", "vm" };

    /// <summary>The value of <paramref name="field"/> of <paramref name="record"/>, interpreted.</summary>
    public static string Value(AuditdRecordText record, AuditdField field)
    {
        if (record.EnrichedValue(field.Name.ToUpperInvariant()) is { } logged) return logged;
        return Value(record.Type, field, record["arch"], record["syscall"], record["success"]);
    }

    /// <summary>
    /// <paramref name="field"/> interpreted in a record of <paramref name="type"/>, whose arch (hex) and
    /// success (<c>yes</c>/<c>no</c>) fields, if any, are given for the system call and exit.
    /// </summary>
    public static string Value(string type, AuditdField field, string? arch, string? syscall, string? success)
    {
        string name = field.Name, value = field.Value;
        if (field.Quoted) return value;
        switch (name)
        {
            case "arch":
                return Hex(value) is { } a && AuditArch.NameOf((uint)a) is { } archName ? archName : value;
            case "syscall" when type is "SYSCALL" or "SECCOMP":
                return SyscallName(arch, value) ?? value;
            case "exit" when type == "SYSCALL" && success != "yes":
                return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long exit) && exit < 0 && exit > -4096
                    && NamedConstants.NameOf(ConstantKind.Errno, (ulong)-exit) is { } errno
                    ? $"{errno}({Marshal.GetPInvokeErrorMessage((int)-exit)})" : value;
            case "sig":
                return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong sig)
                    && NamedConstants.NameOf(ConstantKind.Signal, sig) is { } signal ? signal : value;
            case "ses" or "old-ses":
                return value == "4294967295" ? "unset" : value;
            case "proctitle":
                return Decoded(value, nulAsSpace: true) ?? value;
        }
        if (UserFields.Contains(name) || (name == "id" && type.StartsWith("USER_", StringComparison.Ordinal)))
            return uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) ? HostUsers.User(uid) : value;
        if (GroupFields.Contains(name))
            return uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid) ? HostUsers.Group(gid) : value;
        if (Escaped.Contains(name) || (type == "EXECVE" && IsArgument(name)))
            return Decoded(value, nulAsSpace: false)?.Replace('\x01', ',') ?? value;
        return value;
    }

    /// <summary>The system call's name in <paramref name="arch"/> (hex), or null.</summary>
    public static string? SyscallName(string? arch, string number) =>
        arch is not null && Hex(arch) is { } a && int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int nr)
            ? Syscalls.NameOf((uint)a, nr) : null;

    private static ulong? Hex(string text) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v) ? v : null;

    /// <summary>a0, a1, ... and a2[0] (an argument logged in parts): the arguments of an EXECVE record.</summary>
    private static bool IsArgument(string name) =>
        name.Length > 1 && name[0] == 'a' && char.IsAsciiDigit(name[1]) && name.AsSpan(1).IndexOfAnyExcept("0123456789[]") < 0;

    /// <summary>A hex-encoded string decoded (how the kernel logs a string holding a space, quote or control byte), or null.</summary>
    private static string? Decoded(string value, bool nulAsSpace)
    {
        if (value.Length == 0 || value.Length % 2 != 0 || value.AsSpan().IndexOfAnyExcept("0123456789ABCDEFabcdef") >= 0) return null;
        var bytes = Convert.FromHexString(value);
        int end = bytes.Length;
        if (nulAsSpace)
        {
            while (end > 0 && bytes[end - 1] == 0) end--;
            for (int i = 0; i < end; i++) if (bytes[i] == 0) bytes[i] = (byte)' ';
        }
        return Text(bytes.AsSpan(0, end));
    }

    /// <summary>Bytes as text to print: UTF-8 as such, any other byte as \xHH, control characters escaped.</summary>
    public static string Text(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Filter.Compiler.Tools.PrintableText.Escape(Encoding.UTF8.GetString(bytes));
        var sb = new StringBuilder(bytes.Length + 8);
        foreach (byte b in bytes)
            if (b >= 0x20 && b < 0x7f) sb.Append((char)b);
            else sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
        return sb.ToString();
    }
}
