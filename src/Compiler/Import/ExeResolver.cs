namespace Filter.Compiler.Import;

/// <summary>
/// What <c>-F exe=PATH</c> matches. The kernel marks the inode PATH names when the rule is loaded, following
/// intermediate symlinks but not the last component, and the log prints the executable's resolved path
/// (spec/auditctl.md, "exe"). So the rule matches records whose <c>exe</c> is <see cref="LoggedPath"/>;
/// a PATH whose last component is a symlink marks the link itself and matches no executable
/// (<see cref="LoggedPath"/> null). <see cref="Problem"/> says why PATH cannot be resolved.
/// </summary>
public sealed record ExeResolution(string? LoggedPath, string? Problem = null)
{
    public static ExeResolution Symlink { get; } = new((string?)null);

    /// <summary>No such file, in an existing directory: the kernel loads the rule with a mark that has no inode, so it matches nothing.</summary>
    public bool Missing { get; init; }

    public static ExeResolution NoFile { get; } = new((string?)null) { Missing = true };
    public static ExeResolution Unresolved(string problem) => new(null, problem);
}

/// <summary>Ways to resolve <c>-F exe=</c> paths: on this machine's file system, or from a recorded map.</summary>
public static class ExeResolvers
{
    private const int MaxSymlinks = 40;     // the kernel's own limit (MAXSYMLINKS)

    /// <summary>Resolves on the local file system, as the kernel would on this machine.</summary>
    public static ExeResolution FileSystem(string path)
    {
        if (!path.StartsWith('/')) return ExeResolution.Unresolved("the path is not absolute");
        int slash = path.TrimEnd('/').LastIndexOf('/');
        string name = path.TrimEnd('/')[(slash + 1)..];
        if (name.Length == 0 || name is "." or "..") return ExeResolution.Unresolved("the path does not name a file");
        int links = 0;
        string? dir = RealPath(path[..(slash + 1)], ref links);
        if (dir is null) return ExeResolution.Unresolved("a directory on the path does not exist on this machine, or has a symlink loop");
        string full = dir == "/" ? "/" + name : dir + "/" + name;
        var info = new FileInfo(full);
        if (info.LinkTarget is not null) return ExeResolution.Symlink;
        if (!info.Exists) return ExeResolution.NoFile;
        return new ExeResolution(full);
    }

    /// <summary>
    /// A recorded map (tab-separated lines <c>PATH</c> TAB <c>LOGGED-PATH</c>, <c>-</c> for a symlink, <c>missing</c> for no such file; <c>#</c>
    /// comments), to import on another machine exactly as on the one that made the map.
    /// </summary>
    public static Func<string, ExeResolution> FromMap(IReadOnlyDictionary<string, string> map) => path =>
        !map.TryGetValue(path, out var logged) ? ExeResolution.Unresolved("the path is not in the exe map")
        : logged == "-" ? ExeResolution.Symlink
        : logged == "missing" ? ExeResolution.NoFile
        : new ExeResolution(logged);

    /// <summary>Parses the map format of <see cref="FromMap"/>; an error names the line.</summary>
    public static (Dictionary<string, string>? Map, string? Error) ParseMap(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split('\t');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                return (null, $"line {i + 1}: expected PATH<TAB>LOGGED-PATH (or - for a symlink)");
            if (!map.TryAdd(parts[0], parts[1])) return (null, $"line {i + 1}: {parts[0]} is mapped twice");
        }
        return (map, null);
    }

    /// <summary>realpath(3) of a directory: null when it is missing or has a symlink loop.</summary>
    internal static string? RealDirectory(string path)
    {
        int links = 0;
        return RealPath(path, ref links);
    }

    /// <summary>The path with every symlink resolved (realpath(3)); null if a component is missing.</summary>
    private static string? RealPath(string path, ref int links)
    {
        string result = "/";
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") { result = Parent(result); continue; }
            string candidate = result == "/" ? "/" + part : result + "/" + part;
            FileSystemInfo info = new DirectoryInfo(candidate);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxSymlinks) return null;
                string next = target.StartsWith('/') ? target : (result == "/" ? "/" : result + "/") + target;
                string? resolved = RealPath(next, ref links);
                if (resolved is null) return null;
                result = resolved;
            }
            else if (info.Exists) result = candidate;
            else return null;
        }
        return result;
    }

    private static string Parent(string dir)
    {
        int i = dir.LastIndexOf('/');
        return i <= 0 ? "/" : dir[..i];
    }
}
