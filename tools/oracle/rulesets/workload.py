#!/usr/bin/python3 -S
"""workload.py WORK TAG AUID FIFO SESFILE ACTIONS -- what the published rule sets are run against.

run.py starts this as root with no supplementary groups (setpriv --clear-groups). It writes AUID to
/proc/self/loginuid, which starts a new audit session, writes the session id to SESFILE and waits for
"go" on FIFO (run.py loads the rules meanwhile). Then it reads, opens for write, renames, deletes and
changes attributes of watched files and of files in watched directories, executes watched programs and
makes the calls the rule sets' -S lists name, as root and as an unprivileged uid, with x86_64 and i386
entry points; finally it writes the list of what it did, with each outcome, to ACTIONS (once, so that
the list itself adds one event).

Nothing here changes the machine:
  * files are created only under names containing TAG ("filterc.TAG.*": a '.' so that sudo, cron and
    run-parts ignore them, no .conf/.sh/.rules/.service suffix), only in directories that exist, and
    removed again (also on failure: finally; run.py removes any left over by name);
  * real system files are only read, or opened O_WRONLY|O_APPEND and closed without a write; their
    attributes are only changed by calls that fail (EPERM/EACCES as the unprivileged uid);
  * privileged calls fail before doing anything: bad pointers (EFAULT), bad sizes (EINVAL), missing
    paths or objects (ENOENT, ESRCH, EBADF), or no privilege (EPERM as the unprivileged uid);
  * executed programs only print their version or usage.
"""
import errno
import os
import socket
import sys
import ctypes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import syscall as S    # noqa: E402  (after the path fix)

from targets import UNPRIV, OWN_FILE_DIRS, READ_FILES, WRITE_OPEN, ROOT_EXECS, UNPRIV_EXECS  # noqa: E402

O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND = 0, 1, 0o100, 0o200, 0o2000
AT_FDCWD, AT_FDCWD32 = -100, 0xffffff9c
S_IFIFO = 0o010000
actions = []


def note(who, what, path, result):
    actions.append("%d\t%s\t%s\t%s\t%s" % (len(actions) + 1, who, what, path, result))


def call(who, what, path, fn, *args):
    """Runs fn(*args) -- an os function or a raw call returning (result, errno name) -- and notes its outcome."""
    if fn is S.i386 and not S.I386:
        note(who, what, path, "skipped: no i386 entry (int $0x80) on this machine")
        return None
    try:
        r = fn(*args)
        result = r[1] if isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], str) else "ok"
    except OSError as e:
        r, result = None, errno.errorcode.get(e.errno, str(e.errno))
    note(who, what, path, result)
    return r


def run_program(who, argv):
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open("/dev/null", os.O_RDWR)
            for n in (0, 1, 2):
                os.dup2(fd, n)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, st = os.waitpid(pid, 0)
    note(who, "execve", " ".join(argv), "exit %d" % os.waitstatus_to_exitcode(st))


