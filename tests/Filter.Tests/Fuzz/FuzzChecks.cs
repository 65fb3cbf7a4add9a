using System.Buffers.Binary;
using System.Text;
using Filter.Compiler;
using Filter.VM;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Fuzz;

/// <summary>
/// The properties the coverage-guided fuzz targets check (tests/fuzz/README.md), in one place: the
/// harness in tests/fuzz/Filter.Fuzz links this file, and <see cref="FuzzRegressionTests"/> replays
/// every input the fuzzer ever found through the same code. Nothing here depends on xunit or SharpFuzz.
/// A broken property throws <see cref="FuzzFailure"/>; any other exception escaping is a bug too.
/// </summary>
public static class FuzzChecks
{
    /// <summary>A property the fuzz targets check did not hold.</summary>
    public sealed class FuzzFailure(string message) : Exception(message);

    /// <summary>
    /// Bytes as a program file. The verifier either rejects them, naming a rule and an instruction (or -1
    /// for the container), or accepts them, and then the interpreter and the JIT, one record at a time and
    /// in batches, return the same verdict, within the declared range, on every record (the fixed ones, a
    /// malformed one, and records made from the program's own constants), with no exception. Any file that
    /// decodes round-trips through the disassembler and the assembler to the same bytes (spec/bytecode.md).
    /// </summary>
    public static void Verifier(ReadOnlySpan<byte> bytes)
    {
        var result = V.Verify(bytes);
        ProgramImage.TryDecode(bytes, out var decoded, out _);
        if (decoded is not null && CheckRoundTrips) CheckRoundTrip(bytes, decoded);
        if (!result.Ok)
        {
            var error = result.Error ?? throw new FuzzFailure("the verifier returned neither a program nor an error");
            if (!Enum.IsDefined(error.Code) || error.RuleName is null) throw new FuzzFailure($"rejection names no rule: {error}");
            if (string.IsNullOrWhiteSpace(error.Message)) throw new FuzzFailure($"rejection has no message ({error.Code})");
            int count = decoded?.Code.Count ?? 0;
            if (error.Location.Pc < -1 || (error.Location.Pc >= 0 && error.Location.Pc >= count))
                throw new FuzzFailure($"rejection names pc {error.Location.Pc}, outside the program's {count} instructions: {error}");
            _ = error.ToString();
            return;
        }

        var program = result.Program!;
        if (program.InstructionCount is < 1 or > InstructionSet.MaxInstructions)
            throw new FuzzFailure($"accepted a program of {program.InstructionCount} instructions");
        if (program.MaxPathLength < 1 || program.MaxPathLength > program.InstructionCount)
            throw new FuzzFailure($"MaxPathLength {program.MaxPathLength} is outside 1..{program.InstructionCount}");
        var pool = new ValuePool(bytes);
        foreach (var insn in program.Image.Code) pool.Add(insn.Imm);
        foreach (var set in program.Image.Sets)
            foreach (var range in set.Ranges) { pool.Add(range.Lo); pool.Add(range.Hi); }
        foreach (var s in program.Image.Strings) pool.AddString(s.ToArray());
        // The malformed record sits between well-formed ones: in a batch its string descriptor points
        // into the next record, which must not be read.
        RunEngines(program, [.. FixedRecords.Take(3), MalformedRecord, .. FixedRecords.Skip(3), .. pool.Records(4)]);
    }

    /// <summary>
    /// <c>FILTER_FUZZ_NO_ROUNDTRIP=1</c> leaves the disassembler out of the verifier target, so that a
    /// campaign can look past a known round-trip bug instead of rediscovering it.
    /// </summary>
    private static readonly bool CheckRoundTrips = Environment.GetEnvironmentVariable("FILTER_FUZZ_NO_ROUNDTRIP") != "1";

    private static void CheckRoundTrip(ReadOnlySpan<byte> bytes, ProgramImage image)
    {
        string text = Disassembler.Disassemble(image);
        var (reassembled, error) = Assembler.Assemble(text);
        if (reassembled is null)
            throw new FuzzFailure($"the disassembly of a decodable file does not assemble ({error!.Render()}):\n{text}");
        if (!reassembled.Encode().AsSpan().SequenceEqual(bytes))
            throw new FuzzFailure($"a decodable file does not round-trip through disasm and asm:\n{text}");
    }

