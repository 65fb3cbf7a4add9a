using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace Filter.Cli;

/// <summary>
/// What is wrong with a command line, found by System.CommandLine's own parser, so that every command
/// refuses it the same way: each problem printed as FLT6001 and exit status 2 (the README's promise), never
/// System.CommandLine's default of printing help and returning 1.
/// </summary>
internal static class CommandLineErrors
{
    /// <summary>
    /// The problems with <paramref name="parse"/>, or none. Besides the parser's errors (an unknown command or
    /// option where a command takes no file, a value not among those allowed, a missing argument), a word
    /// that looks like an option (<c>--start</c>, <c>-x</c>) where a command takes file names is an unknown
    /// option: the parser would take it for a file. A file really named so is written <c>./--start</c>, or
    /// after <c>--</c>. Help and version requests have no problems.
    /// </summary>
    public static IReadOnlyList<string> Of(ParseResult parse)
    {
        if (IsHelpOrVersion(parse)) return [];
        var command = parse.CommandResult.Command;
        bool atRoot = command is RootCommand;
        var unmatched = parse.UnmatchedTokens;
        var errors = new List<string>();
        foreach (var error in parse.Errors)
        {
            // The parser's words for tokens it could not place, and for no command, are replaced below.
            if (unmatched.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal))) continue;
            if (atRoot && error.SymbolResult is CommandResult) continue;
            errors.Add(Subject(error) + Flatten(error.Message));
        }
        if (atRoot)
        {
            string commands = string.Join(", ", command.Subcommands.Select(c => c.Name));
            errors.Insert(0, unmatched.Count == 0 ? $"no command given: filterc COMMAND ... (the commands: {commands}; filterc --help says more)"
                : unmatched[0].StartsWith('-') ? $"unknown option '{unmatched[0]}' (filterc --help lists the options and commands)"
                : $"unknown command '{unmatched[0]}' (the commands: {commands})");
            return errors;
        }
        foreach (var token in unmatched)
            errors.Add(token.StartsWith('-') ? UnknownOption(command, token) : $"unexpected argument '{token}' for '{command.Name}' (see filterc {command.Name} --help)");
        int doubleDash = IndexOfDoubleDash(parse.Tokens);
        foreach (var argument in parse.CommandResult.Children.OfType<ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                if (!LooksLikeOption(argument.Argument, token.Value)) continue;
                if (doubleDash >= 0 && IndexOf(parse.Tokens, token) > doubleDash) continue;
                errors.Add(UnknownOption(command, token.Value) + (NamesFiles(argument.Argument) ? $"; a file of that name is ./{token.Value}" : ""));
            }
        }
        return errors;
    }

    private static string UnknownOption(Command command, string token) =>
        $"unknown option '{token}' for '{command.Name}' (see filterc {command.Name} --help)";

    /// <summary>
    /// A word that looks like an option where an argument was taken: any <c>-x</c> or <c>--x</c> for an
    /// argument that names files; for an expression only <c>--x</c> (<c>-1 == exit</c> is an expression).
    /// </summary>
    private static bool LooksLikeOption(Argument argument, string value) =>
        NamesFiles(argument)
            ? value.Length >= 2 && value[0] == '-'
            : value.Length >= 3 && value.StartsWith("--", StringComparison.Ordinal) && char.IsLetter(value[2]);

    /// <summary>The option or argument an error is about, so that the message names it.</summary>
    private static string Subject(ParseError error) => error.SymbolResult switch
    {
        OptionResult o => $"{o.Option.Name}: ",
        ArgumentResult { Parent: OptionResult o } => $"{o.Option.Name}: ",
        ArgumentResult a => $"{a.Argument.Name}: ",
        _ => "",
    };

    /// <summary>System.CommandLine's messages list choices one per line: one line for a diagnostic.</summary>
    private static string Flatten(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return lines.Length <= 1 ? message.Trim() : lines[0] + " " + string.Join(", ", lines.Skip(1));
    }

    private static bool IsHelpOrVersion(ParseResult parse) =>
        parse.Action is HelpAction
        || parse.RootCommandResult.Command.Options.Any(o => o is VersionOption && ReferenceEquals(o.Action, parse.Action));

    /// <summary>Arguments that are files (or '-'): where an unknown option would otherwise be read as a file name.</summary>
    private static bool NamesFiles(Argument argument) =>
        argument.ValueType == typeof(string[]) || argument.ValueType == typeof(FileInfo) || argument.ValueType == typeof(FileInfo[]);

    private static int IndexOfDoubleDash(IReadOnlyList<Token> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
            if (tokens[i].Type == TokenType.DoubleDash) return i;
        return -1;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (int i = 0; i < tokens.Count; i++)
            if (ReferenceEquals(tokens[i], token)) return i;
        return -1;
    }
}
