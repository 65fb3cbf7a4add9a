"""Reading a published rules file the way `auditctl -R` (audit 3.0.9) does, and planning what to load.

A line is split on single spaces only, as audit_strsplit does (a tab or a quote stays part of its word);
blank lines and lines whose first word starts with '#' are skipped. Each remaining line is one auditctl
command. plan() turns it into the argv that run.py gives auditctl for one pass:

  * control lines (-D -b -f -e -r -i -c --backlog_wait_time ...): never executed;
  * exclude, user, task and filesystem list rules: not loaded (they cannot be confined to a session);
  * `-w PATH [-p PERM] -k KEY`: rewritten to the exit rule auditctl itself builds for it
    (audit_setup_watch_name + audit_add_watch_dir in auditctl.c / libaudit.c): trailing '/' trimmed,
    `-F dir=` when stat() (following symlinks, on this host) says directory, else `-F path=`, then
    `-F perm=` (the -p value, rwxa without -p), every syscall, no arch; the fields in the order auditctl
    puts them, so the rewrite and the literal -w form are the same kernel rule (run.py checks: the
    kernel answers "Rule exists" to the -w form after the rewrite is loaded);
  * exit rules: as written, with `-F sessionid=S` right after the list (so other processes fail fast).

Every key (-k KEY, -F key=KEY) gets the run's tag, TAG-KEY. Pass 2 turns each never rule into an
always rule whose only key is TAG-never@LINE (with -S all where auditctl would not take a key otherwise). Words are found with getopt's rules for auditctl's option
string, so in `-k -F T1078` the key is "-F" (and T1078 a stray word auditctl rejects), as auditctl sees it.
"""
import os
import pwd
import grp

# auditctl's short options that take an argument ("...C:e:f:r:b:a:A:d:S:F:m:R:w:W:k:p:q:")
ARG_OPTS = set("CefrbaAdSFmRwWkpq")
LONG_WITH_ARG = {"--backlog_wait_time", "--signal"}
CONTROL_OPTS = {"-D", "-b", "-f", "-e", "-r", "-i", "-c", "-s", "-l", "-v", "-t",
                "--backlog_wait_time", "--loginuid-immutable", "--reset-lost", "--reset_backlog_wait_time_actual"}
UID_FIELDS = {"uid", "euid", "suid", "fsuid", "auid", "loginuid", "obj_uid"}
GID_FIELDS = {"gid", "egid", "sgid", "fsgid", "obj_gid"}
OPERATORS = ("!=", ">=", "<=", "&=", "=", ">", "<", "&")   # audit_rule_fieldpair_data's search order


def escape(s):
    """Bytes below 0x20, 0x7f and backslash as \\xHH: the TSV files stay one line per row."""
    return "".join("\\x%02x" % ord(c) if ord(c) < 0x20 or ord(c) == 0x7f or c == "\\" else c for c in s)


def unescape(s):
    """The inverse of escape()."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("\\x", i) and len(s) >= i + 4:
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def words_of(line):
    return [w for w in line.split(" ") if w]


def read_lines(path):
    """(line number, words) of every command line of a rules file, as auditctl -R reads it."""
    with open(path, encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            words = words_of(line)
            if words and not words[0].startswith("#"):
                yield n, words


def options(words):
    """[(index of the option word, option, index of its argument or None)] with getopt's rules."""
    res, i = [], 0
    while i < len(words):
        w = words[i]
        if w.startswith("--"):
            if w in LONG_WITH_ARG:
                res.append((i, w, i + 1 if i + 1 < len(words) else None)); i += 2; continue
            res.append((i, w, None)); i += 1; continue
        if w.startswith("-") and len(w) > 1:
            letter = w[1]
            if letter in ARG_OPTS:
                if len(w) > 2:     # -kKEY: the argument is glued on
                    res.append((i, "-" + letter, i)); i += 1; continue
                res.append((i, "-" + letter, i + 1 if i + 1 < len(words) else None)); i += 2; continue
            res.append((i, "-" + letter, None)); i += 1; continue
        i += 1                     # a stray word: getopt leaves it, auditctl then refuses the line
    return res


def arg(words, idx, opt_index):
    """The argument word of an option (glued -kKEY or separate)."""
    return words[idx][2:] if idx == opt_index else words[idx]


