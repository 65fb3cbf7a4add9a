#!/usr/bin/python3 -S
"""workload.py TMPDIR -- the system calls of the auditctl-import kernel differential.

run.sh runs this as root, with no supplementary groups, in a fresh audit session
(loginuid 4244), under the rules of rules.rules. It makes at least one call that
each rule of rules.rules decides (never rules included: run.sh's second pass turns
them into always rules), and nothing else of note. Everything is harmless: the
privileged calls (clock_settime, sethostname, mount, finit_module, delete_module,
ptrace) all fail (EFAULT, EINVAL, ENOENT, EBADF, ESRCH) before doing anything.
i386 calls are made with `int $0x80` from this 64-bit process (the kernel's ia32
entry; audit logs them as arch=40000003 with i386 numbers).
"""
import ctypes, os, signal, socket, sys

T = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sys64(nr, *args):
    return libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
def attempt(f, *a):
    try:
        return f(*a)
    except OSError:
        return None

# ---- an int $0x80 trampoline and strings below 4 GiB (i386 calls take 32-bit pointers)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
PROT_RWX, MAP_PRIVATE_ANON_32BIT = 7, 0x02 | 0x20 | 0x40
page = libc.mmap(None, 4096, PROT_RWX, MAP_PRIVATE_ANON_32BIT, -1, 0)
assert page and page < 2**32, "no low mapping for i386 calls"
code = bytes([
    0x53,                   # push rbx
    0x48, 0x89, 0xf8,       # mov rax, rdi   (nr)
    0x48, 0x89, 0xf3,       # mov rbx, rsi   (a0)
    0x49, 0x89, 0xca,       # mov r10, rcx   (a2)
    0x48, 0x89, 0xd1,       # mov rcx, rdx   (a1)
    0x4c, 0x89, 0xd2,       # mov rdx, r10   (a2)
    0x4c, 0x89, 0xc6,       # mov rsi, r8    (a3)
    0x4c, 0x89, 0xcf,       # mov rdi, r9    (a4)
    0xcd, 0x80,             # int 0x80
    0x5b,                   # pop rbx
    0xc3,                   # ret
])
ctypes.memmove(page, code, len(code))
_int80 = ctypes.CFUNCTYPE(ctypes.c_long, *[ctypes.c_long] * 6)(page)
def sys32(nr, *args):
    a = list(args) + [0] * (5 - len(args))
    return _int80(nr, *a)
_next = [page + 256]
def low_string(s):
    b = s.encode() + b"\0"
    addr = _next[0]
    ctypes.memmove(addr, b, len(b))
    _next[0] += (len(b) + 15) & ~15
    return addr
AT_FDCWD32 = 0xffffff9c
O_CREAT, O_WRONLY, O_NOATIME = 0o100, 0o1, 0o1000000

def run_child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

# ---- 1. root, uid 0 (auid 4244) ---------------------------------------------
os.getrandom(16)                                              # -A entropy
os.getpid(); os.getppid()                                     # never: getpid,getppid,gettid
fd = os.memfd_create("filterc"); os.close(fd)                 # anon_file_create
attempt(os.close, 9999)                                       # never: close EBADF
os.close(os.open(T + "/f", os.O_WRONLY | os.O_CREAT, 0o644))  # close success: close-or-exit
buf = ctypes.create_string_buffer(512)
sys64(159, ctypes.addressof(buf))                             # adjtimex (modes 0: read only)
sys64(164, 0, 0)                                              # settimeofday(NULL, NULL): no change
sys64(227, 0, 0)                                              # clock_settime(CLOCK_REALTIME, NULL): EFAULT
sys64(227, 1, 0)                                              # clock_settime(CLOCK_MONOTONIC, NULL): a0 != 0
sys32(264, 0, 0)                                              # i386 clock_settime(0, NULL): EFAULT
sys64(170, ctypes.addressof(buf), 100)                        # sethostname(.., 100): EINVAL
for req in (4, 5, 6, 16):                                     # POKETEXT POKEDATA POKEUSER ATTACH: ESRCH
    sys64(101, req, 999999, 0, 0)
