using System.Buffers.Binary;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Op = System.Reflection.Emit.OpCodes;

using OpCode = Filter.Bytecode.OpCode;

namespace Filter.VM;

/// <summary>Called by the generated code for string constants too long to compare inline.</summary>
internal static class JitStrings
{
    /// <summary>
    /// The <c>constant.Length</c> bytes at <paramref name="at"/> equal the constant. The caller has checked
    /// that they lie inside the record.
    /// </summary>
    public static bool BytesEqual(ref byte at, byte[] constant) =>
        MemoryMarshal.CreateReadOnlySpan(ref at, constant.Length).SequenceEqual(constant);

    /// <summary>The <paramref name="length"/> bytes at <paramref name="at"/> (inside the record) contain the constant.</summary>
    public static bool Contains(ref byte at, int length, byte[] constant) =>
        MemoryMarshal.CreateReadOnlySpan(ref at, length).IndexOf(constant) >= 0;
}

/// <summary>
/// <c>jstreq</c> / <c>jstrpfx</c> / <c>jstrsfx</c>, inline (<c>jstrsub</c> checks the descriptor inline and calls
/// <see cref="JitStrings.Contains"/>): read the descriptor, check it as <see cref="Record.GetString"/>
/// does, then compare. The constant is known now, so most of the test is decided at compile time:
/// <list type="bullet">
/// <item>a constant longer than the field's maximum never matches (the field reads at most that many
///   bytes, or "" when malformed); a prefix test with "" always matches;</item>
/// <item>equality tests the length first (one compare rejects almost every record), then the
///   descriptor's bounds, then the bytes; a prefix or suffix test needs the whole descriptor valid (a
///   malformed one reads as "", which starts with no non-empty constant), then the constant's bytes at
///   the string's start or end;</item>
/// <item>"" equals the field exactly when its length is 0 or the descriptor is malformed;</item>
/// <item>up to <see cref="InlineCompareBytes"/> bytes are compared as one or two integer loads against
///   immediates (overlapping when the length is not a power of two); longer constants call
///   <see cref="JitStrings.BytesEqual"/> (a vectorised span compare).</item>
/// </list>
/// This restates in IL the descriptor rule of <see cref="Record.GetString"/> (which the interpreter uses
/// through <see cref="Semantics.StringField"/>): a call per test to that definition cost more than the
/// rest of the filter. Tests hold the two together: tests/Filter.Tests/Jit/JitTests.StringTests and
/// Batch/JitStringTests compare both engines, on one record and in batches, for every constant length
/// up to past the inline limit, on malformed descriptors (over-long, inside the header, ending one byte
/// past the record, pointing into the next record of a batch).
/// </summary>
internal sealed partial class JitEmitter
{
    public const int InlineCompareBytes = 16;

    private LocalBuilder? _stringOffset, _stringLength;

    private Emitted EmitStringTest(int pc, ExecInstruction i)
    {
        bool prefix = i.Op != OpCode.JstrEq, suffix = i.Op == OpCode.JstrSuffix;
        byte[] constant = program.Strings[(int)i.Imm];
        int max = RecordLayout.StringAt(i.A)!.MaxLength;
        Label yes = _labels[i.True], no = _labels[i.False];
        if (constant.Length > max) { il.Emit(Op.Br, no); return default; }
        if (constant.Length == 0 && prefix) { il.Emit(Op.Br, yes); return default; }

        var (offset, length) = LoadDescriptor(i);
        if (constant.Length == 0)
        {
            // Equal to "": the field is empty, or malformed (reads as "").
            il.Emit(Op.Ldloc, length);
            il.Emit(Op.Brfalse, yes);
            EmitDescriptorChecks(offset, length, max, malformed: yes);
            il.Emit(Op.Br, no);
            return default;
        }
        il.Emit(Op.Ldloc, length);
        il.Emit(Op.Ldc_I4, constant.Length);
        if (prefix)
        {
            il.Emit(Op.Blt, no);
            EmitDescriptorChecks(offset, length, max, malformed: no);
            if (suffix)
            {
                // The constant's bytes end where the string does: offset += length - n.
                il.Emit(Op.Ldloc, offset);
                il.Emit(Op.Ldloc, length);
                il.Emit(Op.Add);
                il.Emit(Op.Ldc_I4, constant.Length);
                il.Emit(Op.Sub);
                il.Emit(Op.Stloc, offset);
            }
        }
        else
        {
            // length == constant.Length <= max: only the offset is left to check.
            il.Emit(Op.Bne_Un, no);
            EmitOffsetChecks(offset, constant.Length, malformed: no);
        }
        EmitBytesEqual(offset, constant, (int)i.Imm, yes, no);
        GoTo(pc, i.False);
        return default;
    }

    /// <summary>
    /// <c>jstrsub</c>: "" is contained in every value; a longer constant than the field can hold in none; else the
    /// descriptor must be valid (a malformed one reads as "", which contains no non-empty constant) and the
    /// search runs out of line.
    /// </summary>
    private Emitted EmitContains(int pc, ExecInstruction i)
    {
        byte[] constant = program.Strings[(int)i.Imm];
        int max = RecordLayout.StringAt(i.A)!.MaxLength;
        Label yes = _labels[i.True], no = _labels[i.False];
        if (constant.Length > max) { il.Emit(Op.Br, no); return default; }
        if (constant.Length == 0) { il.Emit(Op.Br, yes); return default; }
        var (offset, length) = LoadDescriptor(i);
        il.Emit(Op.Ldloc, length);
        il.Emit(Op.Ldc_I4, constant.Length);
        il.Emit(Op.Blt, no);
        EmitDescriptorChecks(offset, length, max, malformed: no);
        StringAddress(offset, 0);
        il.Emit(Op.Ldloc, length);
        il.Emit(Op.Ldarg_0);
        il.Emit(Op.Ldfld, typeof(JitConstants).GetField(nameof(JitConstants.Strings))!);
        il.Emit(Op.Ldc_I4, (int)i.Imm);
        il.Emit(Op.Ldelem_Ref);
        il.Emit(Op.Call, typeof(JitStrings).GetMethod(nameof(JitStrings.Contains))!);
        il.Emit(Op.Brtrue, yes);
        GoTo(pc, i.False);
        return default;
    }