    /// <summary>
    /// UTF-8 bytes (invalid sequences read as U+FFFD) as filter text. Compilation either fails with
    /// positioned errors inside the text, or succeeds; then the verifier accepts the program, and the
    /// reference evaluator and both engines (one record at a time and in batches) agree on every record (the
    /// fixed ones and records made from the filter's own literals). No exception may escape.
    /// </summary>
    public static void Parser(ReadOnlySpan<byte> utf8)
    {
        string text = Encoding.UTF8.GetString(utf8);
        var c = FilterCompiler.Compile(text);
        foreach (var d in c.Diagnostics.Concat(c.Warnings))
        {
            if (d.Span.Start < 0 || d.Span.Start > d.Span.End || d.Span.End > text.Length)
                throw new FuzzFailure($"{d.CodeText} has span {d.Span.Start}..{d.Span.End}, outside the {text.Length}-character text: {d.Message}");
            if (string.IsNullOrWhiteSpace(d.Message)) throw new FuzzFailure($"{d.CodeText} has no message");
            _ = d.Render(text);
        }
        if (!c.Success)
        {
            if (c.Diagnostics.Count == 0) throw new FuzzFailure("compilation failed without a diagnostic");
            if (c.Diagnostics.Any(d => d.Severity != Severity.Error)) throw new FuzzFailure("compilation failed on a warning");
            return;
        }
        if (c.Bound is null) throw new FuzzFailure("compilation succeeded without a bound tree");

        var verified = V.Verify(c.Image!);
        if (!verified.Ok)
            throw new FuzzFailure($"the verifier rejects a compiled program: {verified.Error}\n{Disassembler.Disassemble(c.Image!)}");
        var program = verified.Program!;
        var pool = new ValuePool(utf8);
        pool.AddLiterals(text);

        // The reference evaluator only on well-formed records: it reads success as a boolean, the
        // engines load the byte (spec/record.md: 0 or 1).
        List<byte[]> records = [.. FixedRecords, .. pool.Records(6)];
        var verdicts = RunEngines(program, [.. records, MalformedRecord]);
        for (int n = 0; n < records.Count; n++)
        {
            bool reference = ReferenceEvaluator.Evaluate(c.Bound, new Record(records[n]));
            if ((verdicts[n] != 0) != reference)
                throw new FuzzFailure($"record {n}: reference says {reference}, the engines {verdicts[n]}\n{Disassembler.Disassemble(c.Image!)}");
        }
    }

    /// <summary>
    /// Runs a verified program on every record through each engine and entry point: the interpreter and
    /// the JIT one record at a time, then both engines' batch loops (<c>RunBatch</c>, <c>MatchIndices</c>)
    /// over the records laid back to back in one buffer after a few bytes that belong to no record.
    /// All must agree, verdicts must be within the declared range, and nothing may throw. Returns the
    /// verdicts.
    /// </summary>
    private static uint[] RunEngines(VerifiedProgram program, List<byte[]> records)
    {
        var jit = Filter.VM.Jit.Compile(program);
        var verdicts = new uint[records.Count];
        for (int n = 0; n < records.Count; n++)
        {
            uint interpreted = Interpreter.Run(program, new Record(records[n]));
            uint compiled = jit.Run(new Record(records[n]));
            if (interpreted != compiled)
                throw Mismatch($"record {n}: interpreter says {interpreted}, JIT says {compiled}");
            if (interpreted > (uint)program.Image.VerdictCount)
                throw Mismatch($"record {n}: verdict {interpreted} is past the {program.Image.VerdictCount} declared");
            verdicts[n] = interpreted;
        }

        const int lead = 5;
        var buffer = new byte[lead + records.Sum(r => r.Length) + 3];
        buffer.AsSpan().Fill(0xa5);
        var offsets = new int[records.Count + 1];
        offsets[0] = lead;
        for (int n = 0; n < records.Count; n++)
        {
            records[n].CopyTo(buffer, offsets[n]);
            offsets[n + 1] = offsets[n] + records[n].Length;
        }
        var batch = new RecordBatch(buffer.AsSpan(0, buffer.Length - 3), offsets);
        int expectedMatches = verdicts.Count(v => v != 0);
        var expectedIndices = Enumerable.Range(0, records.Count).Where(i => verdicts[i] != 0).ToArray();
        foreach (var (name, filter) in new (string, IRecordFilter)[] { ("interpreter", new InterpretedFilter(program)), ("JIT", jit) })
        {
            const uint untouched = 0xdeadbeef;
            var batchVerdicts = Enumerable.Repeat(untouched, records.Count + 2).ToArray();
            int matches = filter.RunBatch(batch, batchVerdicts);
            for (int n = 0; n < records.Count; n++)
                if (batchVerdicts[n] != verdicts[n])
                    throw Mismatch($"{name} RunBatch: record {n} gets {batchVerdicts[n]}, alone it gets {verdicts[n]}");
            if (batchVerdicts[^2] != untouched || batchVerdicts[^1] != untouched)
                throw Mismatch($"{name} RunBatch wrote past the batch's {records.Count} verdicts");
            if (matches != expectedMatches)
                throw Mismatch($"{name} RunBatch counts {matches} matches; there are {expectedMatches}");
            var indices = new int[records.Count + 2];
            indices.AsSpan().Fill(-7);
            int found = filter.MatchIndices(batch, indices);
            if (!indices.AsSpan(0, Math.Clamp(found, 0, indices.Length)).SequenceEqual(expectedIndices) || indices[^1] != -7 || indices[^2] != -7)
                throw Mismatch($"{name} MatchIndices gives [{string.Join(", ", indices.Take(Math.Clamp(found, 0, indices.Length)))}]; the matches are [{string.Join(", ", expectedIndices)}]");
        }
        return verdicts;

        FuzzFailure Mismatch(string what) => new($"{what}\n{Disassembler.Disassemble(program.Image)}");
    }

