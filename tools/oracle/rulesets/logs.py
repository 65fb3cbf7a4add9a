"""auditd's log for run.py: followed while a pass runs, then cut down to the session's events.

The log on this kind of machine rotates within a minute when other tests run (8 MB x 5 files), so it is
read as it is written: Follower keeps the audit.log it opened until it has read it to the end, and
then continues with the new audit.log after a rotation.

extract() keeps every record (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, SOCKADDR, ...) of the events
whose SYSCALL record has ses=SES and whose serial lies between the pass's two markers, byte for byte
except the key field of the SYSCALL record: the run tag is removed from each key, and the key written
again as the kernel writes keys (audit_log_untrustedstring: hex when it has a byte below 0x21, above
0x7e or a '"'; "(null)" for none), so the log is what the kernel would have logged for the rules as
published.
"""
import gzip
import os
import re
import threading
import time

from rules import escape

MSG = re.compile(rb"msg=audit\((\d+)\.(\d+):(\d+)\)")
KEY = re.compile(rb' key=("[^"]*"|\(null\)|[0-9A-F]+)$')


def field(raw, name):
    m = re.search(rb"(?:^|[ :])" + name + rb"=(\S+)", raw)
    return m.group(1) if m else None


class Follower(threading.Thread):
    """Copies what auditd appends to DIR/audit.log, across rotations, to a file until stop()."""

    def __init__(self, logdir, out_path):
        super().__init__(daemon=True)
        self.path = os.path.join(logdir, "audit.log")
        self.f = open(self.path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.out = open(out_path, "wb")
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while True:
                data = self.f.read(1 << 20)
                if data:
                    self.out.write(data)
                    self.out.flush()
                    continue
                if self.stopping.is_set():
                    break
                try:
                    rotated = os.stat(self.path).st_ino != os.fstat(self.f.fileno()).st_ino
                except FileNotFoundError:
                    rotated = False          # between auditd's rename and its new file
                if rotated:
                    self.f.close()
                    self.f = open(self.path, "rb")
                    continue
                time.sleep(0.05)
        except Exception as e:  # reported by stop()
            self.error = e
        finally:
            self.out.close()
            self.f.close()

    def stop(self):
        self.stopping.set()
        self.join()
        if self.error:
            raise self.error


def wait_for(path, text, timeout=60):
    """True once path (the follower's copy) contains text."""
    end = time.time() + timeout
    needle = text.encode()
    while time.time() < end:
        with open(path, "rb") as f:
            if needle in f.read():
                return True
        time.sleep(0.2)
    return False


def encode_key(key):
    """The key field as the kernel writes it."""
    if key == "":
        return b"(null)"
    b = key.encode()
    if any(c == 0x22 or c < 0x21 or c > 0x7e for c in b):
        return b.hex().upper().encode()
    return b'"' + b + b'"'


def decode_key(raw):
    if raw == b"(null)":
        return None
    if raw.startswith(b'"'):
        return raw[1:-1].decode()
    return bytes.fromhex(raw.decode()).decode()


def show_key(parts):
    """A verdict: the key's parts joined by \\x01, bytes below 0x20 and backslash escaped as \\xHH."""
    return "\\x01".join(escape(p) for p in parts)


def marker_serial(lines, text):
    needle = text.encode()
    for line in lines:
        if needle in line:
            m = MSG.search(line)
            if m:
                return int(m.group(3))
    raise RuntimeError("marker %s not in the log" % text)


def extract(capture, tag, ses, start_marker, end_marker, log_out, verdicts_out):
    """Writes the session's events (gzip) and their verdicts; returns {events, records, keys: {key: count}}."""
    with open(capture, "rb") as f:
        lines = f.read().split(b"\n")
    lo, hi = marker_serial(lines, start_marker), marker_serial(lines, end_marker)
    serials, out, rows, counts = set(), [], [], {}
    for i, line in enumerate(lines):
        if not line.startswith(b"type=SYSCALL "):
            continue
        raw, sep, rest = line.partition(b"\x1d")
        m = MSG.search(raw)
        serial = int(m.group(3))
        if not lo < serial < hi or field(raw, b"ses") != str(ses).encode():
            continue
        km = KEY.search(raw)
        if km is None:
            raise RuntimeError("event %d: no key field: %r" % (serial, raw))
        key = decode_key(km.group(1))
        if key is None:
            shown, untagged = "(none)", ""
        else:
            parts = key.split("\x01")
            if not all(p.startswith(tag + "-") for p in parts):
                raise RuntimeError("event %d has a key that is not this run's: %r" % (serial, key))
            parts = [p[len(tag) + 1:] for p in parts]
            untagged = "\x01".join(parts)
            shown = "(catch-all)" if parts == ["catchall"] else show_key(parts)
        lines[i] = raw[:km.start(1)] + encode_key(untagged) + sep + rest
        serials.add(serial)
        rows.append("%d\t%s\t%s\t%s" % (serial, field(raw, b"arch").decode(), field(raw, b"syscall").decode(), shown))
        counts[shown] = counts.get(shown, 0) + 1
    records = 0
    for line in lines:
        m = MSG.search(line)
        if m and int(m.group(3)) in serials:
            out.append(line)
            records += 1
    with gzip.GzipFile(log_out, "wb", mtime=0) as g:
        g.write(b"".join(l + b"\n" for l in out))
    with open(verdicts_out, "w") as f:
        f.write("serial\tarch\tsyscall\tkernel_key\n" + "".join(r + "\n" for r in rows))
    return {"events": len(rows), "records": records, "keys": dict(sorted(counts.items()))}
