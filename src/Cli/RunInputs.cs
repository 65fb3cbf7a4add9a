using Filter.Audit.Formats;
using Filter.Audit.Streaming;

namespace Filter.Cli;

/// <summary>An input of <c>run</c>, <c>report</c> or <c>plugin</c>, opened: its name, its content and its format.</summary>
internal sealed record RunInput(string Name, SniffedInput Content, InputFormat? Format, IStreamingInput? Streaming);

/// <summary>
/// The inputs a command names, opened in order before any is read: each file (gzip or not), standard input
/// for <c>-</c>, and with <c>--follow</c> the last file followed (<see cref="FollowedFile"/>). Each one's
/// format is told from its content unless <c>--format</c> forces one (spec/auditd.md, "Input formats").
/// An input that cannot be opened, or whose content is of the other format than the one forced, or of
/// neither, is one error naming it, and nothing is read.
/// </summary>
internal static class RunInputs
{
    public const string StdinName = "<stdin>";

    /// <summary>
    /// The inputs, or null with the error printed. <paramref name="configure"/> is called on each streaming
    /// input (a pipe or terminal on standard input, a followed file) before it is first read.
    /// </summary>
    public static List<RunInput>? Open(IReadOnlyList<string> paths, InputFormat? forced, bool follow, CliIO io, Action<IStreamingInput> configure)
    {
        var inputs = new List<RunInput>();
        for (int i = 0; i < paths.Count; i++)
        {
            string path = paths[i], name = path == "-" ? StdinName : path;
            Stream raw;
            try
            {
                raw = path == "-" ? io.Stdin()
                    : follow && i == paths.Count - 1 ? FollowedFile.Open(path)
                    : AuditdInput.OpenFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail(io, inputs, Diagnostic.CannotRead(name, e));
            }
            var streaming = raw as IStreamingInput;
            if (streaming is not null) configure(streaming);
            SniffedInput content;
            try
            {
                content = SniffedInput.Open(raw);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                raw.Dispose();
                return Fail(io, inputs, InputErrors.Unreadable(name, 1, $"cannot read past here: {e.Message}"));
            }
            if (content.Problem(name, forced) is { } problem)
            {
                content.Dispose();
                return Fail(io, inputs, problem);
            }
            inputs.Add(new RunInput(name, content, forced ?? content.Format, content.Compressed ? null : streaming));
        }
        return inputs;
    }

    private static List<RunInput>? Fail(CliIO io, List<RunInput> opened, Diagnostic error)
    {
        foreach (var input in opened) input.Content.Dispose();
        io.Fail(CliIO.InputError, error);
        return null;
    }
}
