using System.Reflection;
using System.Reflection.Emit;
using Op = System.Reflection.Emit.OpCodes;

using OpCode = Filter.Bytecode.OpCode;

namespace Filter.VM;

/// <summary>
/// Translates one verified program to IL, one instruction at a time in pc order. Each register used is
/// one <c>ulong</c> IL local (the runtime JIT enregisters them); each pc has a label, so a bytecode jump
/// is one IL branch. Argument 0 is always <see cref="JitConstants"/>. The same body is emitted into two
/// frames: <see cref="EmitProgram"/> (one record: argument 1 = <c>ref byte</c> record, 2 = its length,
/// <c>ret k</c> returns k) and the batch loop of <c>JitBatch.cs</c> (the record and its length are
/// locals, <c>ret k</c> stores k and goes to the next record). Only <see cref="LoadRecord"/>,
/// <see cref="LoadLength"/> and <see cref="EmitReturn"/> know the frame.
/// Set membership is in <c>JitSets.cs</c>, strings in <c>JitStrings.cs</c>, jump tables in <c>JitSwitch.cs</c>.
/// </summary>
internal sealed partial class JitEmitter(ProgramForm program, ILGenerator il)
{
    private readonly LocalBuilder?[] _registers = new LocalBuilder?[InstructionSet.RegisterCount];
    private readonly Label[] _labels = new Label[program.Exec.Length];

    /// <summary>Words of the bitmap sets inlined so far (become <see cref="JitConstants.BitmapWords"/>).</summary>
    public List<ulong> BitmapWords { get; } = [];

    /// <summary>The single-record frame: the program is the whole method.</summary>
    public void EmitProgram() => EmitBody();

    private void EmitBody()
    {
        for (int pc = 0; pc < _labels.Length; pc++) _labels[pc] = il.DefineLabel();
        for (int pc = 0; pc < _labels.Length; pc++)
        {
            il.MarkLabel(_labels[pc]);
            EmitInstruction(pc, program.Exec[pc]);
        }
    }

    /// <summary>Pushes the <c>ref byte</c> to the current record's first byte.</summary>
    private void LoadRecord()
    {
        if (_batch is { } b) il.Emit(Op.Ldloc, b.Record);
        else il.Emit(Op.Ldarg_1);
    }

    /// <summary>Pushes the current record's length (an int).</summary>
    private void LoadLength()
    {
        if (_batch is { } b) il.Emit(Op.Ldloc, b.Length);
        else il.Emit(Op.Ldarg_2);
    }

    private Emitted EmitReturn(int pc, uint verdict)
    {
        if (_batch is not null) EmitBatchReturn(pc, verdict);
        else { il.Emit(Op.Ldc_I4, unchecked((int)verdict)); il.Emit(Op.Ret); }
        return default;
    }

    /// <summary>
    /// The translation table: one arm per opcode. A switch expression with no default arm, so that a new
    /// opcode without a translation is a compile error (CS8509), not a failing test.
    /// </summary>
    private void EmitInstruction(int pc, ExecInstruction i) => _ = i.Op switch
    {
        OpCode.Ret => EmitReturn(pc, (uint)i.Imm),

        OpCode.Ldb => EmitLoad(i, Op.Ldind_U1),
        OpCode.Ldw => EmitLoad(i, Op.Ldind_U4),
        OpCode.Lddw => EmitLoad(i, Op.Ldind_I8),

        OpCode.MovK => EmitMove(i, constant: true),
        OpCode.MovX => EmitMove(i, constant: false),
        OpCode.AddK or OpCode.AddX => EmitAlu(i, Op.Add), // IL add/sub/neg wrap (no .ovf)
        OpCode.SubK or OpCode.SubX => EmitAlu(i, Op.Sub),
        OpCode.AndK or OpCode.AndX => EmitAlu(i, Op.And),
        OpCode.OrK or OpCode.OrX => EmitAlu(i, Op.Or),
        OpCode.XorK or OpCode.XorX => EmitAlu(i, Op.Xor),
        OpCode.LshK or OpCode.RshK or OpCode.ArshK => EmitShiftK(i),
        OpCode.LshX => EmitShiftX(i, nameof(Semantics.Lsh)),
        OpCode.RshX => EmitShiftX(i, nameof(Semantics.Rsh)),
        OpCode.ArshX => EmitShiftX(i, nameof(Semantics.Arsh)),
        OpCode.Neg => EmitUnary(i, Op.Neg),
        OpCode.Not => EmitUnary(i, Op.Not),

        OpCode.Ja => EmitJump(pc, i.True),
        OpCode.JeqK or OpCode.JeqX => EmitCompare(pc, i, Op.Beq),
        OpCode.JgtK or OpCode.JgtX => EmitCompare(pc, i, Op.Bgt_Un),
        OpCode.JgeK or OpCode.JgeX => EmitCompare(pc, i, Op.Bge_Un),
        OpCode.JsgtK or OpCode.JsgtX => EmitCompare(pc, i, Op.Bgt),
        OpCode.JsgeK or OpCode.JsgeX => EmitCompare(pc, i, Op.Bge),
        OpCode.JsetK or OpCode.JsetX => EmitJset(pc, i),
        OpCode.Jin => EmitJin(pc, i),
        OpCode.JstrEq or OpCode.JstrPrefix or OpCode.JstrSuffix => EmitStringTest(pc, i),
        OpCode.JstrContains => EmitContains(pc, i),
        OpCode.Jswitch => EmitSwitch(pc, i),
    };