    private static readonly ulong[] Interesting =
        [0, 1, 2, 7, 11, 59, 63, 64, 65, 1000, 4095, 65534, 65535, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000,
         0x7fffffffffffffff, 0x8000000000000000, 0xfffffffffffffff3, 0xfffffffffffffffe, 0xffffffffffffffff];

    private static readonly string[] Comms = ["", "bash", "ls", "python3", "curl", "/tmp/", "a-fifteen-bytes"];
    private static readonly string[] Exes = ["", "/usr/bin/bash", "/usr/bin/ls", "/usr/bin/python3.11", "/tmp/", "/tmp/x", "/"];
    private static readonly uint[] Arches = [AuditArch.X86_64, AuditArch.I386, AuditArch.Aarch64];

    /// <summary>Well-formed records with typical and extreme values, the same for every input.</summary>
    public static readonly IReadOnlyList<byte[]> FixedRecords = BuildFixedRecords();

    /// <summary>A record no producer makes: every header byte 0xff, descriptors out of bounds.</summary>
    public static readonly byte[] MalformedRecord = BuildMalformed();

    private static byte[] BuildMalformed()
    {
        var bytes = new byte[RecordLayout.HeaderSize + 8];
        bytes.AsSpan().Fill(0xff);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(RecordLayout.CommDescriptor), (8u << 16) | (uint)(RecordLayout.HeaderSize + 4));
        return bytes;
    }

    private static IReadOnlyList<byte[]> BuildFixedRecords()
    {
        var b = new RecordBuilder();
        var list = new List<byte[]> { b.ToArray() }; // all zero, empty strings

        b.Clear();
        b.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        b.SetU32(RecordLayout.Syscall, 59); // execve
        b.SetU32(RecordLayout.Uid, 1000); b.SetU32(RecordLayout.Euid, 1000); b.SetU32(RecordLayout.Auid, 1000);
        b.SetU32(RecordLayout.Pid, 4242); b.SetU32(RecordLayout.Ppid, 1);
        b.SetSuccess(true);
        b.SetComm("bash"); b.SetExe("/usr/bin/bash");
        list.Add(b.ToArray());

        b.Clear();
        b.SetU32(RecordLayout.Arch, AuditArch.Aarch64);
        b.SetU32(RecordLayout.Syscall, 56); // openat
        b.SetExit(-13); // -EACCES
        b.SetU64(RecordLayout.A0, 0xffffff9c); b.SetU64(RecordLayout.A2, 0x241); b.SetU64(RecordLayout.A3, 0x1b6);
        b.SetU32(RecordLayout.Auid, uint.MaxValue); b.SetU32(RecordLayout.Ses, uint.MaxValue);
        b.SetComm("python3"); b.SetExe("/usr/bin/python3.11");
        list.Add(b.ToArray());

        b.Clear(); // every scalar at its maximum, longest strings
        foreach (var f in RecordLayout.Scalars) b.SetScalar(f, ulong.MaxValue);
        b.SetU32(RecordLayout.Arch, AuditArch.I386);
        b.SetSuccess(true);
        b.SetScalar(RecordLayout.ScalarNamed("type")!, RecordLayout.EventTypeSyscall);
        b.SetComm("a-fifteen-bytes");
        b.SetExe(new string('x', RecordLayout.ExeMaxLength));
        list.Add(b.ToArray());

        b.Clear(); // sign boundaries
        foreach (var f in RecordLayout.Scalars) b.SetScalar(f, f.Size == 8 ? 0x8000000000000000 : 0x80000000);
        b.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        b.SetSuccess(false);
        b.SetScalar(RecordLayout.ScalarNamed("type")!, RecordLayout.EventTypeSignal);
        b.SetU32(RecordLayout.Sig, 11);
        b.SetComm("/tmp/"); b.SetExe("/tmp/x");
        list.Add(b.ToArray());

        b.Clear(); // an unknown arch, small values
        b.SetU32(RecordLayout.Arch, 0x12345678);
        b.SetU32(RecordLayout.Syscall, 1);
        b.SetExit(1);
        foreach (var f in RecordLayout.Scalars.Where(f => f.Offset >= RecordLayout.A0 && f.Offset < RecordLayout.Success)) b.SetScalar(f, 1);
        b.SetSuccess(true);
        b.SetComm("ls"); b.SetExe("/usr/bin/ls");
        list.Add(b.ToArray());
        return list;
    }

    /// <summary>
    /// Values worth putting in a record for one input: its own constants, their neighbours, and extremes,
    /// picked by a generator seeded from the input, so the same input always gives the same records
    /// (AFL needs a stable trace).
    /// </summary>
    private sealed class ValuePool
    {
        private readonly List<ulong> _values = [.. Interesting];
        private readonly List<byte[]> _strings = [];
        private readonly Random _rng;

        public ValuePool(ReadOnlySpan<byte> input)
        {
            ulong h = 14695981039346656037;
            foreach (byte x in input) h = (h ^ x) * 1099511628211;
            _rng = new Random((int)(h ^ (h >> 32)));
        }

        public void Add(ulong v)
        {
            if (_values.Count > 256) return;
            _values.Add(v); _values.Add(v + 1); _values.Add(v - 1);
        }

        public void AddString(byte[] s)
        {
            if (_strings.Count > 32) return;
            _strings.Add(s);
            if (s.Length > 0) _strings.Add(s[..^1]);
            _strings.Add([.. s, (byte)'x']);
        }

        /// <summary>Integer literals (decimal, hex, negative) and string literals of a filter, read crudely.</summary>
        public void AddLiterals(string text)
        {
            for (int i = 0; i < text.Length && _values.Count <= 256; i++)
            {
                if (text[i] == '"')
                {
                    int end = text.IndexOf('"', i + 1);
                    if (end < 0) break;
                    AddString(Encoding.UTF8.GetBytes(text[(i + 1)..end]));
                    i = end;
                    continue;
                }
                if (!char.IsAsciiDigit(text[i]) || (i > 0 && char.IsAsciiLetterOrDigit(text[i - 1]))) continue;
                int j = i;
                bool hex = text[i] == '0' && i + 1 < text.Length && (text[i + 1] is 'x' or 'X');
                if (hex) j += 2;
                while (j < text.Length && (hex ? char.IsAsciiHexDigit(text[j]) : char.IsAsciiDigit(text[j]))) j++;
                string digits = hex ? text[(i + 2)..j] : text[i..j];
                if (hex ? ulong.TryParse(digits, System.Globalization.NumberStyles.AllowHexSpecifier, null, out ulong v)
                        : ulong.TryParse(digits, out v))
                {
                    Add(v);
                    Add(0 - v);
                }
                i = j - 1;
            }
        }

        private ulong Pick() => _values[_rng.Next(_values.Count)];

        private byte[] PickString(string[] defaults) =>
            _strings.Count > 0 && _rng.Next(2) == 0 ? _strings[_rng.Next(_strings.Count)] : Encoding.UTF8.GetBytes(defaults[_rng.Next(defaults.Length)]);

        public IEnumerable<byte[]> Records(int count)
        {
            var b = new RecordBuilder();
            for (int r = 0; r < count; r++)
            {
                b.Clear();
                foreach (var f in RecordLayout.Scalars) b.SetScalar(f, _rng.Next(3) == 0 ? (ulong)_rng.Next(0, 400) : Pick());
                b.SetU32(RecordLayout.Arch, _rng.Next(8) == 0 ? (uint)Pick() : Arches[_rng.Next(Arches.Length)]);
                if (_rng.Next(2) == 0) b.SetU32(RecordLayout.Syscall, (uint)_rng.Next(0, 460));
                b.SetSuccess(_rng.Next(2) == 0);
                b.SetScalar(RecordLayout.ScalarNamed("type")!, (ulong)_rng.Next(2));
                b.SetComm(PickString(Comms));
                b.SetExe(PickString(Exes));
                yield return b.ToArray();
            }
        }
    }
}
