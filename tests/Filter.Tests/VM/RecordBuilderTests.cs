using Filter.VM;
using Xunit;

namespace Filter.Tests.VM;

public class RecordBuilderTests
{
    /// <summary>A built record includes the whole comm slot: its bytes past comm are zeros, never an earlier comm's.</summary>
    [Fact]
    public void ABuiltRecordIsAFunctionOfItsFieldsAlone()
    {
        var fresh = new RecordBuilder();
        fresh.SetComm("ls");
        byte[] expected = fresh.ToArray();

        var reused = new RecordBuilder();
        reused.SetComm("a-long-command");
        reused.SetComm("ls");
        Assert.Equal(expected, reused.ToArray());

        reused.SetComm("a-long-command");
        reused.Clear();
        reused.SetComm("ls");
        Assert.Equal(expected, reused.ToArray());
    }
}
