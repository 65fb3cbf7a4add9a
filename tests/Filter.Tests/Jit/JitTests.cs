using System.Globalization;
using System.Text;
using Filter.VM;
using Xunit;
using FRecord = Filter.Bytecode.Record;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Jit;

/// <summary>
/// The JIT against the interpreter (and, for each opcode, against an independent oracle written here):
/// every opcode of the table in hand-assembled programs, over records built from extreme values.
/// </summary>
public class JitTests
{
    /// <summary>Values at every edge the semantics has: 0/1, the shift-count edges 63/64/65, word and sign boundaries.</summary>
    public static readonly ulong[] Extremes =
        [0, 1, 2, 5, 31, 32, 59, 63, 64, 65, 127, 128, 4095, 4096, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
         0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000001, 0xfffffffffffffffe, 0xffffffffffffffff];

    public static VerifiedProgram Assemble(string text)
    {
        var (image, error) = Assembler.Assemble(text);
        Assert.True(error is null, error?.ToString());
        var result = V.Verify(image!);
        Assert.True(result.Ok, $"{result.Error}\n{text}");
        return result.Program!;
    }

    public static byte[] Rec(ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, string comm = "", string exe = "")
    {
        var b = new RecordBuilder();
        b.SetU64(RecordLayout.A0, a0);
        b.SetU64(RecordLayout.A1, a1);
        b.SetU64(RecordLayout.A2, a2);
        b.SetComm(comm);
        b.SetExe(exe);
        return b.ToArray();
    }

