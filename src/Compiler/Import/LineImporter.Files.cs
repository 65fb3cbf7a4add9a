using Filter.Compiler.Tables;
using static Filter.Compiler.Import.AuditctlImporter;

namespace Filter.Compiler.Import;

/// <summary>
/// Watches and the fields about the event's files (<c>-w</c>, <c>-p</c>, <c>-F path= dir= perm= filetype=</c>), as
/// auditctl builds them (auditctl.c <c>audit_setup_watch_name</c>, libaudit <c>audit_add_watch_dir</c>) and the
/// kernel tests them (kernel/audit_watch.c <c>audit_watch_compare</c> on each name's inode, kernel/audit_tree.c
/// <c>match_tree_refs</c>, kernel/auditsc.c <c>audit_match_perm</c> and <c>audit_match_filetype</c>): see
/// spec/auditctl.md, "Watches".
/// </summary>
internal sealed partial class LineImporter
{
    private const int PathMax = 4096, NameMax = 255;    // PATH_MAX, NAME_MAX

    /// <summary>
    /// auditctl splits on spaces only, so the quotes of <c>-F "auid>=500"</c> are part of the word: auditctl
    /// reads the field <c>"auid</c> and refuses the line. The rule meant is clear, so it is imported without them,
    /// with a finding saying that auditctl does not load it.
    /// </summary>
    private Token Unquote(Token arg)
    {
        string t = arg.Text;
        if (t.Length < 2 || t[0] != '"' || t[^1] != '"') return arg;
        Add(ImportIssue.Inexact, arg,
            $"auditctl keeps the quotes of {t} (it splits on spaces only) and rejects the line{(SplitPair(t) is { } p ? $" (unknown field '{p.Field}')" : "")}: the kernel gets no such rule; imported as the rule meant, without them",
            ImportCause.Quoted);
        return new Token(t[1..^1], arg.Column + 1);
    }

    /// <summary><c>-w PATH</c>: a tree (<c>dir=</c>) when the host's <c>stat</c> finds a directory, else a file watch (<c>path=</c>).</summary>
    private bool Watch(Token arg)
    {
        string path = arg.Text;
        if (!CheckPath(arg, path)) return false;
        if (path.Length > 2) path = path.TrimEnd('/');          // auditctl trims trailing '/' (len > 2)
        if (path.Length == 0) path = "/";
        if (options.ResolvePath(path) is not { } facts)
        { Add(ImportIssue.Unsupported, arg, $"cannot tell whether {path} is a directory (auditctl's stat decides -w): it is not in the host map"); return true; }
        bool tree = facts.Kind == PathKind.Directory;
        Add(ImportIssue.Host, arg, tree
            ? $"{path} is a directory on this host: -w watches the tree, as -F dir={path} (where it is not a directory, -w is a file watch, -F path=)"
            : $"{path} is not a directory on this host: -w is the file watch -F path={path} (where it is a directory, -w watches the tree, -F dir=)");
        return tree ? Tree(arg, path, facts) : FileWatch(arg, path, facts);
    }

    /// <summary>auditctl's <c>check_path</c>: absolute, shorter than PATH_MAX, a last component of at most NAME_MAX.</summary>
    private bool CheckPath(Token arg, string path)
    {
        string? problem = !path.StartsWith('/') ? "the path must start with '/'"
            : path.Length >= PathMax ? "the path is too long (PATH_MAX)"
            : path.TrimEnd('/').Split('/')[^1].Length > NameMax ? "the last component is longer than NAME_MAX (255)"
            : null;
        if (problem is null) return true;
        Add(ImportIssue.Invalid, arg, $"{problem}: auditctl rejects the line");
        return false;
    }

    /// <summary><c>-F path=</c> and <c>-F dir=</c>: one per rule, = or !=, absolute (a file watch without a trailing '/').</summary>
    private bool FileField(Token arg, string field, string op, Token value)
    {
        if (_watchOption is not null || _fileAdded) { Add(ImportIssue.Invalid, arg, "a second path= or dir= in one rule: the kernel refuses it (EINVAL)"); return false; }
        if (op is not ("=" or "!=")) { Add(ImportIssue.Invalid, arg, $"{field} takes only = or !="); return false; }
        if (!CheckPath(value, value.Text)) return false;
        if (field == "path" && value.Text.Length > 1 && value.Text.EndsWith('/'))
        { Add(ImportIssue.Invalid, value, "a file watch's path cannot end in '/': the kernel refuses it (EINVAL); a directory is -F dir="); return false; }
        _fileAdded = true; _watchAdded = true;
        if (op == "!=")
        {
            Add(ImportIssue.Unsupported, arg, $"-F {field}!= is tested only on the names whose inode the kernel hashes to the watch: not expressible");
            return true;
        }
        string path = value.Text.Length > 1 ? value.Text.TrimEnd('/') : value.Text;
        if (options.ResolvePath(path) is not { } facts)
        { Add(ImportIssue.Unsupported, value, $"cannot tell what {path} is on the host: it is not in the host map"); return true; }
        return field == "dir" ? Tree(value, path, facts) : FileWatch(value, path, facts);
    }

