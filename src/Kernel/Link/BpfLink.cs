using System.Text;
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

    /// <summary>Attaches a raw tracepoint program (<c>raw_tracepoint</c>) to the tracepoint <paramref name="name"/>.</summary>
    public static unsafe KernelResult<BpfLink> AttachRawTracepoint(BpfProgram program, string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = bytes)
        {
            var attr = new RawTracepointAttr { Name = (ulong)p, ProgFd = (uint)program.Fd.Value };
            int fd = Bpf.Call(BpfCommand.RawTracepointOpen, ref attr);
            return fd >= 0 ? new BpfLink(new KernelFd(fd), name) : KernelError.FromErrno($"attach the BPF program '{program.Spec.Name}' to raw tracepoint {name}", -fd);
        }
    }

    public void Dispose() => Fd.Dispose();
}
