using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Filter.Audit.Output;

/// <summary>
/// User and group names from the host's user database, as ausearch <c>-i</c> gives them: the C library's
/// <c>getpwuid_r</c> and <c>getgrgid_r</c>, so every source the host's name service switch has (files, LDAP,
/// ...) answers. 4294967295 (-1) is <c>unset</c>; an id without a name is <c>unknown(ID)</c>. Looked up once
/// per id.
/// </summary>
public static unsafe partial class HostUsers
{
    private const uint Unset = uint.MaxValue;
    private const int ERANGE = 34;

    private static readonly ConcurrentDictionary<uint, string> Users = new(), Groups = new();

    [LibraryImport("libc", EntryPoint = "getpwuid_r")]
    private static partial int GetPwUid(uint uid, byte* entry, byte* buffer, nuint length, byte** result);

    [LibraryImport("libc", EntryPoint = "getgrgid_r")]
    private static partial int GetGrGid(uint gid, byte* entry, byte* buffer, nuint length, byte** result);

    /// <summary>The name of user <paramref name="uid"/>: <c>root</c>, <c>unset</c>, <c>unknown(4242)</c>.</summary>
    public static string User(uint uid) => uid == Unset ? "unset" : Users.GetOrAdd(uid, id => Lookup(id, group: false));

    /// <summary>The name of group <paramref name="gid"/>.</summary>
    public static string Group(uint gid) => gid == Unset ? "unset" : Groups.GetOrAdd(gid, id => Lookup(id, group: true));

    private static string Lookup(uint id, bool group)
    {
        if (!OperatingSystem.IsLinux()) return $"unknown({id})";
        // struct passwd and struct group both begin with the name (char *): only that is read.
        byte* entry = stackalloc byte[128];
        for (int size = 1024; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                byte* result = null;
                int rc = group ? GetGrGid(id, entry, b, (nuint)size, &result) : GetPwUid(id, entry, b, (nuint)size, &result);
                if (rc == ERANGE) continue;
                if (rc != 0 || result == null) break;
                return Marshal.PtrToStringUTF8((nint)(*(byte**)entry)) ?? $"unknown({id})";
            }
        }
        return $"unknown({id})";
    }
}