sys64(313, -1, ctypes.addressof(buf), 0)                      # finit_module(-1): EBADF
name = ctypes.create_string_buffer(b"filterc_no_such_module")
sys64(176, ctypes.addressof(name), 0o4000)                    # delete_module: ENOENT
src, dst, fst = (ctypes.create_string_buffer(s) for s in (b"none", b"/nonexistent-filterc", b"tmpfs"))
sys64(165, ctypes.addressof(src), ctypes.addressof(dst), ctypes.addressof(fst), 0, 0)   # mount: ENOENT
os.chmod(T + "/f", 0o600)                                     # successful-perm-change
os.chown(T + "/f", 0, 0)                                      # perm_mod
sys32(15, low_string(T + "/f"), 0o640)                        # i386 chmod: perm_mod (b32)
sys32(20)                                                     # i386 getpid: 32bit-abi
sys32(257, 0, 0, 0, 0, 0)                                     # i386 257 = remap_file_pages: EINVAL (openat's x86_64 number)
sys32(6, 9999)                                                # i386 close(9999): EBADF
os.rename(T + "/f", T + "/g")                                 # delete
os.unlink(T + "/g")                                           # delete
attempt(os.open, T + "/nonexistent", os.O_RDONLY)             # openat ENOENT: openat-fail-host-numbers
os.lseek(os.open("/etc/passwd", os.O_RDONLY), 0, 0)
attempt(os.lseek, 0, 0, 99)                                   # lseek whence 99: EINVAL
signal.signal(signal.SIGUSR1, lambda *_: None)
os.kill(os.getpid(), signal.SIGUSR1)                          # signals; the handler returns: rt_sigreturn
os.kill(os.getpid(), 0)                                       # -S 62 -F a1=0: kill-probe
# network: a loopback connection (connect a2=16 succeeds; accept4)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)       # a1 has SOCK_CLOEXEC
srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cli.connect(srv.getsockname())
conn, _ = srv.accept()
conn.close(); cli.close(); srv.close()
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
attempt(u.connect, T + "/no-socket")                          # connect a2 != 16, fails: external-access
u.close()
# mmap/munmap successes (never pass: mmap,mprotect,munmap,brk success for auid >= 1000)
m = libc.mmap(None, 8192, 3, 0x22, -1, 0); libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]; libc.munmap(m, 8192)
# execs: /bin/cat (exe=/bin/cat is /usr/bin/cat), /usr/bin/true (never: exe=/usr/bin/true)
for argv in (["/bin/cat", "/dev/null"], ["/usr/bin/true"]):
    pid = os.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    os.waitpid(pid, 0)

# ---- 2. uid 1000 gid 1001: failures --------------------------------------------
def unprivileged():
    os.setresgid(1001, 1001, 1001)                            # setid, T1548
    os.setresuid(1000, 1000, 1000)
    attempt(os.open, "/etc/filterc-create", os.O_WRONLY | os.O_CREAT, 0o644)   # openat O_CREAT EACCES
    path = ctypes.create_string_buffer(b"/etc/filterc-create2")
    sys64(2, ctypes.addressof(path), O_WRONLY | O_CREAT, 0o644)  # open(2) a1&O_CREAT EACCES
    sys32(295, AT_FDCWD32, low_string("/etc/filterc-create32"), O_WRONLY | O_CREAT, 0o644)             # i386 openat O_CREAT EACCES
    attempt(os.open, "/etc/shadow", os.O_RDONLY)              # EACCES: unsuccessful-access
    attempt(os.open, "/etc/passwd", os.O_RDONLY | O_NOATIME)  # EPERM: unsuccessful-access (auid!=-1)
    attempt(os.setuid, 0)                                     # EPERM: setid (first), not eperm
    root = ctypes.create_string_buffer(b"/")
    sys64(161, ctypes.addressof(root))                        # chroot: EPERM: eperm
    attempt(os.kill, 1, 0)                                    # EPERM, but a1=0: kill-probe comes first
    attempt(os.open, "/nonexistent-filterc", os.O_RDONLY)     # openat ENOENT with gid 1001: gid-openat-fail
    attempt(os.stat, "/etc/shadow/x")                         # ENOTDIR: failed
    m = libc.mmap(None, 8192, 3, 0x22, -1, 0)                 # mmap success, auid >= 1000: never (pass 2)
run_child(unprivileged)

# ---- 3. set-id programs: uid != euid = 0, then gid != egid = 0 -----------------
def setuid_exec():
    os.setresuid(1000, 0, 0)
    os.execv("/usr/bin/id", ["id", "-u"])
def setgid_exec():
    os.setresgid(1001, 0, 0)
    os.execv("/usr/bin/id", ["id", "-g"])
for f in (setuid_exec, setgid_exec):
    run_child(f)