def list_action(text):
    """('exit', 'never') from "never,exit" or "exit,never"; None if it is neither form."""
    parts = text.split(",")
    if len(parts) != 2:
        return None
    actions = {"always", "never"}
    if parts[0] in actions:
        return parts[1], parts[0]
    if parts[1] in actions:
        return parts[0], parts[1]
    return None


def classify(words):
    """'control' | 'watch' | 'exit' | 'exclude' | 'user' | 'task' | 'filesystem' | 'other'."""
    opts = options(words)
    names = [o for _, o, _ in opts]
    for i, o, a in opts:
        if o in ("-a", "-A") and a is not None:
            la = list_action(arg(words, a, i))
            return la[0] if la and la[0] in ("exit", "exclude", "user", "task", "filesystem") else "other"
    if "-w" in names:
        return "watch"
    covered = {i for i, _, _ in opts} | {a for _, _, a in opts if a is not None}
    if names and all(o in CONTROL_OPTS for o in names) and len(covered) == len(words):
        return "control"
    return "other"


def tag_keys(words, tag):
    """The words with TAG- put before every key argument (-k KEY, -kKEY, -F key=KEY)."""
    out = list(words)
    for i, o, a in options(words):
        if a is None:
            continue
        if o == "-k":
            out[a] = ("-k" if a == i else "") + tag + "-" + arg(words, a, i)
        elif o == "-F" and a != i and words[a].startswith("key="):
            out[a] = "key=" + tag + "-" + words[a][4:]
    return out


def names_used(words):
    """Notes on user and group names in -F fields, resolved on this host as libaudit does (getpwnam/getgrnam)."""
    notes = []
    for i, o, a in options(words):
        if o != "-F" or a is None or a == i:
            continue
        pair = words[a]
        for op in OPERATORS:
            if op in pair:
                field, value = pair.split(op, 1)
                break
        else:
            continue
        if not value or value[0].isdigit() or (value[0] == "-" and value[1:2].isdigit()) or value == "unset":
            continue
        try:
            if field in UID_FIELDS:
                notes.append("%s=%s: user %s is uid %d on this host" % (field, value, value, pwd.getpwnam(value).pw_uid))
            elif field in GID_FIELDS:
                notes.append("%s=%s: group %s is gid %d on this host" % (field, value, value, grp.getgrnam(value).gr_gid))
        except KeyError:
            notes.append("%s=%s: no such %s on this host" % (field, value, "user" if field in UID_FIELDS else "group"))
    return notes


def watch_parts(words):
    """(path, perm, keys, extra) of a -w line; extra is True when it has options other than -w -p -k."""
    path, perm, keys, extra = None, None, [], False
    opts = options(words)
    covered = set()
    for i, o, a in opts:
        covered.add(i)
        if a is not None:
            covered.add(a)
        if o == "-w" and a is not None:
            path = arg(words, a, i)
        elif o == "-p" and a is not None:
            perm = arg(words, a, i)
        elif o == "-k" and a is not None:
            keys.append(arg(words, a, i))
        else:
            extra = True
    if len(covered) != len(words):
        extra = True
    return path, perm, keys, extra


def watch_rewrite(path, perm, keys):
    """The exit rule auditctl builds for `-w path -p perm -k key...` on this host, as argv words."""
    if len(path) > 2 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    try:
        kind = "dir" if os.path.isdir(path) else "path"   # stat() follows symlinks, as auditctl's does
    except OSError:
        kind = "path"
    words = ["-a", "always,exit", "-F", "%s=%s" % (kind, path), "-F", "perm=%s" % (perm if perm is not None else "rwxa")]
    for k in keys:
        words += ["-k", k]
    return words


def insert_after_list(words, extra):
    """extra inserted right after the -a/-A option and its list,action argument."""
    for i, o, a in options(words):
        if o in ("-a", "-A") and a is not None:
            return words[:a + 1] + extra + words[a + 1:]
    return words + extra


