using System.Text.RegularExpressions;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>
/// The compiler's folders depend on each other one way (syntax, binding, analysis, code generation, tools):
/// a folder that imports another's namespace may not be imported by it, directly or through others.
/// </summary>
public partial class LayeringTests
{
    [Fact]
    public void TheCompilersFoldersHaveNoCycle()
    {
        string root = Path.Combine(RepositoryRoot(), "src", "Compiler");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Where(f => !f.StartsWith("bin", StringComparison.Ordinal) && !f.StartsWith("obj", StringComparison.Ordinal))
            .Select(f => (Folder: Path.GetDirectoryName(f) is { Length: > 0 } d ? d : "(root)", Text: File.ReadAllText(Path.Combine(root, f))))
            .ToList();
        // The root folder's namespace is every other's parent: its types are used without a using directive.
        var rootTypes = files.Where(f => f.Folder == "(root)").SelectMany(f => TypeDeclaration().Matches(f.Text).Select(m => m.Groups[1].Value)).ToList();
        var imports = new Dictionary<string, HashSet<string>>();
        foreach (var (folder, text) in files)
        {
            var set = imports.TryGetValue(folder, out var s) ? s : imports[folder] = [];
            foreach (Match m in Using().Matches(text))
                if (m.Groups[1].Value != folder) set.Add(m.Groups[1].Value);
            if (folder != "(root)" && rootTypes.Any(t => Regex.IsMatch(text, $@"\b{t}\b"))) set.Add("(root)");
        }
        foreach (var start in imports.Keys)
        {
            var seen = new HashSet<string>();
            var stack = new Stack<(string Folder, string Path)>([(start, start)]);
            while (stack.TryPop(out var at))
                foreach (var next in imports.GetValueOrDefault(at.Folder, []))
                {
                    Assert.False(next == start, $"folder cycle: {at.Path} -> {next}");
                    if (seen.Add(next)) stack.Push((next, $"{at.Path} -> {next}"));
                }
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Filter.sln"))) return dir.FullName;
        throw new InvalidOperationException("Filter.sln not found above the test directory");
    }

    [GeneratedRegex(@"^using Filter\.Compiler\.(\w+);", RegexOptions.Multiline)]
    private static partial Regex Using();

    [GeneratedRegex(@"^public (?:static |sealed |abstract )*(?:partial )?(?:class|record|struct|enum|interface) (\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();
}
