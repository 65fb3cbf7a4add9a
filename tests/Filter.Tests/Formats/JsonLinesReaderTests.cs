using System.Text;
using System.Text.Json;
using Filter.Audit.Formats;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Formats;

public class JsonLinesReaderTests
{
    private const string Source = "records.jsonl";

    private static readonly string VectorsPath =
        Path.Combine(AppContext.BaseDirectory, "Data", "language-vectors", "records.jsonl");

    /// <summary>Read sizes for the stream under the reader: whole, awkward, and one byte at a time.</summary>
    public static TheoryData<int> ChunkSizes => new() { int.MaxValue, 7, 1 };

    [Fact]
    public void AnInputThatFailsMidReadIsUnreadableNotACrash()
    {
        using var reader = new JsonLinesReader(new FailingStream(Encoding.UTF8.GetBytes("{\"uid\": 1}\n{\"ui")), Source);
        var builder = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Unreadable(Source, 2, "cannot read past here: Input/output error"), reader.Error);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    // ---- Valid records ------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void EveryFieldRoundTripsIntoTheBuilder(int chunk)
    {
        const string line =
            """{"arch": "aarch64", "syscall": 221, "exit": -9223372036854775808, "a0": 18446744073709551615, "a1": 1, "a2": 2, "a3": 3, "a4": 4, "a5": 5, "pid": 4294967295, "ppid": 6, "auid": 7, "uid": 8, "gid": 9, "euid": 10, "suid": 11, "fsuid": 12, "egid": 13, "sgid": 14, "fsgid": 15, "ses": 16, "success": true, "comm": "fifteen-bytes!!", "exe": "/usr/bin/x"}""";
        var (reader, builder) = Open(line + "\n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(1, reader.LineNumber);
        Assert.Equal(line, Encoding.UTF8.GetString(reader.Line));
        var expected = new Dictionary<string, ulong>
        {
            ["arch"] = AuditArch.Aarch64, ["syscall"] = 221, ["exit"] = unchecked((ulong)long.MinValue),
            ["a0"] = ulong.MaxValue, ["a1"] = 1, ["a2"] = 2, ["a3"] = 3, ["a4"] = 4, ["a5"] = 5,
            ["pid"] = uint.MaxValue, ["ppid"] = 6, ["auid"] = 7, ["uid"] = 8, ["gid"] = 9, ["euid"] = 10,
            ["suid"] = 11, ["fsuid"] = 12, ["egid"] = 13, ["sgid"] = 14, ["fsgid"] = 15, ["ses"] = 16,
            ["success"] = 1, ["type"] = 0, ["sig"] = 0,   // event fields: a syscall record (type 0), no signal
        };
        var record = new Record(builder.Build());
        foreach (var field in RecordLayout.Scalars)
            Assert.True(expected.GetValueOrDefault(field.Name) == record.Load(field), $"field {field.Name}: {record.Load(field)}");
        Assert.Equal(long.MinValue, record.Exit);
        Assert.True(record.Success);
        Assert.Equal("fifteen-bytes!!", Encoding.UTF8.GetString(record.Comm));
        Assert.Equal("/usr/bin/x", Encoding.UTF8.GetString(record.Exe));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    /// <summary>
    /// A record without a key the filter reads is an error, not a record where it is 0: a record with no
    /// syscall key was syscall 0 (read), and one with no uid was root.
    /// </summary>
    [Theory]
    [InlineData("""{"arch": "x86_64"}""", "syscall", "key 'syscall' is missing: the filter reads it, and a syscall record must give every field the filter reads")]
    [InlineData("""{"arch": "x86_64", "syscall": 59, "euid": 0}""", "uid,euid", "key 'uid' is missing: the filter reads it, and a syscall record must give every field the filter reads")]
    [InlineData("""{"type": 1, "sig": 11, "pid": 5}""", "arch,syscall,sig,uid", "key 'uid' is missing: the filter reads it, and a signal record must give every field the filter reads")]
    [InlineData("""{"comm": "x"}""", "exe", "key 'exe' is missing: the filter reads it, and a syscall record must give every field the filter reads")]
    public void AKeyTheFilterReadsMustBeThere(string line, string fields, string message)
    {
        using var reader = new JsonLinesReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), Source) { Fields = fields.Split(',') };
        Assert.Equal(ReadResult.Error, reader.Read(new RecordBuilder()));
        Assert.Equal(InputErrors.Malformed(Source, 1, message), reader.Error);
    }