    /// <summary>Reads the string field's descriptor into the offset and length locals.</summary>
    private (LocalBuilder Offset, LocalBuilder Length) LoadDescriptor(ExecInstruction i)
    {
        // offset = d & 0xffff; length = d >> 16, where d is the u32 descriptor.
        var offset = _stringOffset ??= il.DeclareLocal(typeof(int));
        var length = _stringLength ??= il.DeclareLocal(typeof(int));
        LoadRecord();
        il.Emit(Op.Ldc_I4, (int)i.A);
        il.Emit(Op.Add);
        il.Emit(Op.Unaligned, (byte)1);
        il.Emit(Op.Ldind_U4);
        il.Emit(Op.Dup);
        il.Emit(Op.Ldc_I4, 0xFFFF);
        il.Emit(Op.And);
        il.Emit(Op.Stloc, offset);
        il.Emit(Op.Ldc_I4_S, (sbyte)16);
        il.Emit(Op.Shr_Un);
        il.Emit(Op.Stloc, length);
        return (offset, length);
    }

    /// <summary>Branches to <paramref name="malformed"/> unless the descriptor is valid (spec/record.md).</summary>
    private void EmitDescriptorChecks(LocalBuilder offset, LocalBuilder length, int max, Label malformed)
    {
        il.Emit(Op.Ldloc, length);
        il.Emit(Op.Ldc_I4, max);
        il.Emit(Op.Bgt, malformed);
        il.Emit(Op.Ldloc, offset);
        il.Emit(Op.Ldc_I4, RecordLayout.HeaderSize);
        il.Emit(Op.Blt, malformed);
        il.Emit(Op.Ldloc, offset);
        il.Emit(Op.Ldloc, length);
        il.Emit(Op.Add);
        LoadLength();
        il.Emit(Op.Bgt, malformed);
    }

    /// <summary>The offset checks for a length known to be <paramref name="length"/> (both at most 65535: no overflow).</summary>
    private void EmitOffsetChecks(LocalBuilder offset, int length, Label malformed)
    {
        il.Emit(Op.Ldloc, offset);
        il.Emit(Op.Ldc_I4, RecordLayout.HeaderSize);
        il.Emit(Op.Blt, malformed);
        il.Emit(Op.Ldloc, offset);
        il.Emit(Op.Ldc_I4, length);
        il.Emit(Op.Add);
        LoadLength();
        il.Emit(Op.Bgt, malformed);
    }

    /// <summary>
    /// Branches to <paramref name="yes"/> when the bytes at <c>record + offset</c> equal the constant, else
    /// falls through (or branches to <paramref name="no"/>). The caller has proved they lie in the record.
    /// </summary>
    private void EmitBytesEqual(LocalBuilder offset, byte[] constant, int stringIndex, Label yes, Label no)
    {
        if (constant.Length > InlineCompareBytes)
        {
            StringAddress(offset, 0);
            il.Emit(Op.Ldarg_0);
            il.Emit(Op.Ldfld, typeof(JitConstants).GetField(nameof(JitConstants.Strings))!);
            il.Emit(Op.Ldc_I4, stringIndex);
            il.Emit(Op.Ldelem_Ref);
            il.Emit(Op.Call, typeof(JitStrings).GetMethod(nameof(JitStrings.BytesEqual))!);
            il.Emit(Op.Brtrue, yes);
            return;
        }
        var chunks = Chunks(constant.Length);
        for (int c = 0; c < chunks.Length; c++)
        {
            var (at, width) = chunks[c];
            StringAddress(offset, at);
            if (width > 1) il.Emit(Op.Unaligned, (byte)1);
            var bytes = constant.AsSpan(at, width);
            switch (width)
            {
                case 1: il.Emit(Op.Ldind_U1); il.Emit(Op.Ldc_I4, (int)bytes[0]); break;
                case 2: il.Emit(Op.Ldind_U2); il.Emit(Op.Ldc_I4, (int)BinaryPrimitives.ReadUInt16LittleEndian(bytes)); break;
                case 4: il.Emit(Op.Ldind_U4); il.Emit(Op.Ldc_I4, unchecked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes))); break;
                default: il.Emit(Op.Ldind_I8); il.Emit(Op.Ldc_I8, BinaryPrimitives.ReadInt64LittleEndian(bytes)); break;
            }
            if (c < chunks.Length - 1) il.Emit(Op.Bne_Un, no);
            else il.Emit(Op.Beq, yes);
        }
    }

    /// <summary>Loads (position, width) covering 0..length, the last overlapping the first when needed.</summary>
    private static (int At, int Width)[] Chunks(int length) => length switch
    {
        1 or 2 or 4 or 8 => [(0, length)],
        3 => [(0, 2), (1, 2)],
        < 8 => [(0, 4), (length - 4, 4)],
        _ => [(0, 8), (length - 8, 8)],
    };

    /// <summary>Pushes <c>ref record[offset + at]</c>.</summary>
    private void StringAddress(LocalBuilder offset, int at)
    {
        LoadRecord();
        il.Emit(Op.Ldloc, offset);
        if (at != 0) { il.Emit(Op.Ldc_I4, at); il.Emit(Op.Add); }
        il.Emit(Op.Conv_I);
        il.Emit(Op.Add);
    }
}
