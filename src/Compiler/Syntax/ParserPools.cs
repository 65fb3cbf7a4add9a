using System.Buffers;
using Pidgin;
using Pidgin.Configuration;

namespace Filter.Compiler.Syntax;

/// <summary>
/// The parser's configuration: Pidgin's own for text, with arrays (the lists of what each failed alternative
/// expected: tens of thousands for a policy of a few dozen rules) from a pool of the parsing thread's own
/// that neither locks nor clears. With the shared pool, renting, returning and clearing them was a sixth of
/// compiling such a policy.
/// </summary>
internal sealed class ParserPools : IConfiguration<char>, IArrayPoolProvider
{
    public static ParserPools Instance { get; } = new();

    public Func<char, SourcePosDelta> SourcePosCalculator { get; } = CharDefaultConfiguration.Instance.SourcePosCalculator;

    public IArrayPoolProvider ArrayPoolProvider => this;

    public ArrayPool<T> GetArrayPool<T>() => PerThread<T>.Instance ??= new PerThread<T>();

    /// <summary>
    /// One thread's arrays of one element type, kept as returned (the parser overwrites what it reads): a
    /// stack of a few dozen, which is what one parse has out at once.
    /// </summary>
    private sealed class PerThread<T> : ArrayPool<T>
    {
        [ThreadStatic] public static PerThread<T>? Instance;

        private const int Kept = 64;
        private readonly T[][] _free = new T[Kept][];
        private int _count;

        public override T[] Rent(int minimumLength)
        {
            // The newest first: most rents ask for the same small size.
            for (int i = _count - 1; i >= 0 && i >= _count - 4; i--)
            {
                var array = _free[i];
                if (array.Length < minimumLength) continue;
                _free[i] = _free[--_count];
                _free[_count] = null!;
                return array;
            }
            return new T[minimumLength <= 16 ? 16 : minimumLength <= 1 << 30 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)minimumLength) : minimumLength];
        }

        public override void Return(T[] array, bool clearArray = false)
        {
            if (_count < Kept) _free[_count++] = array;
        }
    }
}
