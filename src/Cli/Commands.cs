using System.CommandLine;
using Filter.VM;
using V = Filter.Verifier;

namespace Filter.Cli;

/// <summary>The subcommands. Each parses its arguments and calls the libraries.</summary>
internal static class Commands
{
    private static Argument<string?> ExpressionArgument() => new("expression") { Arity = ArgumentArity.ZeroOrOne, Description = "the filter expression" };
    private static Option<FileInfo?> FilterFileOption() => new("--file", "-f") { Description = "read the filter from FILE" };

    public static Command Compile(CliIO io)
    {
        var expression = ExpressionArgument();
        var file = FilterFileOption();
        var output = new Option<FileInfo?>("--output", "-o") { Description = "write the bytecode to FILE" };
        var disasm = new Option<bool>("--disassemble", "-d") { Description = "print the program, one instruction per line" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("compile", "compile a filter to verified bytecode") { expression, file, output, disasm, diagnostics };
        cmd.SetAction(r =>
        {
            var text = FilterLoading.ReadFilterText(r.GetValue(expression), r.GetValue(file), io, out var name, CliDiagnostics.Get(r, diagnostics));
            if (text is null) return CliIO.UsageError;
            var (_, program) = FilterLoading.CompileText(text, name, io, CliDiagnostics.Get(r, diagnostics));
            if (program is null) return CliIO.UsageError;
            if (r.GetValue(output) is { } o && !Write(o, program.Bytes.Span, io)) return CliIO.UsageError;
            if (r.GetValue(disasm)) io.WriteText(Disassembler.Disassemble(program.Image));
            else if (r.GetValue(output) is null)
                io.Stderr.WriteLine($"ok: {program.InstructionCount} instructions, at most {program.MaxPathLength} executed per record (use -o FILE to save, -d to print)");
            return CliIO.Ok;
        });
        return cmd;
    }

    public static Command Assemble(CliIO io)
    {
        var input = new Argument<FileInfo>("file") { Description = "assembly text (the format disasm prints)" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "write the bytecode to FILE", Required = true };
        var cmd = new Command("asm", "assemble text into bytecode (not verified: use verify)") { input, output };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            string text;
            try { text = File.ReadAllText(file.FullName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return io.Fail(CliIO.UsageError, $"error: cannot read {file}: {e.Message}"); }
            var (image, error) = Assembler.Assemble(text);
            if (error is not null) return io.Fail(CliIO.UsageError, $"{file}:{error.Line}: error: {error.Message}");
            var bytes = image!.Encode();
            if (!Write(r.GetValue(output)!, bytes, io)) return CliIO.UsageError;
            if (V.Verifier.Verify(bytes).Error is { } rejected)
                io.Stderr.WriteLine($"{file}: warning: the program does not verify and will not run: {rejected}");
            return CliIO.Ok;
        });
        return cmd;
    }

    public static Command Disassemble(CliIO io)
    {
        var input = new Argument<FileInfo>("program") { Description = "a bytecode file" };
        var cmd = new Command("disasm", "print a bytecode file as assembly text") { input };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            var bytes = FilterLoading.ReadBytes(file, io);
            if (bytes is null) return CliIO.UsageError;
            if (!ProgramImage.TryDecode(bytes, out var image, out string error))
                return io.Fail(CliIO.UsageError, $"{file}: error: {error}");
            io.WriteText(Disassembler.Disassemble(image));
            return CliIO.Ok;
        });
        return cmd;
    }

    public static Command Verify(CliIO io)
    {
        var input = new Argument<FileInfo>("program") { Description = "a bytecode file" };
        var cmd = new Command("verify", "check that a bytecode file is safe to run") { input };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            var bytes = FilterLoading.ReadBytes(file, io);
            if (bytes is null) return CliIO.UsageError;
            var result = V.Verifier.Verify(bytes);
            if (!result.Ok) return io.Fail(CliIO.UsageError, $"{file}: rejected: {result.Error}");
            io.WriteText($"{file}: ok: {result.Program!.InstructionCount} instructions, at most {result.Program.MaxPathLength} executed per record\n");
            return CliIO.Ok;
        });
        return cmd;
    }

    private static bool Write(FileInfo file, ReadOnlySpan<byte> bytes, CliIO io)
    {
        try { File.WriteAllBytes(file.FullName, bytes); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { io.Fail(CliIO.UsageError, $"error: cannot write {file}: {e.Message}"); return false; }
    }
}