    /// <summary>What an arm of <see cref="EmitInstruction"/> yields: the IL is written, nothing is returned.</summary>
    private readonly struct Emitted;

    private Emitted EmitMove(ExecInstruction i, bool constant)
    {
        if (constant) Const(i.Imm);
        else Load(i.B);
        Store(i.A);
        return default;
    }

    private Emitted EmitUnary(ExecInstruction i, System.Reflection.Emit.OpCode op)
    {
        Load(i.A);
        il.Emit(op);
        Store(i.A);
        return default;
    }

    private Emitted EmitJump(int pc, int target)
    {
        GoTo(pc, target);
        return default;
    }

    /// <summary>rA = field at a constant offset. The record may start anywhere in a buffer: unaligned.</summary>
    private Emitted EmitLoad(ExecInstruction i, System.Reflection.Emit.OpCode load)
    {
        LoadRecord();
        if (i.Imm != 0) { il.Emit(Op.Ldc_I4, (int)i.Imm); il.Emit(Op.Add); }
        if (load != Op.Ldind_U1) il.Emit(Op.Unaligned, (byte)1);
        il.Emit(load);
        if (load != Op.Ldind_I8) il.Emit(Op.Conv_U8); // zero-extend u8/u32
        Store(i.A);
        return default;
    }

    private Emitted EmitAlu(ExecInstruction i, System.Reflection.Emit.OpCode op)
    {
        Load(i.A);
        Operand(i);
        il.Emit(op);
        Store(i.A);
        return default;
    }

    /// <summary>
    /// A constant count is decided now: below 64 it is one IL shift (whose count the CLR would mask to 6
    /// bits, harmless here); from 64 up the mathematical result is 0, or the sign fill for arsh.
    /// </summary>
    private Emitted EmitShiftK(ExecInstruction i)
    {
        bool arsh = i.Op == OpCode.ArshK;
        if (i.Imm >= 64 && !arsh) { Const(0); Store(i.A); return default; }
        int count = (int)Math.Min(i.Imm, 63);
        Load(i.A);
        il.Emit(Op.Ldc_I4, count);
        il.Emit(i.Op switch { OpCode.LshK => Op.Shl, OpCode.RshK => Op.Shr_Un, _ => Op.Shr });
        Store(i.A);
        return default;
    }

    /// <summary>A register count needs the run-time test: call the shared definition (inlined by the JIT).</summary>
    private Emitted EmitShiftX(ExecInstruction i, string semantics)
    {
        Load(i.A);
        Load(i.B);
        il.Emit(Op.Call, typeof(Semantics).GetMethod(semantics, BindingFlags.Public | BindingFlags.Static, [typeof(ulong), typeof(ulong)])!);
        Store(i.A);
        return default;
    }

    /// <summary>ble/blt and friends do not exist in the bytecode; the IL branch goes to jt, then br to jf.</summary>
    private Emitted EmitCompare(int pc, ExecInstruction i, System.Reflection.Emit.OpCode branch)
    {
        Load(i.A);
        Operand(i);
        il.Emit(branch, _labels[i.True]);
        GoTo(pc, i.False);
        return default;
    }

    private Emitted EmitJset(int pc, ExecInstruction i)
    {
        Load(i.A);
        Operand(i);
        il.Emit(Op.And);
        il.Emit(Op.Brtrue, _labels[i.True]); // brtrue tests the whole int64
        GoTo(pc, i.False);
        return default;
    }

    /// <summary>Branch to <paramref name="target"/> unless it is the next instruction (fall through).</summary>
    private void GoTo(int pc, int target)
    {
        if (target != pc + 1) il.Emit(Op.Br, _labels[target]);
    }

    /// <summary>Pushes the second operand: the immediate for K forms, register B for X forms.</summary>
    private void Operand(ExecInstruction i)
    {
        if (InstructionSet.Get(i.Op).IsX) Load(i.B);
        else Const(i.Imm);
    }

    private void Const(ulong value) => il.Emit(Op.Ldc_I8, unchecked((long)value));

    private LocalBuilder Register(byte index) => _registers[index] ??= il.DeclareLocal(typeof(ulong));
    private void Load(byte register) => il.Emit(Op.Ldloc, Register(register));
    private void Store(byte register) => il.Emit(Op.Stloc, Register(register));
}
