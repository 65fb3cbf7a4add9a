#!/bin/bash
# workload.sh TMPDIR
#
# What runs under the kernel's audit rules for the LOCAL oracle cases
# (tools/oracle/gen.sh runs it with a fixed loginuid, so the catch-all rule
# `-F auid=<AUID> -S all` logs every syscall it makes).  Derived from the
# public oracle's workload.sh, but kept lean -- about 800 syscalls, so each
# case log stays near 1 MB -- and extended so that every local case has
# matches: shell redirections (open flags 0x241 / 0x441), failing calls
# (ENOENT, EACCES, EPERM, ESRCH, EEXIST, ENOTDIR, EBADF, ECONNREFUSED),
# set*id calls that make uid/euid/suid/fsuid and gid/egid/sgid/fsgid differ,
# signals, execve of several binaries (and failing execve), a raw exit(2).
#
# Deterministic in shape (same programs, same order, same arguments); the
# exact number of syscalls still varies a little from run to run.
# Everything is local: files under TMPDIR, loopback only.
set -u
export PATH=/usr/sbin:/usr/bin LC_ALL=C
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP
T=${1:?usage: workload.sh TMPDIR}
cd "$T" || exit 1
PY=/usr/bin/python3
# No supplementary groups anywhere (the kernel's gid=/egid= rules also look at
# supplementary groups, which the log does not show): gen.sh starts this under
# `setpriv --clear-groups`, and the python part drops to other ids itself.

# --- 1. shell redirections: open flags ------------------------------------
echo a > "$T/f1"                    # openat O_WRONLY|O_CREAT|O_TRUNC  (0x241)
echo b >> "$T/f1"                   # openat O_WRONLY|O_CREAT|O_APPEND (0x441)
read -r line < "$T/f1"              # openat O_RDONLY
{ : < /nonexistent/oracle-file; } 2> /dev/null  # ENOENT, from bash itself

# --- 2. execve of several binaries -----------------------------------------
/bin/cat "$T/f1" > /dev/null        # exe="/usr/bin/cat" (/bin -> usr/bin)
/usr/bin/true
/bin/false
cat /nonexistent/oracle-file 2> /dev/null   # ENOENT in cat

# --- 3. signals from bash's kill builtin ----------------------------------
kill -0 $$
kill -WINCH $$                      # ignored by bash: default action
/usr/bin/true &
p=$!
wait "$p"
kill -0 "$p" 2> /dev/null           # ESRCH: already reaped

# --- 4. one python3 process: most of the interesting calls ----------------
# Only builtin C modules (_signal, _socket, _ctypes, _thread) are imported:
# `signal`, `socket` and `ctypes` would pull in enum & co. and triple the
# syscall count of python'"'"'s start-up.
PYSRC='
import os, sys, _signal, _socket, _thread, _ctypes
T = sys.argv[1]
class c_long(_ctypes._SimpleCData):
    _type_ = "l"
class Libc:
    _handle = _ctypes.dlopen(None)
class Fn(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL
    _restype_ = c_long
_syscall = Fn(("syscall", Libc()))
def syscall(*args):                     # raw syscall(2), every argument a full 64-bit long
    return _syscall(*[c_long(a) for a in args])
def attempt(f, *a):
    try:
        return f(*a)
    except OSError:
        return None
def touch(path):
    os.close(os.open(path, os.O_RDONLY))
p = T + "/p1"
# open flags
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.write(fd, b"x"); os.close(fd)
fd = os.open(p, os.O_RDWR | os.O_APPEND); os.close(fd)
touch(p)
attempt(os.open, p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)    # EEXIST
attempt(os.open, p, os.O_RDONLY | os.O_DIRECTORY)                    # ENOTDIR
attempt(touch, "/nonexistent/oracle-file")                           # ENOENT
attempt(os.close, 9999)                                              # EBADF
os.chmod(p, 0o600)
attempt(os.execv, "/nonexistent/oracle-exe", ["x"])                  # execve ENOENT
attempt(os.execv, p, ["x"])                                          # execve EACCES (mode 0600)
# sockets: AF_INET with a refused loopback connect, AF_UNIX
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
attempt(s.connect, ("127.0.0.1", 1))                                 # ECONNREFUSED
s.close()
_socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM).close()
# an anonymous shared mapping: mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)
a = syscall(9, 0, 8192, 3, 0x21, -1, 0)
syscall(11, a, 8192)
# signals: a child waits for SIGUSR1 then SIGTERM (blocked, taken with sigwait)
os.kill(os.getpid(), 0)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGUSR1, _signal.SIGTERM})
    os.write(w, b".")
    _signal.sigwait({_signal.SIGUSR1})
    _signal.sigwait({_signal.SIGTERM})
    os._exit(0)
os.read(r, 1)
for sig in (_signal.SIGSTOP, _signal.SIGCONT, _signal.SIGUSR1, _signal.SIGTERM):
    os.kill(pid, sig)
os.waitpid(pid, 0)
os.close(r); os.close(w)
# a thread: clone3, and the thread ends with exit(2), not exit_group
done = _thread.allocate_lock(); done.acquire()
_thread.start_new_thread(done.release, ())
done.acquire()
# raw clone(SIGCHLD) (no CLONE_CHILD_* flags); the child ends with a raw exit(3)
pid = syscall(56, 17, 0, 0, 0, 0)
if pid == 0:
    syscall(60, 3)
os.wait()                                                            # wait4(-1, ...)
# uid 1000, euid 65534, suid 0; gid 1001, egid 65534, sgid 0; then fsuid/fsgid apart
pid = os.fork()
if pid == 0:
    os.setresgid(1001, 65534, 0)
    os.setresuid(1000, 65534, 0)
    attempt(touch, "/etc/shadow")                                    # EACCES
    touch("/etc/passwd")
    syscall(122, 1000)                                               # setfsuid(1000)
    syscall(123, 2004)                                               # setfsgid(2004): refused, no CAP_SETGID
    attempt(touch, p)                                                # EACCES (fsuid 1000)
    os.seteuid(0)                                                    # allowed: suid is 0
    syscall(123, 2004)                                               # setfsgid(2004): now allowed
    os.stat("/etc/passwd")
    touch("/etc/shadow")
    os.setreuid(2000, 2000)
    attempt(touch, "/etc/shadow")                                    # EACCES
    os._exit(0)
os.waitpid(pid, 0)
# all three ids distinct: uid 4001 euid 4002 suid 4003, gid 3001 egid 3002 sgid 3003
pid = os.fork()
if pid == 0:
    os.setresgid(3001, 3002, 3003)
    os.setresuid(4001, 4002, 4003)
    os.getpid(); os.getppid()
    attempt(os.kill, 1, 0)                                           # EPERM
    os._exit(0)
os.waitpid(pid, 0)
# nobody: failing set*id calls
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    for call in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0]), lambda: os.kill(1, 0)):
        attempt(call)                                                # EPERM x4
    attempt(touch, "/etc/shadow")                                    # EACCES
    os._exit(0)
os.waitpid(pid, 0)
os.unlink(p)
os.unlink(T + "/f1")
'
$PY -S -c "$PYSRC" "$T"

exit 0
