using System.Globalization;
using System.Text;

namespace Filter.Compiler.Import;

/// <summary>
/// What a watched path is on the machine that loads the rules, as auditctl and the kernel see it there:
/// auditctl makes <c>-w P</c> a tree (<c>dir=</c>) when <c>stat(P)</c> (following symlinks) finds a directory,
/// else a file watch (<c>path=</c>); the kernel refuses a <c>path=</c> rule whose parent directory is missing and
/// a <c>dir=</c> rule on a missing directory (ENOENT), and watches the inode the last component names itself
/// (a symlink's own inode). <see cref="RealPath"/> is the path with every directory on it resolved, the last
/// component kept: the other name under which the log may show the same file (<c>/bin/su</c> is
/// <c>/usr/bin/su</c> where <c>/bin</c> is a link).
/// </summary>
public sealed record PathFacts(PathKind Kind, string RealPath)
{
    public bool ParentExists => Kind != PathKind.NoParent;
}

/// <summary>What the last component of a watched path is on the host.</summary>
public enum PathKind
{
    /// <summary>A directory (or a symlink to one: <c>stat</c> follows it).</summary>
    Directory,
    /// <summary>Any other existing file.</summary>
    File,
    /// <summary>A symbolic link to something that is not a directory (or to nothing).</summary>
    Symlink,
    /// <summary>Nothing by that name, in an existing directory.</summary>
    Missing,
    /// <summary>A directory on the path does not exist.</summary>
    NoParent,
}

/// <summary>
/// The facts about the host an import depends on (<c>-F exe=</c> paths, watched paths, user and group names,
/// <see cref="ImportOptions"/>): this machine's by default; <see cref="Parse"/> reads a recorded map (written by
/// <see cref="Recorder"/>, <c>filterc import-auditctl --record-host</c>), to import elsewhere exactly as on the
/// machine that made it.
/// </summary>
public static class HostFacts
{
    public static uint? LocalUser(string name) => IdFromFile("/etc/passwd", name);

    public static uint? LocalGroup(string name) => IdFromFile("/etc/group", name);

    /// <summary>A watched path on this file system: lstat/stat of the path, realpath of its directory.</summary>
    public static PathFacts? StatPath(string path)
    {
        if (!path.StartsWith('/')) return null;
        string trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        if (trimmed.Length == 0) trimmed = "/";
        int slash = trimmed.LastIndexOf('/');
        string dir = slash <= 0 ? "/" : trimmed[..slash], name = trimmed[(slash + 1)..];
        string? realDir = ExeResolvers.RealDirectory(dir);
        if (realDir is null) return new PathFacts(PathKind.NoParent, trimmed);
        string real = name.Length == 0 ? realDir : realDir == "/" ? "/" + name : realDir + "/" + name;
        var info = new FileInfo(real);
        if (info.LinkTarget is not null)
            return new PathFacts(Directory.Exists(real) ? PathKind.Directory : PathKind.Symlink, real);
        if (Directory.Exists(real)) return new PathFacts(PathKind.Directory, real);
        return new PathFacts(info.Exists ? PathKind.File : PathKind.Missing, real);
    }