    /// <summary>
    /// A file watch: the kernel tests each name of the event by inode (the watch's inode follows the name in its
    /// directory: a file created or renamed to that name is watched from then on). Here: some PATH item with an
    /// inode has that path (or the same path through the host's symlinked directories).
    /// </summary>
    private bool FileWatch(Token at, string path, PathFacts facts)
    {
        if (!facts.ParentExists)
        {
            Add(ImportIssue.Host, at, $"the directory of {path} does not exist on this host: the kernel refuses the rule (ENOENT) and auditctl -i goes on without it; the policy keeps it (it matches nothing while the directory is missing)", ImportCause.HostRefuses);
            Add(ImportIssue.Inexact, at, ByNameWhy, ImportCause.ByName);
        }
        else if (facts.Kind == PathKind.Symlink)
        {
            Add(ImportIssue.Host, at, $"{path} is a symbolic link on this host: the kernel watches the link itself, so opening or executing through it never matches (the file it points to is another inode); the policy matches only items that are the link (mode S_IFLNK)");
            Add(ImportIssue.Inexact, at, ByNameWhy, ImportCause.ByName);
            _conditions.Add(AnyItem(i => $"inode{i} != 0 && {NameTest(i, path, facts)} && (mode{i} & 0xf000) == 0xa000"));
            return true;
        }
        else Add(ImportIssue.Inexact, at, ByNameWhy, ImportCause.ByName);
        _conditions.Add(AnyItem(i => $"inode{i} != 0 && {NameTest(i, path, facts)}"));
        return true;
    }

    private const string ByNameWhy =
        "the kernel matches the watched inode, the policy the logged names (resolved against the cwd): calls on a file descriptor (fchmod, fchown, fsetxattr: items without a name), " +
        "other names of the file (hard links, symbolic links to it, names relative to a directory descriptor) and more than 4 PATH items decide differently";

    /// <summary>A tree: every item whose inode is the directory or below it (match_tree_refs); here, by path.</summary>
    private bool Tree(Token at, string dir, PathFacts facts)
    {
        if (facts.Kind != PathKind.Directory)
            Add(ImportIssue.Host, at, $"{dir} is not a directory on this host: the kernel refuses the rule (ENOENT) and auditctl -i goes on without it; the policy keeps it (it matches nothing while the directory is missing)", ImportCause.HostRefuses);
        Add(ImportIssue.Inexact, at, ByNameWhy.Replace("the watched inode", "the inodes under the directory", StringComparison.Ordinal), ImportCause.ByName);
        var dirs = new[] { dir, facts.RealPath }.Distinct(StringComparer.Ordinal).ToList();
        _conditions.Add(AnyItem(i => $"inode{i} != 0 && " + (dirs.Contains("/") ? $"path{i} != \"\""
            : "(" + string.Join(" || ", dirs.Select(d => $"path{i} == {StringLiteral(d)} || path{i} startswith {StringLiteral(d + "/")}")) + ")")));
        return true;
    }

    /// <summary>The path and the same path with the host's symlinked directories resolved.</summary>
    private static string NameTest(int i, string path, PathFacts facts) =>
        path == facts.RealPath ? $"path{i} == {StringLiteral(path)}" : $"path{i} in ({StringLiteral(path)}, {StringLiteral(facts.RealPath)})";

    private static string AnyItem(Func<int, string> test) =>
        "(" + string.Join(" || ", Enumerable.Range(0, RecordLayout.PathItems).Select(i => "(" + test(i) + ")")) + ")";

    /// <summary><c>-p PERM</c> and <c>-F perm=PERM</c>: letters r w x a (at most 4); != negates (kernel 5.3 and later).</summary>
    private bool Perm(Token value, string op)
    {
        if (op is not ("=" or "!=")) { Add(ImportIssue.Invalid, value, "perm takes only = or !="); return false; }
        string letters = value.Text.ToLowerInvariant();
        if (letters.Length is 0 or > 4 || letters.Any(c => !"rwxa".Contains(c)))
        { Add(ImportIssue.Invalid, value, $"permissions are up to 4 of the letters r, w, x, a, not '{value.Text}': auditctl rejects the line"); return false; }
        if (_permAdded) { Add(ImportIssue.Invalid, value, "a second perm in one rule: auditctl rejects it"); return false; }
        _permAdded = true; _watchAdded = true;
        _conditions.Add(PermCondition(letters, op == "!="));
        return true;
    }

    private static string PermCondition(string letters, bool negate)
    {
        var names = "rwxa".Where(letters.Contains).Select(c => c.ToString()).ToList();
        string test = names.Count == 1 ? $"perm == {names[0]}" : $"perm in ({string.Join(", ", names)})";
        return negate ? $"!({test})" : test;
    }

    private static readonly string[] FileTypeNames = ["file", "dir", "socket", "link", "character", "block", "fifo"];

    /// <summary><c>-F filetype=T</c> (auditctl's names): some item's inode has that type; != negates.</summary>
    private bool FileType(Token value, string op)
    {
        if (op is not ("=" or "!=")) { Add(ImportIssue.Invalid, value, "filetype takes only = or !="); return false; }
        if (!FileTypeNames.Contains(value.Text))
        { Add(ImportIssue.Invalid, value, $"unknown file type '{value.Text}' (auditctl's are {string.Join(", ", FileTypeNames)})"); return false; }
        _conditions.Add($"filetype {Lang(op)} {value.Text}");
        return true;
    }
}
