"""Raw system calls for workload.py: x86_64 through libc's syscall(), i386 through `int $0x80`.

An i386 call made with `int $0x80` from this 64-bit process enters the kernel's ia32 entry: audit logs it
as arch=40000003 with the i386 number, which is how rules with -F arch=b32 are exercised. Its pointer
arguments must lie below 4 GiB, so strings and pointer arrays for them are copied to a low page.
Every call returns (result, errno name or "ok").
"""
import ctypes
import errno as E
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]


def outcome(ret, err):
    return ret, "ok" if ret >= 0 else E.errorcode.get(err, str(err))


def x64(nr, *args):
    """syscall(nr, args...); pointers are passed as integers (ctypes.addressof, low() or buffers' addresses)."""
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return outcome(ret, ctypes.get_errno())


def cstr(s):
    """A NUL-terminated buffer for s and its address (keep the buffer alive while the address is used)."""
    b = ctypes.create_string_buffer(s.encode() if isinstance(s, str) else s)
    _keep.append(b)
    return ctypes.addressof(b)


_keep = []

# the int $0x80 trampoline: rdi=nr, rsi..r9 = ebx ecx edx esi edi. The kernel's compat entry does not
# keep r8-r15 of a 64-bit caller (they come back zero), so the callee-saved ones are saved here.
_PROT_RWX, _MAP_PRIVATE_ANON_32BIT = 7, 0x02 | 0x20 | 0x40
_page = libc.mmap(None, 65536, _PROT_RWX, _MAP_PRIVATE_ANON_32BIT, -1, 0)
assert _page and _page < 2 ** 32, "no low mapping for i386 calls"
_code = bytes([
    0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,   # push rbx rbp r12 r13 r14 r15
    0x48, 0x89, 0xf8,       # mov rax, rdi   (nr)
    0x48, 0x89, 0xf3,       # mov rbx, rsi   (a0)
    0x49, 0x89, 0xca,       # mov r10, rcx   (a2)
    0x48, 0x89, 0xd1,       # mov rcx, rdx   (a1)
    0x4c, 0x89, 0xd2,       # mov rdx, r10   (a2)
    0x4c, 0x89, 0xc6,       # mov rsi, r8    (a3)
    0x4c, 0x89, 0xcf,       # mov rdi, r9    (a4)
    0xcd, 0x80,             # int 0x80
    0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b,   # pop r15 r14 r13 r12 rbp rbx
    0xc3,                   # ret
])
ctypes.memmove(_page, _code, len(_code))
_int80 = ctypes.CFUNCTYPE(ctypes.c_long, *[ctypes.c_long] * 6)(_page)
_next = [_page + 256]


def i386_works():
    """Whether `int $0x80` works here (it faults on some hypervisors, e.g. PVM guests): tried in a child."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _int80(20, 0, 0, 0, 0, 0) == os.getpid() else 1)
    _, st = os.waitpid(pid, 0)
    return os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


# run.py tries i386_works() outside the audited session and tells the workload
I386 = os.environ.get("FILTERC_I386", "1") == "1"


def i386(nr, *args):
    a = list(args) + [0] * (5 - len(args))
    ret = ctypes.c_int32(_int80(nr, *a) & 0xffffffff).value   # the i386 result is 32 bits wide
    return outcome(ret, -ret) if -4096 < ret < 0 else (ret, "ok")


def low(data):
    """data (str: NUL-terminated; bytes: as is) copied below 4 GiB; its address."""
    b = data.encode() + b"\0" if isinstance(data, str) else data
    addr = _next[0]
    assert addr + len(b) < _page + 65536, "low page full"
    ctypes.memmove(addr, b, len(b))
    _next[0] += (len(b) + 15) & ~15
    return addr


def low_argv(words):
    """A NULL-terminated array of 32-bit pointers to the words, below 4 GiB (for an i386 execve)."""
    ptrs = [low(w) for w in words] + [0]
    return low(b"".join(p.to_bytes(4, "little") for p in ptrs))