    /// <summary>getpwnam/getgrnam as the files database answers them: NAME:x:ID:... .</summary>
    private static uint? IdFromFile(string file, string name)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                var parts = line.Split(':');
                if (parts.Length >= 3 && parts[0] == name && uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
                    return id;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    private const string Header = "# filterc import-auditctl host facts: KIND<TAB>NAME<TAB>VALUE[<TAB>REAL-PATH]";

    /// <summary>
    /// Parses a recorded map: lines <c>exe PATH LOGGED-PATH</c> (<c>-</c> for a symlink, <c>missing</c>, <c>?</c> unresolved),
    /// <c>path PATH KIND REAL-PATH</c> (KIND one of directory file symlink missing no-parent), <c>user NAME ID</c>,
    /// <c>group NAME ID</c> (<c>-</c> for an unknown name), tab-separated; <c>#</c> comments. A fact the map lacks
    /// is an unresolved one. An error names the line.
    /// </summary>
    public static (ImportOptions? Options, string? Error) Parse(string text, ImportOptions options)
    {
        var exe = new Dictionary<string, ExeResolution>(StringComparer.Ordinal);
        var paths = new Dictionary<string, PathFacts>(StringComparer.Ordinal);
        var users = new Dictionary<string, uint?>(StringComparer.Ordinal);
        var groups = new Dictionary<string, uint?>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var c = line.Split('\t');
            string? error = c switch
            {
                ["exe", var p, var v] => exe.TryAdd(p, v switch
                {
                    "-" => ExeResolution.Symlink,
                    "missing" => ExeResolution.NoFile,
                    "?" => ExeResolution.Unresolved("unresolved on the machine that made the map"),
                    _ => new ExeResolution(v),
                }) ? null : "mapped twice",
                ["path", var p, var k, var real] => KindOf(k) is { } kind ? paths.TryAdd(p, new PathFacts(kind, real)) ? null : "mapped twice" : $"unknown path kind '{k}'",
                ["user" or "group", var n, var v] => Id(v) is var (ok, id) && ok ? ((c[0] == "user" ? users : groups).TryAdd(n, id) ? null : "mapped twice") : $"'{v}' is not an id",
                _ => "expected exe, path, user or group and its values",
            };
            if (error is not null) return (null, $"line {i + 1}: {error}");
        }
        return (options with
        {
            ResolveExe = p => exe.TryGetValue(p, out var r) ? r : ExeResolution.Unresolved("the path is not in the host map"),
            ResolvePath = p => paths.TryGetValue(p, out var f) ? f : null,
            ResolveUser = n => users.GetValueOrDefault(n),
            ResolveGroup = n => groups.GetValueOrDefault(n),
        }, null);

        static (bool, uint?) Id(string v) =>
            v == "-" ? (true, null) : uint.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? (true, id) : (false, null);
    }

    private static readonly (PathKind Kind, string Name)[] KindNames =
        [(PathKind.Directory, "directory"), (PathKind.File, "file"), (PathKind.Symlink, "symlink"), (PathKind.Missing, "missing"), (PathKind.NoParent, "no-parent")];

    private static PathKind? KindOf(string name) => KindNames.Where(k => k.Name == name).Select(k => (PathKind?)k.Kind).FirstOrDefault();

    private static string NameOf(PathKind kind) => KindNames.First(k => k.Kind == kind).Name;

    /// <summary>Asks <paramref name="inner"/> and keeps every answer, to write them as a map (<see cref="Render"/>).</summary>
    public sealed class Recorder(ImportOptions inner)
    {
        private readonly SortedDictionary<(string Kind, string Name), string> _facts = new();

        public ImportOptions Options => inner with
        {
            ResolveExe = p => Keep("exe", p, inner.ResolveExe(p), r => r.Problem is not null ? "?" : r.Missing ? "missing" : r.LoggedPath ?? "-"),
            ResolvePath = p => Keep("path", p, inner.ResolvePath(p), f => f is null ? null : NameOf(f.Kind) + "\t" + f.RealPath),
            ResolveUser = n => Keep("user", n, inner.ResolveUser(n), id => id?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            ResolveGroup = n => Keep("group", n, inner.ResolveGroup(n), id => id?.ToString(CultureInfo.InvariantCulture) ?? "-"),
        };

        private T Keep<T>(string kind, string name, T value, Func<T, string?> show)
        {
            if (show(value) is { } shown) _facts[(kind, name)] = shown;
            return value;
        }

        public string Render()
        {
            var sb = new StringBuilder(Header).Append('\n');
            foreach (var ((kind, name), value) in _facts) sb.Append(kind).Append('\t').Append(name).Append('\t').Append(value).Append('\n');
            return sb.ToString();
        }
    }
}
