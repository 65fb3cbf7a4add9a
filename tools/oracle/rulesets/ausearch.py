"""What ausearch answers on a pass's log, for the comparison with `filterc run` (ausearch.tsv).

For each key the set's rules name (and each key the kernel logged) `ausearch -if LOG -k KEY`, and for a
few watched paths `ausearch -if LOG -f PATH`, each plainly and with -w (--word). Per ausearch's source
(src/ausearch-match.c strmatch) and man page: without -w a key or file name matches when it CONTAINS the
argument (strstr), with -w when it is equal; -k looks at every part of a multi-key (\\x01) field; -f looks
at the name= of every PATH record (a name starting with "./" or ".." is first prefixed with the CWD
record's cwd and "/", nothing else is resolved), at the path of AF_UNIX SOCKADDR records, and when no
name matched, at the CWD record's cwd itself.

Next to ausearch's serials each row has the serials computed from the log directly, for what filterc's
fields mean: for -k, the events whose logged key has KEY as one of its parts; for -f, the events with a
PATH item whose name, joined to the cwd when relative and normalised, is PATH.
"""
import gzip
import os
import re
import subprocess
import tempfile

from rules import escape

MSG = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\)")
PATHS = ["/etc/shadow", "/etc/passwd", "/etc/group", "/etc/gshadow", "/etc/sudoers", "/etc/hosts",
         "/etc/localtime", "/etc/cron.d", "/usr/bin/passwd", "/bin/su", "/etc"]


def version():
    out = subprocess.run(["ausearch", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    return out.strip()


def serials_of(text):
    return sorted({int(m.group(1)) for m in MSG.finditer(text)})


def ausearch(log, args):
    p = subprocess.run(["ausearch", "-if", log, "--raw"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise RuntimeError("ausearch %s: %s" % (" ".join(args), p.stderr.decode()))
    return serials_of(p.stdout.decode("utf-8", "replace"))


def field_value(line, name):
    m = re.search(r"(?:^| )" + name + r"=(\"[^\"]*\"|\S+)", line)
    if not m:
        return None
    v = m.group(1)
    if v.startswith('"'):
        return v[1:-1]
    if v == "(null)":
        return None
    try:
        return bytes.fromhex(v).decode("utf-8", "replace")
    except ValueError:
        return v


def events(log_text):
    """{serial: (key parts, resolved PATH names)} of the log."""
    ev = {}
    for line in log_text.splitlines():
        m = MSG.search(line)
        if not m:
            continue
        raw = line.split("\x1d", 1)[0]
        e = ev.setdefault(int(m.group(1)), {"keys": [], "cwd": None, "names": []})
        if raw.startswith("type=SYSCALL "):
            k = field_value(raw, "key")
            e["keys"] = k.split("\x01") if k else []
        elif raw.startswith("type=CWD "):
            e["cwd"] = field_value(raw, "cwd")
        elif raw.startswith("type=PATH "):
            n = field_value(raw, "name")
            if n is not None:
                e["names"].append(n)
    return {s: (e["keys"], {os.path.normpath(os.path.join(e["cwd"] or "/", n)) for n in e["names"]})
            for s, e in ev.items()}


def versus(got, own):
    if got == own:
        return "same"
    only_a, only_l = sorted(set(got) - set(own)), sorted(set(own) - set(got))
    return "; ".join(p for p in ("only ausearch: " + " ".join(map(str, only_a)) if only_a else "",
                                 "only log: " + " ".join(map(str, only_l)) if only_l else "") if p)


def table(log_gz, keys, pas):
    """Rows of ausearch.tsv for one pass's log."""
    with gzip.open(log_gz, "rb") as g:
        data = g.read()
    ev = events(data.decode("utf-8", "replace"))
    rows = []
    with tempfile.NamedTemporaryFile(suffix=".log") as tmp:
        tmp.write(data)
        tmp.flush()
        for option, values in (("-k", keys), ("-f", PATHS)):
            for v in values:
                if option == "-k":
                    own = sorted(s for s, (ks, _) in ev.items() if v in ks)
                else:
                    own = sorted(s for s, (_, names) in ev.items() if v in names)
                for word in (False, True):
                    got = ausearch(tmp.name, (["-w"] if word else []) + [option, v])
                    rows.append("%d\t%s\t%s\t%s\t%d\t%s\t%s" % (
                        pas, option, "1" if word else "0", escape(v), len(got), " ".join(map(str, got)),
                        versus(got, own)))
    return rows


HEADER = "pass\toption\tword\tvalue\tcount\tausearch_serials\tversus_log\n"