    [Theory]
    // A call that never returns has no success or exit (as in auditd's log); a syscall record no sig.
    [InlineData("""{"arch": "x86_64", "syscall": 231, "uid": 0}""", "arch,syscall,success,exit,sig,uid,type")]
    // A signal record has no arch, syscall, exit, arguments, ... : they are 0 by definition.
    [InlineData("""{"type": 1, "sig": 11, "pid": 5, "auid": 1, "uid": 0, "gid": 0, "ses": 1, "comm": "x", "exe": "/x"}""", "arch,syscall,exit,a0,ppid,euid,sig,uid,type")]
    public void KeysARecordOfItsTypeDoesNotHaveMayBeLeftOut(string line, string fields)
    {
        using var reader = new JsonLinesReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), Source) { Fields = fields.Split(',') };
        Assert.Equal(ReadResult.Record, reader.Read(new RecordBuilder()));
    }

    [Fact]
    public void MissingFieldsAreZeroFalseAndEmpty()
    {
        var (reader, builder) = Open("""{"uid": 5, "comm": "x", "exe": "/y", "success": true}""" + "\n{}\n");
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Record, reader.Read(builder));

        var record = new Record(builder.Build());
        foreach (var field in RecordLayout.Scalars)
            Assert.True(record.Load(field) == 0, $"field {field.Name} should be 0 after Clear");
        Assert.True(record.Comm.IsEmpty);
        Assert.True(record.Exe.IsEmpty);
    }

    [Fact]
    public void AllLanguageVectorRecordsParseAndMatchAnIndependentReading()
    {
        byte[] file = File.ReadAllBytes(VectorsPath);
        string[] lines = Encoding.UTF8.GetString(file).Split('\n');
        var (reader, builder) = Open(file);

        int count = 0;
        ReadResult result;
        while ((result = reader.Read(builder)) == ReadResult.Record)
        {
            count++;
            Assert.Equal(count, reader.LineNumber);
            Assert.Equal(lines[count - 1], Encoding.UTF8.GetString(reader.Line));
            AssertMatchesJsonDocument(lines[count - 1], new Record(builder.Build()));
        }
        Assert.True(result == ReadResult.End, reader.Error?.Render());
        Assert.Equal(120, count);
    }

    /// <summary>Checks a record against the same line read by JsonDocument, field by field.</summary>
    private static void AssertMatchesJsonDocument(string line, Record record)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        foreach (var field in RecordLayout.Scalars)
        {
            ulong expected = !root.TryGetProperty(field.Name, out var v) ? 0
                : field.Name == "arch" ? (AuditArch.TryParse(v.GetString(), out uint arch) ? arch : throw new Xunit.Sdk.XunitException(line))
                : field.Kind == FieldKind.U8 ? (v.GetBoolean() ? 1UL : 0UL)
                : field.Kind == FieldKind.S64 ? (ulong)v.GetInt64()
                : v.GetUInt64();
            Assert.True(expected == record.Load(field), $"{field.Name} in {line}");
        }
        foreach (var field in RecordLayout.Strings)
        {
            string expected = root.TryGetProperty(field.Name, out var v) ? v.GetString()! : "";
            Assert.Equal(expected, Encoding.UTF8.GetString(record.GetString(field)));
        }
    }

    [Fact]
    public void EscapesAreDecodedInKeysAndStrings()
    {
        var (reader, builder) = Open(
            """{"\u0075id": 3, "comm": "a\u00e9\"\\\/\t", "exe": "/tmp/\ud83d\ude00\u4e2d", "arch": "x86\u005f64"}""");
        Assert.Equal(ReadResult.Record, reader.Read(builder));

        var record = new Record(builder.Build());
        Assert.Equal(3UL, record.Load(RecordLayout.ScalarNamed("uid")!));
        Assert.Equal(AuditArch.X86_64, record.Arch);
        Assert.Equal("a\u00e9\"\\/\t", Encoding.UTF8.GetString(record.Comm));
        Assert.Equal("/tmp/\U0001F600\u4e2d", Encoding.UTF8.GetString(record.Exe));
    }

    [Fact]
    public void StringsAtTheirLimitsAreAccepted()
    {
        string comm = new('c', RecordLayout.CommMaxLength), exe = "/" + new string('e', RecordLayout.ExeMaxLength - 1);
        // Escapes count by their decoded length: 5 x "é" is 10 bytes although 30 are written.
        var (reader, builder) = Open(
            $$"""{"comm": "{{comm}}", "exe": "{{exe}}"}""" + "\n" + """{"comm": "\u00e9\u00e9\u00e9\u00e9\u00e9"}""");
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var record = new Record(builder.Build());
        Assert.Equal(comm, Encoding.UTF8.GetString(record.Comm));
        Assert.Equal(exe, Encoding.UTF8.GetString(record.Exe));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal("ééééé", Encoding.UTF8.GetString(new Record(builder.Build()).Comm));
    }

    [Fact]
    public void UnknownKeysAreSkippedWhateverTheirValue()
    {
        var (reader, builder) = Open(
            """{"when": "2024", "uid": 1, "nested": {"uid": "x", "a": [1, {"b": null}]}, "list": [], "n": -1.5e3, "t": true, "z": null, "\u00e9": 1, "gid": 2}""");
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var record = new Record(builder.Build());
        Assert.Equal(1UL, record.Load(RecordLayout.ScalarNamed("uid")!));
        Assert.Equal(2UL, record.Load(RecordLayout.ScalarNamed("gid")!));
    }

    [Fact]
    public void NegativeZeroIsZero()
    {
        var (reader, builder) = Open("""{"uid": -0, "exit": -0}""");
        Assert.Equal(ReadResult.Record, reader.Read(builder));
    }

    // ---- Lines --------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void BlankLinesAreSkippedButCounted(int chunk)
    {
        var (reader, builder) = Open("\n   \n{\"uid\": 1}\n\t \r\n\n{\"uid\": 2}\n \n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(3, reader.LineNumber);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(6, reader.LineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal(7, reader.LineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void EmptyInputEndsAtOnce()
    {
        var (reader, builder) = Open("");
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal(0, reader.LineNumber);
        Assert.True(reader.Line.IsEmpty);
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void CrlfLinesParseAndTheRawLineKeepsTheCarriageReturn(int chunk)
    {
        var (reader, builder) = Open("{\"uid\": 1}\r\n{\"uid\": 2}\r\n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal("{\"uid\": 1}\r", Encoding.UTF8.GetString(reader.Line));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal("{\"uid\": 2}\r", Encoding.UTF8.GetString(reader.Line));
        Assert.Equal(2UL, new Record(builder.Build()).Load(RecordLayout.ScalarNamed("uid")!));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void ALastLineWithoutNewlineIsRead(int chunk)
    {
        var (reader, builder) = Open("{\"uid\": 1}\n{\"uid\": 2}", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(2, reader.LineNumber);
        Assert.Equal("{\"uid\": 2}", Encoding.UTF8.GetString(reader.Line));
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal(2, reader.LineNumber);
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void AByteOrderMarkAtTheStartIsSkipped(int chunk)
    {
        var (reader, builder) = Open([0xEF, 0xBB, 0xBF, .. "{\"uid\": 1}\n"u8], chunk);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal("{\"uid\": 1}", Encoding.UTF8.GetString(reader.Line));
    }

    [Fact]
    public void AByteOrderMarkAfterTheFirstLineIsAnError()
    {
        var (reader, builder) = Open([.. "{}\n"u8, 0xEF, 0xBB, 0xBF, .. "{}\n"u8]);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(2, reader.Error!.Location.Line);
        Assert.StartsWith("invalid JSON at column 1: ", reader.Error!.Message);
    }

    [Fact]
    public void LinesLongerThanTheInitialBufferAreRead()
    {
        // 200 KB of an unknown key forces the buffer to grow (it starts at 64 KB).
        string line = $$"""{"pad": "{{new string('p', 200_000)}}", "uid": 9}""";
        var (reader, builder) = Open($"{{}}\n{line}\n{{}}\n", chunk: 4096);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(line, Encoding.UTF8.GetString(reader.Line));
        Assert.Equal(9UL, new Record(builder.Build()).Load(RecordLayout.ScalarNamed("uid")!));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(3, reader.LineNumber);
    }

    // ---- Errors -------------------------------------------------------------------------------------

    public static TheoryData<string, string> BadLines => new()
    {
        { """{"uid": "0"}""", "key 'uid': expected a non-negative integer up to 4294967295, got \"0\"" },
        { """{"uid": -1}""", "key 'uid': expected a non-negative integer up to 4294967295, got -1" },
        { """{"uid": 4294967296}""", "key 'uid': expected a non-negative integer up to 4294967295, got 4294967296" },
        { """{"ses": 1.5}""", "key 'ses': expected a non-negative integer up to 4294967295, got 1.5" },
        { """{"pid": null}""", "key 'pid': expected a non-negative integer up to 4294967295, got null" },
        { """{"gid": [1]}""", "key 'gid': expected a non-negative integer up to 4294967295, got an array" },
        { """{"a0": 18446744073709551616}""", "key 'a0': expected a non-negative integer up to 18446744073709551615, got 18446744073709551616" },
        { """{"a5": 1e3}""", "key 'a5': expected a non-negative integer up to 18446744073709551615, got 1e3" },
        { """{"a1": 1.0}""", "key 'a1': expected a non-negative integer up to 18446744073709551615, got 1.0" },
        { """{"exit": 9223372036854775808}""", "key 'exit': expected an integer from -9223372036854775808 to 9223372036854775807, got 9223372036854775808" },
        { """{"exit": -9223372036854775809}""", "key 'exit': expected an integer from -9223372036854775808 to 9223372036854775807, got -9223372036854775809" },
        { """{"exit": -2.0}""", "key 'exit': expected an integer from -9223372036854775808 to 9223372036854775807, got -2.0" },
        { """{"exit": "-2"}""", "key 'exit': expected an integer from -9223372036854775808 to 9223372036854775807, got \"-2\"" },
        { """{"success": 1}""", "key 'success': expected true or false, got 1" },
        { """{"success": "yes"}""", "key 'success': expected true or false, got \"yes\"" },
        { """{"arch": "sparc"}""", "key 'arch': unknown architecture \"sparc\" (expected \"x86_64\", \"i386\", \"aarch64\")" },
        { """{"arch": "X86_64"}""", "key 'arch': unknown architecture \"X86_64\" (expected \"x86_64\", \"i386\", \"aarch64\")" },
        { """{"arch": 3221225534}""", "key 'arch': expected an architecture name (\"x86_64\", \"i386\", \"aarch64\"), got 3221225534" },
        { """{"comm": "0123456789abcdef"}""", "key 'comm': string is 16 bytes of UTF-8, longer than the limit of 15" },
        { """{"comm": "éééééééé"}""", "key 'comm': string is 16 bytes of UTF-8, longer than the limit of 15" },
        { """{"comm": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}""", "key 'comm': string is 16 bytes of UTF-8, longer than the limit of 15" },
        { $$"""{"exe": "{{new string('x', 4097)}}"}""", "key 'exe': string is 4097 bytes of UTF-8, longer than the limit of 4096" },
        { """{"comm": 5}""", "key 'comm': expected a string, got 5" },
        { """{"exe": {"path": "/x"}}""", "key 'exe': expected a string, got an object" },
        { """{"comm": "a\ud800b"}""", "key 'comm': unpaired UTF-16 surrogate escape '\\ud800'" },
        { """{"exe": "\udc00\ud800"}""", "key 'exe': unpaired UTF-16 surrogate escape '\\udc00'" },
        { """{"uid": 1, "gid": 2, "uid": 1}""", "key 'uid': duplicate key" },
        { """{"uid": 1, "\u0075id": 1}""", "key 'uid': duplicate key" },
        { """[1, 2]""", "expected a JSON object, got an array" },
        { """42""", "expected a JSON object, got 42" },
        { "\"uid\"", "expected a JSON object, got \"uid\"" },
        { """null""", "expected a JSON object, got null" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void BadLinesAreReportedWithLineAndKeyAndReadingGoesOn(string bad, string message)
    {
        var (reader, builder) = Open($"{{\"uid\": 1}}\n\n{bad}\n{{\"uid\": 4}}\n");

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 3, message), reader.Error);
        Assert.Equal(3, reader.LineNumber);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(4, reader.LineNumber);
        Assert.Equal(4UL, new Record(builder.Build()).Load(RecordLayout.ScalarNamed("uid")!));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    public static TheoryData<string, int> MalformedJson => new()
    {
        { """{"uid": }""", 9 },
        { """{"uid": 1""", 10 },
        { """{"uid": 1} x""", 12 },
        { """{"uid": 1}{}""", 11 },
        { """{'uid': 1}""", 2 },
        { """{"uid": 1,}""", 11 },
        { """{"uid": 01}""", 10 },
        { """{"uid": 1 /* root */}""", 11 },
        { """{"uid": 1, "x": [}""", 18 },
        { """{"comm": "a\qb"}""", 13 },
        { "{\"comm\": \"a\tb\"}", 12 },
    };

    [Theory]
    [MemberData(nameof(MalformedJson))]
    public void MalformedJsonIsReportedWithItsColumn(string bad, int column)
    {
        var (reader, builder) = Open($"{bad}\n{{}}");

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(1, reader.Error!.Location.Line);
        Assert.StartsWith($"invalid JSON at column {column}: ", reader.Error!.Message);
        Assert.DoesNotContain("LineNumber", reader.Error!.Message);
        Assert.DoesNotContain("reader options", reader.Error!.Message);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
    }

    [Fact]
    public void ALineCutShortSaysSo()
    {
        var (reader, builder) = Open("{\"uid\": 1\r\n{\"comm\": \"ab");

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 1, "invalid JSON at column 10: the line ends before the JSON value does"), reader.Error);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, "invalid JSON at column 13: the line ends before the JSON value does"), reader.Error);
    }

    [Fact]
    public void InvalidUtf8IsReportedWithItsColumn()
    {
        var (reader, builder) = Open([.. "{\"comm\": \"ab"u8, 0xC3, 0x28, .. "\"}\n{\"x\": \""u8, 0xFF, .. "\"}\n{}"u8]);

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 1, "invalid UTF-8 at column 13"), reader.Error);
        // Also in a key the reader would otherwise skip: no byte goes unchecked.
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, "invalid UTF-8 at column 8"), reader.Error);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
    }

    [Fact]
    public void SeveralErrorsAreReportedInOrderBetweenRecords()
    {
        var (reader, builder) = Open("{\"uid\": -1}\n{}\nnot json\n\n{\"success\": 0}\n{}\n");
        var seen = new List<string>();
        ReadResult result;
        while ((result = reader.Read(builder)) != ReadResult.End)
            seen.Add(result == ReadResult.Error ? $"error {reader.Error!.Location.Line}" : $"record {reader.LineNumber}");
        Assert.Equal(["error 1", "record 2", "error 3", "error 5", "record 6"], seen);
    }

    [Fact]
    public void InputErrorRendersLikeACompilerMessage() =>
        Assert.Equal("in.jsonl:7: error FLT3002: key 'uid': duplicate key", InputErrors.Malformed("in.jsonl", 7, "key 'uid': duplicate key").Render());

    // ---- Over-long lines ----------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void TheLineLimitIsInclusive(int chunk)
    {
        const int limit = 64;
        string exact = "{\"uid\": 1, \"pad\": \"" + new string('p', limit - 21) + "\"}";
        Assert.Equal(limit, exact.Length);
        string crlf = exact + "\r"; // the '\r' is part of the line's bytes
        var (reader, builder) = Open($"{exact}\n{crlf}\n{exact}x\n{exact}", chunk, limit);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, "line is 65 bytes, longer than the limit of 64 bytes"), reader.Error);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(3, reader.Error!.Location.Line);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(4, reader.LineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void AnOverLongLineIsSkippedInBoundedMemory()
    {
        const long huge = 64L << 20;
        var input = new ConcatStream(
            new MemoryStream("{\"uid\": 1}\n"u8.ToArray()),
            new RepeatStream((byte)'x', huge),
            new MemoryStream("\n{\"uid\": 2}\n"u8.ToArray()),
            new RepeatStream((byte)'y', huge)); // and a last over-long line without '\n'
        var builder = new RecordBuilder();
        using var reader = new JsonLinesReader(input, Source);
        Assert.Equal(ReadResult.Record, reader.Read(builder));

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, $"line is {huge} bytes, longer than the limit of 1048576 bytes"), reader.Error);
        Assert.True(reader.Line.IsEmpty);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(3, reader.LineNumber);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(4, reader.Error!.Location.Line);
        Assert.Equal(ReadResult.End, reader.Read(builder));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The buffer grows to at most the limit (pooled arrays round up to 2 MiB); 128 MiB went through it.
        Assert.True(allocated < 4L << 20, $"allocated {allocated} bytes skipping {2 * huge} bytes of over-long lines");
    }

    // ---- Allocation ---------------------------------------------------------------------------------

    [Fact]
    public void ReadingValidLinesAllocatesNothingPerLine()
    {
        byte[] vectors = File.ReadAllBytes(VectorsPath);
        byte[] escaped = """{"\u0075id": 1, "comm": "caf\u00e9", "exe": "/tmp/\ud83d\ude00", "extra": {"a": [1, 2]}}"""u8.ToArray();
        var input = new MemoryStream();
        for (int i = 0; i < 50; i++)
        {
            input.Write(vectors);
            input.Write(escaped);
            input.Write("\r\n\n"u8);
        }
        var builder = new RecordBuilder();

        long Drain()
        {
            input.Position = 0;
            using var reader = new JsonLinesReader(input, Source);
            long before = 0, records = 0;
            ReadResult result;
            while ((result = reader.Read(builder)) == ReadResult.Record)
                if (++records == 1) before = GC.GetAllocatedBytesForCurrentThread();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(result == ReadResult.End, reader.Error?.Render());
            Assert.Equal(50 * 121, records);
            return allocated;
        }

        Drain(); // warm up: JIT, pooled buffer, static tables
        Allocations.AssertNoneIn(Drain, "reading 6,050 JSON lines");
    }

    // ---- Helpers ------------------------------------------------------------------------------------

    private static (JsonLinesReader Reader, RecordBuilder Builder) Open(string text, int chunk = int.MaxValue, int maxLineBytes = 1 << 20) =>
        Open(Encoding.UTF8.GetBytes(text), chunk, maxLineBytes);

    private static (JsonLinesReader Reader, RecordBuilder Builder) Open(byte[] bytes, int chunk = int.MaxValue, int maxLineBytes = 1 << 20) =>
        (new JsonLinesReader(new ChunkedStream(bytes, chunk), Source, maxLineBytes), new RecordBuilder());
}
