namespace Filter.Bytecode;

/// <summary>
/// Opcodes. Values are the encoding; <see cref="InstructionSet"/> holds everything else about each
/// (operands, jumps, mnemonic), so adding an opcode means adding one row there.
/// </summary>
public enum OpCode : byte
{
    Ret = 0x01,

    Ldb = 0x10, Ldw, Lddw,

    MovK = 0x20, MovX,
    AddK, AddX, SubK, SubX,
    AndK, AndX, OrK, OrX, XorK, XorX,
    LshK, LshX, RshK, RshX, ArshK, ArshX,
    Neg, Not,

    Ja = 0x40,
    JeqK, JeqX, JgtK, JgtX, JgeK, JgeX,
    JsgtK, JsgtX, JsgeK, JsgeX, JsetK, JsetX,
    Jin,
    JstrEq, JstrPrefix,
    JstrSuffix, JstrContains,
    Jswitch,
}
