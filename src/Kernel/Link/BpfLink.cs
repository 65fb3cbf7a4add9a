using Filter.Kernel.Programs;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Link;

/// <summary>
/// A program attached to a hook, held by the link's descriptor: detached when disposed, or by the kernel
/// when the process ends however it ends (a link nobody pinned lives only as long as its descriptors).
/// </summary>
public sealed class BpfLink : IDisposable
{
    public KernelFd Fd { get; }
    public string Hook { get; }

    private BpfLink(KernelFd fd, string hook)
    {
        Fd = fd;
        Hook = hook;
    }

    /// <summary>
    /// Attaches a BTF-typed tracepoint program (<c>tp_btf</c>, loaded with its hook's BTF id): with
    /// BPF_LINK_CREATE, or where this kernel does not take that for raw tracepoints, BPF_RAW_TRACEPOINT_OPEN
    /// without a name (the program names its hook).
    /// </summary>
    public static KernelResult<BpfLink> AttachTracing(BpfProgram program, string hook)
    {
        var attr = new LinkCreateAttr { ProgFd = (uint)program.Fd.Value, AttachType = (uint)program.Spec.ExpectedAttachType };
        int fd = Bpf.Call(BpfCommand.LinkCreate, ref attr);
        if (fd >= 0) return new BpfLink(new KernelFd(fd), hook);
        var open = new RawTracepointAttr { ProgFd = (uint)program.Fd.Value };
        fd = Bpf.Call(BpfCommand.RawTracepointOpen, ref open);
        return fd >= 0 ? new BpfLink(new KernelFd(fd), hook) : KernelError.FromErrno($"attach the BPF program '{program.Spec.Name}' to {hook}", -fd);
    }

    public void Dispose() => Fd.Dispose();
}