    /// <summary>Runs both engines; they must agree, and (when given) equal the oracle's verdict.</summary>
    private static void Agree(VerifiedProgram program, byte[] record, uint? expected = null, string what = "")
    {
        var jit = Filter.VM.Jit.Compile(program);
        Assert.Equal(EngineKind.Jit, jit.Engine);
        uint interpreted = Interpreter.Run(program, new FRecord(record));
        uint compiled = jit.Run(new FRecord(record));
        Assert.True(interpreted == compiled, $"jit {compiled} != interpreter {interpreted} {what}\n{Disassembler.Disassemble(program.Image)}");
        if (expected is { } e) Assert.True(e == compiled, $"jit {compiled} != oracle {e} {what}\n{Disassembler.Disassemble(program.Image)}");
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    // ---- ALU: result compared with a2, which the test sets to the oracle's value (or not) ----

    public static readonly Dictionary<string, Func<ulong, ulong, ulong>> Binary = new()
    {
        ["mov"] = (_, b) => b,
        ["add"] = (a, b) => unchecked(a + b),
        ["sub"] = (a, b) => unchecked(a - b),
        ["and"] = (a, b) => a & b,
        ["or"] = (a, b) => a | b,
        ["xor"] = (a, b) => a ^ b,
        // Written out mathematically here, independently of Semantics.
        ["lsh"] = (a, b) => b >= 64 ? 0 : a << (int)b,
        ["rsh"] = (a, b) => b >= 64 ? 0 : a >> (int)b,
        ["arsh"] = (a, b) => b >= 64 ? ((long)a < 0 ? ulong.MaxValue : 0) : (ulong)((long)a >> (int)b),
    };

    private const string CheckTail = "lddw r9, [a2]\njeq r3, r9 jt {0} jf {1}\nret #0\nret #1\n";

    public static TheoryData<string> BinaryOps() => new(Binary.Keys);

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void BinaryRegisterForm(string op)
    {
        var p = Assemble($".verdict 1 \"\"\nlddw r3, [a0]\nlddw r7, [a1]\n{op} r3, r7\n" + string.Format(CultureInfo.InvariantCulture, CheckTail, 6, 5));
        foreach (ulong a in Extremes)
            foreach (ulong b in Extremes)
            {
                ulong r = Binary[op](a, b);
                Agree(p, Rec(a, b, r), 1, $"{op} {a} {b}");
                Agree(p, Rec(a, b, r ^ 1), 0, $"{op} {a} {b}");
            }
    }

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void BinaryImmediateForm(string op)
    {
        foreach (ulong k in Extremes)
        {
            var p = Assemble($".verdict 1 \"\"\nlddw r3, [a0]\n{op} r3, #{Hex(k)}\n" + string.Format(CultureInfo.InvariantCulture, CheckTail, 5, 4));
            foreach (ulong a in Extremes)
            {
                ulong r = Binary[op](a, k);
                Agree(p, Rec(a, 0, r), 1, $"{op} {a} #{k}");
                Agree(p, Rec(a, 0, r ^ 0x8000000000000000), 0, $"{op} {a} #{k}");
            }
        }
    }

    [Theory]
    [InlineData("neg")]
    [InlineData("not")]
    public void Unary(string op)
    {
        var p = Assemble($".verdict 1 \"\"\nlddw r3, [a0]\n{op} r3\n" + string.Format(CultureInfo.InvariantCulture, CheckTail, 5, 4));
        foreach (ulong a in Extremes)
        {
            ulong r = op == "neg" ? unchecked(0 - a) : ~a;
            Agree(p, Rec(a, 0, r), 1, $"{op} {a}");
            Agree(p, Rec(a, 0, r + 1), 0, $"{op} {a}");
        }
    }

    // ---- loads: every scalar field at its size ----

    [Fact]
    public void LoadsEveryScalarFieldWidened()
    {
        foreach (var field in RecordLayout.Scalars)
        {
            string op = field.Size switch { 1 => "ldb", 4 => "ldw", _ => "lddw" };
            // a2 is itself a field; compare through a different register then.
            var p = Assemble($".verdict 1 \"\"\n{op} r3, [{field.Name}]\nlddw r9, [a2]\njeq r3, r9 jt 4 jf 3\nret #0\nret #1\n");
            foreach (ulong v in Extremes)
            {
                var b = new RecordBuilder();
                b.SetScalar(field, v);
                ulong widened = field.Size switch { 1 => (byte)v, 4 => (uint)v, _ => v };
                if (field.Offset != RecordLayout.A2) b.SetU64(RecordLayout.A2, widened);
                Agree(p, b.ToArray(), 1, $"{op} [{field.Name}] {v}");
                // The same record inside a larger buffer at an odd offset: loads are unaligned.
                byte[] shifted = [0, .. b.ToArray()];
                Agree(p, shifted.AsSpan(1).ToArray(), 1);
            }
        }
    }

    // ---- jumps ----

    public static readonly Dictionary<string, Func<ulong, ulong, bool>> Conditions = new()
    {
        ["jeq"] = (a, b) => a == b,
        ["jgt"] = (a, b) => a > b,
        ["jge"] = (a, b) => a >= b,
        ["jsgt"] = (a, b) => (long)a > (long)b,
        ["jsge"] = (a, b) => (long)a >= (long)b,
        ["jset"] = (a, b) => (a & b) != 0,
    };

    public static TheoryData<string> ConditionOps() => new(Conditions.Keys);

    [Theory]
    [MemberData(nameof(ConditionOps))]
    public void ConditionalJumps(string op)
    {
        // Verdict 2 when true, 1 when false: both targets are distinguishable from "no run".
        var x = Assemble($".verdict 1 \"\"\n.verdict 2 \"\"\nlddw r3, [a0]\nlddw r7, [a1]\n{op} r3, r7 jt 4 jf 3\nret #1\nret #2\n");
        foreach (ulong a in Extremes)
            foreach (ulong b in Extremes)
                Agree(x, Rec(a, b), Conditions[op](a, b) ? 2u : 1u, $"{op} {a} {b}");
        foreach (ulong k in Extremes)
        {
            // Taken branch first, fall-through second: both branch layouts of the emitter.
            var kTrue = Assemble($".verdict 1 \"\"\n.verdict 2 \"\"\nlddw r3, [a0]\n{op} r3, #{Hex(k)} jt 3 jf 2\nret #1\nret #2\n");
            var kFall = Assemble($".verdict 1 \"\"\n.verdict 2 \"\"\nlddw r3, [a0]\n{op} r3, #{Hex(k)} jt 2 jf 3\nret #2\nret #1\n");
            foreach (ulong a in Extremes)
            {
                Agree(kTrue, Rec(a), Conditions[op](a, k) ? 2u : 1u, $"{op} {a} #{k}");
                Agree(kFall, Rec(a), Conditions[op](a, k) ? 2u : 1u, $"{op} {a} #{k}");
            }
        }
    }

    [Fact]
    public void UnconditionalJumpAndVerdicts()
    {
        var p = Assemble(".verdict 1 \"\"\n.verdict 65535 \"\"".Replace(".verdict 65535 \"\"", string.Join("\n", Enumerable.Range(2, 65534).Select(k => $".verdict {k} \"\""))) +
                         "\nlddw r3, [a0]\njeq r3, #5 jt 2 jf 3\nja 4\nret #0\nret #65535\n");
        Agree(p, Rec(5), 65535);
        Agree(p, Rec(4), 0);
    }

    // ---- jin: one set per compilation strategy ----

    public static TheoryData<string> SetDeclarations() => new(
        "unsigned 0, 5..9, 63",                                    // constant mask
        "unsigned 56..60, 231",                                    // small tree (lifecycle syscalls)
        "unsigned 1000..2000, 0xffffffffffffff00..0xffffffffffffffff",
        "signed -5..-1, 3, 0x7fffffffffffffff",                    // signed tree across zero
        "signed -9223372036854775808, 0..1",
        "signed 1, 7, 63",                                         // signed but mask-eligible
        "unsigned " + string.Join(", ", Enumerable.Range(0, 20).Select(i => (i * 7).ToString(CultureInfo.InvariantCulture))) + ", 4000..4095", // bitmap
        "unsigned " + string.Join(", ", Enumerable.Range(1, 20).Select(i => $"{Hex((ulong)i << 40)}..{Hex(((ulong)i << 40) + 5)}")), // matcher call
        "signed " + string.Join(", ", Enumerable.Range(-10, 20).Select(i => $"{i * 1000}..{i * 1000 + 3}")));                  // signed matcher call

    [Theory]
    [MemberData(nameof(SetDeclarations))]
    public void SetMembership(string declaration)
    {
        var p = Assemble($".verdict 1 \"\"\n.set 0 {declaration}\nlddw r3, [a0]\njin r3, set0 jt 3 jf 2\nret #0\nret #1\n");
        var set = p.Image.Sets[0];
        var probes = new HashSet<ulong>(Extremes);
        foreach (var r in set.Ranges)
            foreach (ulong v in new[] { r.Lo - 1, r.Lo, r.Lo + 1, r.Hi - 1, r.Hi, r.Hi + 1 }) probes.Add(v);
        for (ulong v = 0; v < 4200; v += 3) probes.Add(v);
        foreach (ulong v in probes) Agree(p, Rec(v), set.Contains(v) ? 1u : 0u, $"jin {v}");
    }

    // ---- strings ----

    // 1..8 bytes is the interpreter's one-load form (1 and 8 are its edges), 9 is past it.
    private static readonly string[] StringConstants = ["", "/", "/tmp/", "bash", "/tmp/x", "/usr/bin", "/usr/bin/", new string('x', 4096), "bas\0h"];
    private static readonly string[] Comms = ["", "/", "bash", "bas", "bashx", "bas\0h", "a-very-long-name-indeed", "xbash", "abas\0hz"];
    private static readonly string[] Exes = ["", "/", "/tmp/", "/tmp/x", "/tmp/xy", "/tm", "/usr/bin", "/usr/bi", "/usr/bin/ls", "/usr/bix/ls", new string('x', 4096), new string('x', 4095), "/opt/tmp/x", "/x/usr/bin/"];

    public static IEnumerable<byte[]> StringRecords()
    {
        foreach (string comm in Comms)
            foreach (string exe in Exes)
                yield return Rec(comm: comm, exe: exe);
        // Malformed descriptors read as "": offset inside the header, past the end, length over the maximum.
        const uint H = RecordLayout.HeaderSize;
        foreach (uint descriptor in new uint[] { 0, 100 | (5u << 16), (H + 15) | (200u << 16), H | (16u << 16), (H + 15) | (4097u << 16), 0xffffffff })
        {
            var r = Rec(comm: "bash", exe: "/tmp/x");
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RecordLayout.CommDescriptor), descriptor);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RecordLayout.ExeDescriptor), descriptor);
            yield return r;
        }
    }

    [Theory]
    [InlineData("jstreq", "comm")]
    [InlineData("jstreq", "exe")]
    [InlineData("jstrpfx", "comm")]
    [InlineData("jstrpfx", "exe")]
    [InlineData("jstrsfx", "comm")]
    [InlineData("jstrsfx", "exe")]
    [InlineData("jstrsub", "comm")]
    [InlineData("jstrsub", "exe")]
    public void StringTests(string op, string field)
    {
        for (int s = 0; s < StringConstants.Length; s++)
        {
            string constant = StringConstants[s].Replace("\0", "\\x00", StringComparison.Ordinal);
            var p = Assemble($".verdict 1 \"\"\n.string 0 \"{constant}\"\n{op} [{field}], str0 jt 2 jf 1\nret #0\nret #1\n");
            byte[] bytes = Encoding.UTF8.GetBytes(StringConstants[s]);
            foreach (var record in StringRecords())
            {
                var view = new FRecord(record);
                var actual = field == "comm" ? view.Comm : view.Exe;
                bool expected = op switch
                {
                    "jstreq" => actual.SequenceEqual(bytes),
                    "jstrpfx" => actual.StartsWith(bytes),
                    "jstrsfx" => actual.EndsWith(bytes),
                    _ => actual.IndexOf(bytes) >= 0,
                };
                Agree(p, record, expected ? 1u : 0u, $"{op} [{field}] \"{constant}\"");
            }
        }
    }

    // ---- the table: every row has a translation, and every row is covered by the programs above ----

    /// <summary>A minimal verified program executing <paramref name="op"/>, built from the row's operand shapes only.</summary>
    public static ProgramImage MinimalProgram(OpInfo op)
    {
        var code = new List<Instruction>
        {
            new(OpCode.Lddw, 0, 0, 0, 0, (ulong)RecordLayout.A0),
            new(OpCode.Lddw, 1, 0, 0, 0, (ulong)RecordLayout.A1),
        };
        byte a = op.A switch { Operand.StringField => (byte)RecordLayout.ExeDescriptor, Operand.None => 0, _ => 0 };
        byte b = op.B == Operand.None ? (byte)0 : (byte)1;
        ulong imm = op.Imm switch
        {
            Operand.Field => (ulong)RecordLayout.Scalars.First(f => f.Size == op.LoadSize).Offset,
            Operand.Verdict => 1,
            Operand.Imm => 3,
            _ => 0,
        };
        // A jswitch's one case (set 0 has one range) goes where a conditional's jt does.
        bool twoWay = op.Jump is JumpKind.Conditional or JumpKind.Switch;
        code.Add(new Instruction(op.Code, a, b, 0, (ushort)(twoWay ? 1 : 0), imm));
        if (op.Jump != JumpKind.Return) code.Add(new Instruction(OpCode.Ret, 0, 0, 0, 0, 1));
        if (twoWay) code.Add(new Instruction(OpCode.Ret, 0, 0, 0, 0, 0));
        return new ProgramImage(code, [new ValueSet(false, [new ValueRange(1, 3)])], ["/tmp/"u8.ToArray()], [""]);
    }

    public static TheoryData<OpCode> AllOpcodes() => new(InstructionSet.All.Select(o => o.Code));

    [Theory]
    [MemberData(nameof(AllOpcodes))]
    public void EveryOpcodeInTheTableHasATranslation(OpCode code)
    {
        var image = MinimalProgram(InstructionSet.Get(code));
        var result = V.Verify(image);
        Assert.True(result.Ok, result.Error?.ToString());
        Assert.Contains(result.Program!.Image.Code, i => i.Op == code);
        // Compile throws for an opcode without a case in the emitter.
        foreach (ulong v in Extremes) Agree(result.Program!, Rec(v, v >> 1, exe: "/tmp/x"));
    }

    [Fact]
    public void HandWrittenTestsCoverEveryMnemonic()
    {
        var covered = new HashSet<string>(Binary.Keys.Concat(Conditions.Keys)) { "neg", "not", "ldb", "ldw", "lddw", "ja", "ret", "jin", "jstreq", "jstrpfx", "jstrsfx", "jstrsub", "jswitch" }; // jswitch: JswitchTests
        Assert.DoesNotContain(InstructionSet.All, o => !covered.Contains(o.Mnemonic));
    }

    // ---- API properties ----

    [Fact]
    public void CompilingTheSameProgramTwiceReturnsTheSameFilter()
    {
        var p = Assemble(".verdict 1 \"\"\nret #1\n");
        var first = Filter.VM.Jit.Compile(p);
        Assert.Same(first, Filter.VM.Jit.Compile(p));
        Assert.Same(p, first.Program);
        Assert.NotEqual(0u, first.Run(new FRecord(Rec())));
    }

    [Fact]
    public void RunningAllocatesNothing()
    {
        var program = Engines.TestPrograms.CompileAndVerify(
            "syscall in (fork, vfork, clone, execve, __NR_exit, exit_group) && uid != 0 || exe startswith \"/tmp/\" || comm == \"bash\" || a0 in (1..3, 100000, 0x7fffffffffff..0x7fffffffffffff) || (a1 << a2) > 7");
        var filter = Filter.VM.Jit.Compile(program);
        byte[][] records = [Rec(1, 2, 3, "bash", "/tmp/x"), Rec(0, 70, 65, "ls", "/usr/bin/ls"), Rec(100000, 1, 1, "", new string('x', 4096))];
        uint sink = 0;
        for (int i = 0; i < 1000; i++) sink += filter.Run(new FRecord(records[i % 3]));
        Allocations.AssertNoneIn(() =>
        {
            for (int i = 0; i < 10_000; i++) sink += filter.Run(new FRecord(records[i % 3]));
        }, "10,000 JIT runs");
        Assert.True(sink > 0);
    }
}