def never_to_always(words, line, tag):
    """Pass 2: the never rule as an always rule, its keys replaced by TAG-never@LINE (never@LINE without a tag)."""
    out, drop = list(words), set()
    for i, o, a in options(words):
        if o in ("-a", "-A") and a is not None:
            lst, _ = list_action(arg(words, a, i))
            out[a] = "always," + lst
        elif o == "-k" and a is not None:
            drop.update({i, a})
        elif o == "-F" and a is not None and a != i and words[a].startswith("key="):
            drop.update({i, a})
    key = "%s-never@%d" % (tag, line) if tag else "never@%d" % line
    # auditctl takes a key only after a syscall, watch or exe; without -S a rule is for every syscall anyway
    all_calls = [] if needs_no_syscall_for_key(words) else ["-S", "all"]
    return [w for j, w in enumerate(out) if j not in drop] + all_calls + ["-F", "key=" + key]


def needs_no_syscall_for_key(words):
    """Whether auditctl takes a key on this rule as it is: it has -S, or a path, dir, perm or exe field."""
    for i, o, a in options(words):
        if o == "-S" or (o == "-F" and a is not None and a != i
                         and words[a].split("=", 1)[0].rstrip("!<>&") in ("path", "dir", "perm", "exe")):
            return True
    return False


def is_never(words):
    for i, o, a in options(words):
        if o in ("-a", "-A") and a is not None:
            la = list_action(arg(words, a, i))
            return la is not None and la[1] == "never"
    return False


def delete_argv(add_argv):
    """auditctl's delete command for a rule added with add_argv (-a/-A -> -d, -w -> -W)."""
    out = list(add_argv)
    for i, o, a in options(add_argv):
        if o in ("-a", "-A"):
            out[i] = "-d" + add_argv[i][2:]
            return out
        if o == "-w":
            out[i] = "-W" + add_argv[i][2:]
            return out
    raise ValueError("not an add command: %r" % (add_argv,))


class Planned:
    """One line of the published file and what a pass does with it."""

    def __init__(self, line, words, kind):
        self.line, self.words, self.kind = line, words, kind
        self.equivalent = words        # the rule as the kernel gets it, untagged and unconfined
        self.load = None               # argv given to auditctl, or None when the line is not loaded
        self.check = None              # watch lines: the literal -w form, which must be refused as a duplicate
        self.notes = names_used(words) if kind == "exit" else []
        self.rewrite = ""


def plan(path, pas, tag, ses):
    """The Planned lines of a published rules file for pass 1 or 2."""
    confine = ["-F", "sessionid=%s" % ses]
    res = []
    for line, words in read_lines(path):
        p = Planned(line, words, classify(words))
        if p.kind == "watch":
            wpath, perm, keys, extra = watch_parts(words)
            if extra or wpath is None:
                # not the plain form the rewrite covers: auditctl converts it itself
                p.load = tag_keys(words, tag) + confine
                p.rewrite = "watch loaded as written (options besides -w -p -k)"
            else:
                p.equivalent = watch_rewrite(wpath, perm, keys)
                rewritten = p.equivalent[:6] + confine + p.equivalent[6:]
                p.load = tag_keys(rewritten, tag)
                p.check = tag_keys(words, tag) + confine
                p.rewrite = "watch -> exit rule"
        elif p.kind == "exit":
            words2 = words
            if pas == 2 and is_never(words):
                words2 = never_to_always(words, line, tag)
                p.rewrite = "never -> always, key never@%d" % line + (
                    "" if needs_no_syscall_for_key(words) else " (and -S all: auditctl takes a key only after a syscall)")
                p.equivalent = never_to_always(words, line, "")
                p.load = insert_after_list(words2, confine)
            else:
                p.load = insert_after_list(tag_keys(words, tag), confine)
        res.append(p)
    return res


def load_syscall_table(path):
    """{name: (x86_64 number, i386 number)} of tools/oracle/rulesets/syscalls-newer.tsv."""
    table = {}
    with open(path, encoding="utf-8") as f:
        for row in f:
            if row.startswith("#") or not row.strip():
                continue
            name, n64, n32 = row.rstrip("\n").split("\t")[:3]
            table[name] = (n64, n32)
    return table


def with_syscall_numbers(words, table):
    """The words with each -S name found in table replaced by its number for the rule's arch; None if none was."""
    arch32 = any(w in ("arch=b32", "arch=i386", "arch=i686") for w in words)
    out, changed = list(words), False
    for i, o, a in options(words):
        if o == "-S" and a is not None and a != i:
            names = words[a].split(",")
            new = [table[n][1 if arch32 else 0] if n in table else n for n in names]
            if new != names:
                out[a] = ",".join(new)
                changed = True
    return out if changed else None