def own_file_ops(who, d, tag):
    """Create, write, read, change attributes of, rename and delete files of our own in directory d."""
    f, g, sub = d + "/filterc.%s.tmp" % tag, d + "/filterc.%s.tmp2" % tag, d + "/filterc.%s.d" % tag
    fd = call(who, "open O_WRONLY|O_CREAT|O_EXCL", f, os.open, f, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    if fd is None:
        return
    try:
        call(who, "write", f, os.write, fd, b"filterc\n")
        os.close(fd)
        fd = call(who, "open O_RDONLY", f, os.open, f, O_RDONLY)
        if fd is not None:
            call(who, "read", f, os.read, fd, 16)
            os.close(fd)
        call(who, "chmod 0640", f, os.chmod, f, 0o640)
        call(who, "chown 0:0", f, os.chown, f, 0, 0)
        call(who, "setxattr user.filterc", f, os.setxattr, f, "user.filterc", b"1")
        call(who, "utimensat", f, os.utime, f, (0, 0))
        call(who, "rename", f + " -> " + g, os.rename, f, g)
        call(who, "mkdir", sub, os.mkdir, sub, 0o700)
        call(who, "rmdir", sub, os.rmdir, sub)
        call(who, "unlink", g, os.unlink, g)
    finally:
        for p in (f, g):
            if os.path.lexists(p):
                os.unlink(p)
        if os.path.isdir(sub):
            os.rmdir(sub)


def own_files_all_calls(who, work, tag):
    """Every attribute, link, rename and delete call of the sets' -S lists, x86_64 and i386, on our own files."""
    f, g, h, n = (work + "/filterc.%s.%s" % (tag, s) for s in ("a", "b", "c", "fifo"))
    cf, cg, ch, cn = S.cstr(f), S.cstr(g), S.cstr(h), S.cstr(n)
    lf, lg, ln = S.low(f), S.low(g), S.low(n)
    attr_name, attr_value = S.cstr("user.filterc"), S.cstr("1")
    times = (ctypes.c_long * 4)(0, 0, 0, 0)
    fd = os.open(f, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    for nr, name, args in [
            (90, "chmod", (cf, 0o600)), (91, "fchmod", (fd, 0o600)), (268, "fchmodat", (AT_FDCWD, cf, 0o600)),
            (452, "fchmodat2", (AT_FDCWD, cf, 0o600, 0)), (92, "chown", (cf, 0, 0)), (93, "fchown", (fd, 0, 0)),
            (94, "lchown", (cf, 0, 0)), (260, "fchownat", (AT_FDCWD, cf, 0, 0, 0)),
            (188, "setxattr", (cf, attr_name, attr_value, 1, 0)), (189, "lsetxattr", (cf, attr_name, attr_value, 1, 0)),
            (190, "fsetxattr", (fd, attr_name, attr_value, 1, 0)), (194, "listxattr", (cf, 0, 0)),
            (197, "removexattr", (cf, attr_name)), (198, "lremovexattr", (cf, attr_name)),
            (199, "fremovexattr", (fd, attr_name)), (132, "utime", (cf, 0)),
            (235, "utimes", (cf, ctypes.addressof(times))), (280, "utimensat", (AT_FDCWD, cf, 0, 0)),
            (469, "file_setattr (size 0: EINVAL)", (AT_FDCWD, cf, 0, 0, 0)), (76, "truncate", (cf, 0)),
            (77, "ftruncate", (fd, 0)), (86, "link", (cf, cg)), (87, "unlink", (cg,)), (88, "symlink", (cf, cg)),
            (87, "unlink", (cg,)), (265, "linkat", (AT_FDCWD, cf, AT_FDCWD, cg, 0)), (82, "rename", (cg, ch)),
            (264, "renameat", (AT_FDCWD, ch, AT_FDCWD, cg)), (316, "renameat2", (AT_FDCWD, cg, AT_FDCWD, ch, 0)),
            (263, "unlinkat", (AT_FDCWD, ch, 0)), (266, "symlinkat", (cf, AT_FDCWD, cg)), (87, "unlink", (cg,)),
            (133, "mknod fifo", (cn, S_IFIFO | 0o600, 0)), (87, "unlink", (cn,)),
            (259, "mknodat fifo", (AT_FDCWD, cn, S_IFIFO | 0o600, 0)), (87, "unlink", (cn,)),
            (85, "creat", (cg, 0o600)), (87, "unlink", (cg,))]:
        r = call(who, name, f, S.x64, nr, *args)
        if name == "creat" and r and r[0] >= 0:
            os.close(r[0])
    os.close(fd)
    for nr, name, args in [
            (15, "chmod", (lf, 0o600)), (182, "chown", (lf, 0, 0)), (16, "lchown", (lf, 0, 0)),
            (306, "fchmodat", (AT_FDCWD32, lf, 0o600)), (226, "setxattr", (lf, S.low("user.filterc"), S.low("1"), 1, 0)),
            (271, "utimes", (lf, 0)), (320, "utimensat", (AT_FDCWD32, lf, 0, 0)), (14, "mknod fifo", (ln, S_IFIFO | 0o600, 0)),
            (10, "unlink", (ln,)), (38, "rename", (lf, lg)), (38, "rename", (lg, lf)), (8, "creat", (lg, 0o600)),
            (10, "unlink", (lg,)), (39, "mkdir", (lg, 0o700)), (40, "rmdir", (lg,))]:
        r = call(who + " i386", name, f, S.i386, nr, *args)
        if name == "creat" and r and r[0] >= 0:
            S.i386(6, r[0])
    for nr, name, args in [(5, "open O_WRONLY|O_APPEND", (lf, O_WRONLY | O_APPEND)), (295, "openat O_RDONLY", (AT_FDCWD32, lf, O_RDONLY))]:
        r = call(who + " i386", name, f, S.i386, nr, *args)
        if r and r[0] >= 0:
            S.i386(6, r[0])
    os.unlink(f)
    # a program of our own under a watched directory (-w /tmp/ -p wxa): exec perm in a watched tree
    exe = work + "/filterc.%s.true" % tag
    with open("/usr/bin/true", "rb") as src, open(exe, "wb") as dst:
        dst.write(src.read())
    os.chmod(exe, 0o700)
    run_program(who, [exe])
    os.unlink(exe)


def read_and_write_open(who):
    for p in READ_FILES:
        fd = call(who, "open O_RDONLY", p, os.open, p, O_RDONLY)
        if fd is not None:
            os.close(fd)
    call(who, "listxattr", "/etc/shadow", os.listxattr, "/etc/shadow")
    call(who, "stat", "/etc/shadow", os.stat, "/etc/shadow")
    for p in WRITE_OPEN:
        fd = call(who, "open O_WRONLY|O_APPEND (no write)", p, os.open, p, O_WRONLY | O_APPEND)
        if fd is not None:
            os.close(fd)
    # the old open(2) and the i386 entries, with the write bits the ospp rules test (a1&03, a2&03)
    for p in ("/etc/passwd", "/etc/shadow"):
        for label, fn, args in [("open(2) O_WRONLY|O_APPEND", S.x64, (2, S.cstr(p), O_WRONLY | O_APPEND)),
                                ("i386 open O_WRONLY|O_APPEND", S.i386, (5, S.low(p), O_WRONLY | O_APPEND)),
                                ("i386 openat O_WRONLY|O_APPEND", S.i386, (295, AT_FDCWD32, S.low(p), O_WRONLY | O_APPEND))]:
            r = call(who, label, p, fn, *args)
            if r and r[0] >= 0:
                S.x64(3, r[0])
    # relative names: the kernel's watch matches the inode, the log's name is what the call passed
    os.chdir("/etc")
    for p in ("shadow", "./passwd"):
        fd = call(who, "open O_RDONLY (cwd /etc)", p, os.open, p, O_RDONLY)
        if fd is not None:
            os.close(fd)
    os.chdir("/")
    call(who, "listdir", "/home", os.listdir, "/home")
    call(who, "open(2) ENOENT", "/etc/filterc-nonexistent", S.x64, 2, S.cstr("/etc/filterc-nonexistent"), O_RDONLY)


def root_syscalls(who):
    bad = 1   # an address that is never mapped: EFAULT
    buf = ctypes.create_string_buffer(512)
    b = ctypes.addressof(buf)
    for nr, name, args in [
            (159, "adjtimex (bad pointer)", (bad,)), (164, "settimeofday (bad pointer)", (bad, 0)),
            (227, "clock_settime CLOCK_REALTIME (bad pointer)", (0, bad)), (227, "clock_settime CLOCK_MONOTONIC", (1, b)),
            (170, "sethostname (len 100)", (b, 100)), (171, "setdomainname (len 100)", (b, 100)),
            (165, "mount (missing target)", (S.cstr("none"), S.cstr("/nonexistent-filterc"), S.cstr("tmpfs"), 0, 0)),
            (166, "umount2 (missing target)", (S.cstr("/nonexistent-filterc"), 0)),
            (442, "mount_setattr (size 0)", (-1, S.cstr(""), 0, 0, 0)),
            (175, "init_module (len 0)", (0, 0, S.cstr(""))), (313, "finit_module (fd -1)", (-1, S.cstr(""), 0)),
            (176, "delete_module (no such module)", (S.cstr("filterc_no_such_module"), 0o4000)),
            (101, "ptrace PTRACE_POKETEXT (no such pid)", (4, 999999, 0, 0)), (101, "ptrace PTRACE_POKEDATA", (5, 999999, 0, 0)),
            (101, "ptrace PTRACE_POKEUSER", (6, 999999, 0, 0)), (101, "ptrace PTRACE_ATTACH", (16, 999999, 0, 0)),
            (71, "msgctl (id -1)", (-1, 2, 0)), (68, "msgget (no such key)", (0x66696c74, 0)),
            (64, "semget (no such key)", (0x66696c74, 0, 0)), (65, "semop (id -1)", (-1, 0, 0)),
            (66, "semctl (id -1)", (-1, 0, 2, 0)), (220, "semtimedop (id -1)", (-1, 0, 0, 0)),
            (29, "shmget (no such key)", (0x66696c74, 0, 0)), (31, "shmctl (id -1)", (-1, 2, 0)),
            (304, "open_by_handle_at (fd -1)", (-1, 0, 0)), (105, "setuid 0 (already 0)", (0,)),
            (106, "setgid 0 (already 0)", (0,)), (113, "setreuid -1 -1", (-1, -1)), (114, "setregid -1 -1", (-1, -1))]:
        call(who, name, "", S.x64, nr, *args)
    for nr, name, args in [
            (124, "adjtimex (bad pointer)", (bad,)), (79, "settimeofday (bad pointer)", (bad, 0)),
            (25, "stime (bad pointer)", (bad,)), (264, "clock_settime CLOCK_REALTIME (bad pointer)", (0, bad)),
            (74, "sethostname (len 100)", (S.low("x" * 8), 100)),
            (21, "mount (missing target)", (S.low("none"), S.low("/nonexistent-filterc"), S.low("tmpfs"), 0, 0)),
            (22, "umount (missing target)", (S.low("/nonexistent-filterc"),)), (52, "umount2 (missing target)", (S.low("/nonexistent-filterc"), 0)),
            (128, "init_module (len 0)", (0, 0, S.low(""))), (350, "finit_module (fd -1)", (0xffffffff, S.low(""), 0)),
            (129, "delete_module (no such module)", (S.low("filterc_no_such_module"), 0o4000)),
            (26, "ptrace PTRACE_POKETEXT (no such pid)", (4, 999999, 0, 0)), (23, "setuid 0 (already 0)", (0,))]:
        call(who + " i386", name, "", S.i386, nr, *args)
    fd = call(who, "memfd_create", "", os.memfd_create, "filterc")
    if fd is not None:
        os.close(fd)
    net(who)
    for nr, name, args in [(444, "landlock_create_ruleset (NULL, 0)", (0, 0, 0)), (445, "landlock_add_rule (fd -1)", (-1, 1, 0, 0)),
                           (446, "landlock_restrict_self (fd -1)", (-1, 0)), (460, "lsm_set_self_attr (NULL, size 0)", (1, 0, 0, 0))]:
        call(who, name, "", S.x64, nr, *args)
    # fork(2) itself (python's os.fork is clone): the child leaves at once
    r = S.x64(57)
    if r[0] == 0:
        os._exit(0)
    note(who, "fork", "", r[1])
    if r[0] > 0:
        os.waitpid(r[0], 0)
    if S.I386:
        r = S.i386(2)
        if r[0] == 0:
            os._exit(0)
        note(who + " i386", "fork", "", r[1])
        if r[0] > 0:
            os.waitpid(r[0], 0)


def net(who):
    """sockets and connects: AF_INET and AF_INET6 loopback connections, and a failing AF_UNIX connect."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            srv = socket.socket(family, socket.SOCK_STREAM)
            srv.bind((host, 0))
            srv.listen(1)
            cli = socket.socket(family, socket.SOCK_STREAM)
            call(who, "connect", host, cli.connect, srv.getsockname())
            conn, _ = srv.accept()
            conn.close(); cli.close(); srv.close()
        except OSError as e:
            note(who, "socket/connect", host, errno.errorcode.get(e.errno, str(e.errno)))
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    call(who, "connect AF_UNIX (no socket)", "/nonexistent-filterc.sock", u.connect, "/nonexistent-filterc.sock")
    u.close()
    r = call(who + " i386", "socket AF_INET", "", S.i386, 359, 2, 1, 0)
    if r and r[0] >= 0:
        S.i386(6, r[0])


def i386_exec(who):
    """execve through the i386 entry (the child becomes /usr/bin/id, a 64-bit program)."""
    if not S.I386:
        note(who + " i386", "execve", "/usr/bin/id", "skipped: no i386 entry (int $0x80) on this machine")
        return
    pid = os.fork()
    if pid == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        for n in (0, 1, 2):
            os.dup2(fd, n)
        S.i386(11, S.low("/usr/bin/id"), S.low_argv(["/usr/bin/id"]), 0)
        os._exit(127)
    _, st = os.waitpid(pid, 0)
    note(who + " i386", "execve", "/usr/bin/id", "exit %d" % os.waitstatus_to_exitcode(st))


def unprivileged(tag):
    """As uid/gid UNPRIV (no capabilities): writes, attribute changes, renames and deletes of real watched
    files, privileged calls and set-id programs -- all refused by the kernel, except the programs."""
    who = "uid %d" % UNPRIV
    os.setresgid(UNPRIV, UNPRIV, UNPRIV)
    os.setresuid(UNPRIV, UNPRIV, UNPRIV)
    etc_own = "/etc/filterc.%s.tmp" % tag
    for p, label, flags in [("/etc/shadow", "open O_RDONLY", O_RDONLY), ("/etc/passwd", "open O_WRONLY|O_APPEND", O_WRONLY | O_APPEND),
                            (etc_own, "open O_WRONLY|O_CREAT", O_WRONLY | O_CREAT), ("/etc/cron.d/filterc.%s.tmp" % tag, "open O_WRONLY|O_CREAT", O_WRONLY | O_CREAT)]:
        call(who, label, p, os.open, p, flags, 0o600)
    how = (ctypes.c_uint64 * 3)(O_RDONLY, 0, 0)
    now = (ctypes.c_long * 4)(0, 0, 0, 0)          # two timespecs: utimensat's times, the others' time
    S.libc.clock_gettime(0, ctypes.byref(now))
    now[2], now[3] = now[0], now[1]
    tv = (ctypes.c_long * 2)(now[0], 0)             # a timeval for settimeofday
    cp, cs, co = S.cstr("/etc/passwd"), S.cstr("/etc/shadow"), S.cstr(etc_own)
    for nr, name, path, args in [
            (437, "openat2 O_RDONLY", "/etc/shadow", (AT_FDCWD, cs, ctypes.addressof(how), 24, 0)),
            (2, "open(2) O_RDONLY", "/etc/shadow", (cs, O_RDONLY)), (85, "creat", etc_own, (co, 0o600)),
            (76, "truncate", "/etc/passwd", (cp, 0)), (90, "chmod 0644", "/etc/passwd", (cp, 0o644)),
            (92, "chown 0:0", "/etc/passwd", (cp, 0, 0)),
            (188, "setxattr user.filterc", "/etc/passwd", (cp, S.cstr("user.filterc"), S.cstr("1"), 1, 0)),
            (197, "removexattr user.filterc", "/etc/passwd", (cp, S.cstr("user.filterc"))),
            (280, "utimensat (times given)", "/etc/passwd", (AT_FDCWD, cp, ctypes.addressof(now), 0)),
            (82, "rename", "/etc/passwd -> " + etc_own, (cp, co)), (87, "unlink", "/etc/shadow", (cs,)),
            (86, "link", "/etc/passwd -> " + etc_own, (cp, co)), (88, "symlink", "/etc/passwd -> " + etc_own, (cp, co)),
            (83, "mkdir", etc_own, (co, 0o700)), (133, "mknod fifo", etc_own, (co, S_IFIFO | 0o600, 0))]:
        call(who, name, path, S.x64, nr, *args)
    for d in ("/usr/bin", "/bin", "/sbin", "/usr/sbin", "/var", "/home", "/srv", "/tmp"):
        p = d + "/filterc-nonexistent"
        call(who, "open(2) ENOENT", p, S.x64, 2, S.cstr(p), O_RDONLY)
    # refused opens of files that exist (EACCES with the file's inode), under trees the sets watch
    for p, flags in (("/etc/shadow-", O_RDONLY), ("/var/log/apt/term.log", O_RDONLY), ("/usr/bin/passwd", O_WRONLY | O_APPEND)):
        call(who, "open(2) %s" % ("O_RDONLY" if flags == O_RDONLY else "O_WRONLY|O_APPEND"), p, S.x64, 2, S.cstr(p), flags)
    call(who + " i386", "creat", etc_own, S.i386, 8, S.low(etc_own), 0o600)
    call(who + " i386", "chmod 0644", "/etc/passwd", S.i386, 15, S.low("/etc/passwd"), 0o644)
    buf = ctypes.create_string_buffer(512)
    b = ctypes.addressof(buf)
    buf[0:4] = (1).to_bytes(4, "little")                      # adjtimex modes = ADJ_OFFSET
    for nr, name, args in [
            (105, "setuid 0", (0,)), (106, "setgid 0", (0,)), (113, "setreuid 0 0", (0, 0)), (114, "setregid 0 0", (0, 0)),
            (159, "adjtimex ADJ_OFFSET", (b,)), (164, "settimeofday (now)", (ctypes.addressof(tv), 0)),
            (227, "clock_settime CLOCK_REALTIME (now)", (0, ctypes.addressof(now))),
            (170, "sethostname", (S.cstr("x"), 100)), (171, "setdomainname", (S.cstr("x"), 100)),
            (165, "mount", (S.cstr("none"), S.cstr("/nonexistent-filterc"), S.cstr("tmpfs"), 0, 0)),
            (166, "umount2", (S.cstr("/nonexistent-filterc"), 0)), (167, "swapon", (S.cstr("/nonexistent-filterc"), 0)),
            (168, "swapoff", (S.cstr("/nonexistent-filterc"),)), (246, "kexec_load", (0, 0, 0, 0)),
            (175, "init_module", (0, 0, S.cstr(""))), (313, "finit_module", (-1, S.cstr(""), 0)),
            (176, "delete_module", (S.cstr("filterc_no_such_module"), 0o4000)), (161, "chroot", (S.cstr("/"),)),
            (101, "ptrace PTRACE_ATTACH pid 1", (16, 1, 0, 0))]:
        call(who, name, "", S.x64, nr, *args)
    for nr, name, args in [(283, "kexec_load", (0, 0, 0, 0)), (87, "swapon", (S.low("/nonexistent-filterc"), 0)),
                           (23, "setuid 0", (0,)), (21, "mount", (S.low("none"), S.low("/nonexistent-filterc"), S.low("tmpfs"), 0, 0))]:
        call(who + " i386", name, "", S.i386, nr, *args)
    for argv in UNPRIV_EXECS:
        run_program(who, argv)


def unprivileged_child(tag):
    """unprivileged() in a child; its list of actions comes back through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        del actions[:]
        try:
            unprivileged(tag)
        finally:
            os.write(w, "".join(a + "\n" for a in actions).encode())
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read().decode()
    os.waitpid(pid, 0)
    for row in data.splitlines():
        note(*row.split("\t")[1:])


def main():
    work, tag, auid, fifo, sesfile, actions_file = sys.argv[1:7]
    with open("/proc/self/loginuid", "w") as f:
        f.write(auid)
    with open("/proc/self/sessionid") as f, open(sesfile + ".tmp", "w") as out:
        out.write(f.read())
    os.rename(sesfile + ".tmp", sesfile)
    with open(fifo) as f:
        if f.read().strip() != "go":
            sys.exit(97)
    who = "root"
    try:
        os.chdir(work)
        for d in OWN_FILE_DIRS:
            if os.path.isdir(d) and not os.path.islink(d):
                own_file_ops(who, d, tag)
            else:
                note(who, "skipped (no such directory)", d, "-")
        own_file_ops(who, work, tag)
        own_files_all_calls(who, work, tag)
        read_and_write_open(who)
        root_syscalls(who)
        i386_exec(who)
        for argv in ROOT_EXECS:
            run_program(who, argv)
        unprivileged_child(tag)
    finally:
        with open(actions_file, "w") as f:
            f.write("".join(a + "\n" for a in actions))


if __name__ == "__main__":
    main()
