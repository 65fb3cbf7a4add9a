using System.Reflection;
using System.Runtime.CompilerServices;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Verifier;

/// <summary>
/// "Nothing executes unverified bytecode" holds by construction (spec/verifier.md, "What a verified program
/// is"): only the verifier can make a VerifiedProgram, whatever another assembly is named, and nothing
/// reachable from one can be changed after verification.
/// </summary>
public class VerifiedProgramTests
{
    private const string Source = "exe startswith \"/tmp/\" && syscall in (execve, 1000..1002)";

    [Fact]
    public void OnlyTheVerifiersOwnAssemblyCanConstructOne()
    {
        Assert.Empty(typeof(VerifiedProgram).GetConstructors(BindingFlags.Public | BindingFlags.Instance));
        Assert.All(typeof(VerifiedProgram).GetConstructors(BindingFlags.NonPublic | BindingFlags.Instance), c => Assert.True(c.IsAssembly));
        // No assembly of ours lends its internals to another by name: an assembly that calls itself
        // Filter.Verifier (or anything else) gets nothing.
        foreach (var assembly in new[] { typeof(VerifiedProgram).Assembly, typeof(Interpreter).Assembly, typeof(ProgramImage).Assembly })
            Assert.Empty(assembly.GetCustomAttributes<InternalsVisibleToAttribute>());
    }

    [Fact]
    public void NothingReachableFromAVerifiedProgramCanBeChanged()
    {
        var program = TestPrograms.CompileAndVerify(Source);
        var image = program.Image;
        Assert.NotEmpty(image.Sets);
        Assert.NotEmpty(image.Strings);
        // The attack of issue 15: cast the read-only views back to arrays and write through them.
        Assert.False(image.Code is Instruction[]);
        Assert.False(image.Keys is string[]);
        Assert.False(image.Sets is ValueSet[]);
        Assert.All(image.Sets, s => Assert.False(s.Ranges is ValueRange[]));
        AssertReadOnly(image.Code);
        AssertReadOnly(image.Keys);
        AssertReadOnly(image.Sets);
        AssertReadOnly(image.Strings);
        Assert.All(image.Sets, s => AssertReadOnly(s.Ranges));
        Assert.Throws<NotSupportedException>(() => ((ISet<string>)program.FieldsRead).Add("uid"));
    }

    [Fact]
    public void ChangingTheVerifiedBufferAfterwardsChangesNothing()
    {
        var bytes = TestPrograms.Compile(Source).Image!.Encode();
        var program = V.Verify(bytes).Program!;
        var builder = new RecordBuilder();
        builder.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        builder.SetU32(RecordLayout.Syscall, 59);
        builder.SetExe("/tmp/x");
        var record = builder.Build();
        var interpreter = RecordFilters.Create(program, EngineKind.Interpreter);
        var jit = RecordFilters.Create(program, EngineKind.Jit);
        Assert.Equal((1u, 1u), (interpreter.Run(new Record(record)), jit.Run(new Record(record))));

        // Overwrite the buffer the program was verified from: every instruction becomes `ret #0`.
        for (int at = ProgramImage.HeaderSize; at < ProgramImage.HeaderSize + program.InstructionCount * InstructionSet.InstructionSize; at += InstructionSet.InstructionSize)
            new Instruction(OpCode.Ret, 0, 0, 0, 0, 0).WriteTo(bytes.AsSpan(at));
        Assert.Equal((1u, 1u), (interpreter.Run(new Record(record)), jit.Run(new Record(record))));
        Assert.Equal(1u, RecordFilters.Create(program, EngineKind.Interpreter).Run(new Record(record)));
        Assert.False(program.Bytes.Span.SequenceEqual(bytes));
    }

    /// <summary>
    /// Threads asking at once for a derived form not built yet get one instance, built once (the workers
    /// of a parallel run all ask for the syscall table and the interpreter's steps as they start).
    /// </summary>
    [Fact]
    public void ADerivedFormIsBuiltOnceForThreadsAskingAtOnce()
    {
        var program = V.Verify(TestPrograms.Compile(Source).Image!.Encode()).Program!;
        int builds = 0;
        using var start = new Barrier(8);
        var forms = new object[8];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            forms[t] = program.Derived(_ =>
            {
                Interlocked.Increment(ref builds);
                Thread.Sleep(20); // long enough that the others ask while it is being built
                return new object();
            });
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(1, builds);
        Assert.All(forms, f => Assert.Same(forms[0], f));
        Assert.Same(forms[0], program.Derived<object>(_ => throw new InvalidOperationException("built again")));
    }

    private static void AssertReadOnly<T>(IReadOnlyList<T> list)
    {
        if (list is IList<T> writable) Assert.Throws<NotSupportedException>(() => writable[0] = default!);
        if (list is ICollection<T> collection) Assert.True(collection.IsReadOnly);
    }
}
