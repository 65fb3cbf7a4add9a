using System.CommandLine;
using Filter.Compiler;

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
            if (FilterLoading.Source(r.GetValue(expression), r.GetValue(file), io) is not { } source) return CliIO.UsageError;
            if (FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics)).Program is not { } program) return CliIO.UsageError;
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
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("asm", "assemble text into bytecode (not verified: use verify)") { input, output, diagnostics };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            var format = CliDiagnostics.Get(r, diagnostics);
            string text;
            try { text = File.ReadAllText(file.FullName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { CliDiagnostics.Write(io, format, [Diagnostic.CannotRead(file.ToString(), e)]); return CliIO.UsageError; }
            var (image, error) = Assembler.Assemble(text);
            if (error is not null) { CliDiagnostics.Write(io, format, [error.In(file.ToString())]); return CliIO.UsageError; }
            var bytes = image!.Encode();
            if (!Write(r.GetValue(output)!, bytes, io)) return CliIO.UsageError;
            // Written as asked; the verifier's verdict on it is a warning here (verify and run refuse it).
            var verdict = FilterProgram.Load(FilterSource.FromBytecode(bytes, file.ToString()));
            CliDiagnostics.Write(io, format, verdict.Diagnostics.Select(d => d with
            {
                Severity = Severity.Warning,
                Message = $"the program does not verify and will not run: {d.Message}",
            }));
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
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file.FullName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return io.Fail(CliIO.UsageError, Diagnostic.CannotRead(file.ToString(), e)); }
            // Disassembly shows unverified programs too (that is how one finds out why they are refused).
            if (!ProgramImage.TryDecode(bytes, out var image, out string error))
                return io.Fail(CliIO.UsageError, new Diagnostic(DiagnosticCode.Format, DiagnosticLocation.Instruction(-1), error).In(file.ToString()));
            io.WriteText(Disassembler.Disassemble(image));
            return CliIO.Ok;
        });
        return cmd;
    }

    public static Command Verify(CliIO io)
    {
        var input = new Argument<FileInfo>("program") { Description = "a bytecode file" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("verify", "check that a bytecode file is safe to run") { input, diagnostics };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            var result = FilterLoading.Load(FilterSource.FromBytecodeFile(file.ToString()), io, CliDiagnostics.Get(r, diagnostics));
            if (result.Program is not { } program) return CliIO.UsageError;
            io.WriteText($"{file}: ok: {program.InstructionCount} instructions, at most {program.MaxPathLength} executed per record\n");
            return CliIO.Ok;
        });
        return cmd;
    }

    private static bool Write(FileInfo file, ReadOnlySpan<byte> bytes, CliIO io)
    {
        try { File.WriteAllBytes(file.FullName, bytes); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { io.Fail(CliIO.UsageError, CliIO.CannotWrite(file.ToString(), e)); return false; }
    }
}
