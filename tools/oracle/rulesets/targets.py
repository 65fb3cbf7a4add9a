"""What workload.py touches: shared with run.py, which removes anything the workload left (by the run's tag)."""

UNPRIV = 4247           # uid and gid with no account on the host
# directories that the sets watch (-w DIR, -F dir=) where the workload creates, changes and removes its
# own files; those missing on the host are skipped
OWN_FILE_DIRS = ["/etc/sudoers.d", "/etc/selinux", "/etc/cron.d", "/etc/cron.daily", "/etc/pam.d",
                 "/etc/profile.d", "/etc/audit", "/etc/systemd/system", "/usr/lib/systemd/system",
                 "/etc/init.d", "/etc/ld.so.conf.d", "/etc/sysctl.d", "/etc/security/limits.d",
                 "/etc/apparmor.d", "/etc/NetworkManager", "/etc/modprobe.d", "/home", "/dev/shm",
                 "/var/tmp"]
# watched files that are read as root, and (WRITE_OPEN) opened for write without writing
READ_FILES = ["/etc/shadow", "/etc/passwd", "/etc/group", "/etc/gshadow", "/etc/security/opasswd",
              "/etc/sudoers", "/etc/hosts", "/etc/hostname", "/etc/issue", "/etc/issue.net",
              "/etc/localtime", "/etc/login.defs", "/etc/sysctl.conf", "/etc/ld.so.conf", "/etc/fstab",
              "/etc/shells", "/etc/profile", "/etc/resolv.conf", "/etc/pam.d/common-password",
              "/etc/libaudit.conf", "/etc/security/limits.conf", "/etc/hosts.allow", "/var/log/lastlog",
              "/var/log/wtmp", "/var/log/audit/audit.log", "/root/.bashrc"]
WRITE_OPEN = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/hosts", "/etc/issue",
              "/etc/login.defs", "/etc/sysctl.conf", "/etc/localtime", "/etc/security/opasswd"]
# programs run as root: [path as executed, args...]
ROOT_EXECS = [["/usr/bin/id"], ["/usr/bin/whoami"], ["/bin/uname", "-r"], ["/bin/hostname"],
              ["/usr/bin/grep", "-q", "x", "/dev/null"], ["/usr/bin/base64", "/dev/null"],
              ["/usr/bin/tar", "--version"], ["/usr/bin/gzip", "--version"], ["/usr/bin/zstd", "--version"],
              ["/usr/bin/cp", "--version"], ["/usr/bin/dd", "--version"], ["/usr/bin/shred", "--version"],
              ["/bin/ps", "-o", "pid=", "-p", "1"], ["/usr/bin/awk", "BEGIN { }"], ["/bin/sh", "-c", ":"],
              ["/bin/dash", "-c", ":"], ["/bin/bash", "-c", ":"], ["/usr/bin/sleep", "0"],
              ["/usr/bin/sed", "--version"], ["/sbin/auditctl", "-v"], ["/usr/sbin/ausearch", "-v"],
              ["/usr/bin/ssh", "-V"], ["/usr/bin/curl", "--version"], ["/usr/bin/openssl", "version"],
              ["/bin/systemctl", "--version"]]
# set-id programs run by the unprivileged uid (uid != euid = 0 for the setuid ones)
UNPRIV_EXECS = [["/usr/bin/passwd", "--help"], ["/bin/su", "--help"], ["/usr/bin/mount", "--version"],
                ["/usr/bin/umount", "--version"], ["/usr/bin/chfn", "--help"], ["/usr/bin/chsh", "--help"],
                ["/usr/bin/gpasswd", "--help"], ["/usr/bin/chage", "--help"], ["/usr/sbin/unix_chkpwd"],
                ["/usr/bin/id"]]
