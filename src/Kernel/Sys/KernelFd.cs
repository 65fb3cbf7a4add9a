using System.Runtime.InteropServices;

namespace Filter.Kernel.Sys;

/// <summary>
/// A file descriptor of a kernel object (map, program, link, BTF): closed exactly once, when disposed or
/// finalized, so that whatever it holds is released however the process leaves the code that made it. A
/// program stays attached only while its link's descriptor is open, so nothing outlives the process.
/// </summary>
public sealed class KernelFd : SafeHandle
{
    public KernelFd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    /// <summary>The descriptor number (valid until disposed).</summary>
    public int Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (int)handle;
        }
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
