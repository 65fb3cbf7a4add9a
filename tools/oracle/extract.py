#!/usr/bin/env python3
"""Helpers for gen.sh (the local kernel oracle). Two commands:

  extract.py session --auid A --pid P --since EPOCH LOG...
      prints the session id (ses=) that the kernel gave the workload's shell
      when it wrote A to /proc/self/loginuid: the last LOGIN record with
      pid=P auid=A stamped at or after EPOCH.

  extract.py events --auid A --ses S --key K --out FILE LOG...
      writes to FILE every line of every event whose SYSCALL record has
      auid=A ses=S and key="K" or key="all", grouped by the msg=audit(TS:SERIAL)
      id, events in order of first appearance and lines in their original
      order (records of concurrent events interleave in audit.log).  Prints a
      JSON object: events, match (key=K), nomatch (key="all"), other_keys
      (events of that session keyed otherwise: should be empty), and
      first/last event times.

  extract.py summary --dir DIR --entry JSON
      merges one case's summary entry (by "id") into DIR/summary.tsv.json,
      ordered as DIR/cases.tsv, and rewrites DIR/summary.tsv and the counts
      table of DIR/README.md (between <!-- counts:begin --> and
      <!-- counts:end -->).

LOG files are read in the order given (oldest first: audit.log.N .. audit.log),
as bytes: lines are copied byte for byte.
"""
import argparse
import json
import re
import sys

MSG_RE = re.compile(rb"msg=audit\((\d+)\.(\d+):(\d+)\)")
KEY_RE = re.compile(rb' key=("[^"]*"|\(null\)|[0-9A-F]+)')


def field(line, name):
    """Value of ` name=` in the kernel part of a record line (before the ENRICHED \\x1d tail)."""
    raw = line.split(b"\x1d", 1)[0]
    m = re.search(rb"(?:^|[ :])" + re.escape(name) + rb"=(\S+)", raw)
    return m.group(1) if m else None


def read_lines(paths):
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                yield line.rstrip(b"\n")


def cmd_session(args):
    ses = None
    for line in read_lines(args.logs):
        if not line.startswith(b"type=LOGIN "):
            continue
        m = MSG_RE.search(line)
        if not m or int(m.group(1)) < int(args.since):
            continue
        raw = line.split(b"\x1d", 1)[0]
        if re.search(rb" pid=%d " % args.pid, raw) and re.search(rb" auid=%d " % args.auid, raw):
            ses = field(line, b"ses")
    if ses is None:
        sys.stderr.write("extract.py: no LOGIN record for pid=%d auid=%d\n" % (args.pid, args.auid))
        return 1
    print(ses.decode())
    return 0


def cmd_events(args):
    auid = str(args.auid).encode()
    ses = str(args.ses).encode()
    want = {('"%s"' % args.key).encode(): "match", b'"all"': "nomatch"}
    order, lines, verdict, other = [], {}, {}, {}
    for line in read_lines(args.logs):
        m = MSG_RE.search(line)
        if not m:
            continue
        eid = m.group(0)
        if eid not in lines:
            lines[eid] = []
            order.append(eid)
        lines[eid].append(line)
        if line.startswith(b"type=SYSCALL ") and field(line, b"auid") == auid and field(line, b"ses") == ses:
            k = KEY_RE.search(line.split(b"\x1d", 1)[0])
            k = k.group(1) if k else b"(none)"
            if k in want:
                verdict[eid] = want[k]
            else:
                other[k.decode(errors="replace")] = other.get(k.decode(errors="replace"), 0) + 1
    counts = {"events": 0, "match": 0, "nomatch": 0}
    first = last = None
    with open(args.out, "wb") as out:
        for eid in order:
            if eid not in verdict:
                continue
            syscalls = [l for l in lines[eid] if l.startswith(b"type=SYSCALL ")]
            if len(syscalls) != 1:
                sys.stderr.write("extract.py: event %s has %d SYSCALL records\n" % (eid.decode(), len(syscalls)))
                return 1
            counts["events"] += 1
            counts[verdict[eid]] += 1
            ts = float(MSG_RE.search(eid).group(1) + b"." + MSG_RE.search(eid).group(2))
            first = ts if first is None else first
            last = ts
            for l in lines[eid]:
                out.write(l + b"\n")
    counts["other_keys"] = other
    counts["first"] = first
    counts["last"] = last
    print(json.dumps(counts))
    return 0


def cmd_summary(args):
    import os
    path = os.path.join(args.dir, "summary.tsv.json")
    entries = json.load(open(path)) if os.path.exists(path) else []
    new = json.loads(args.entry)
    entries = [e for e in entries if e["id"] != new["id"]] + [new]
    ids, exprs = [], {}
    with open(os.path.join(args.dir, "cases.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 3 and p[0] != "id" and p[0] and not p[0].startswith("#"):
                ids.append(p[0])
                exprs[p[0]] = p[2]
    rank = {i: n for n, i in enumerate(ids)}
    entries = sorted((e for e in entries if e["id"] in rank), key=lambda e: rank[e["id"]])
    with open(path, "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.dir, "summary.tsv"), "w") as f:
        f.write("id\tevents\tmatching\tnot_matching\tlost_before\tlost_after\n")
        for e in entries:
            f.write("%s\t%d\t%d\t%d\t%d\t%d\n" % (e["id"], e["events"], e["match"], e["nomatch"],
                                                  e["lost_before"], e["lost_after"]))
    readme = os.path.join(args.dir, "README.md")
    if os.path.exists(readme):
        text = open(readme).read()
        b, e_ = "<!-- counts:begin -->", "<!-- counts:end -->"
        if b in text and e_ in text:
            rows = ["| id | filter | events | matching (key=case_id) | not matching (key=all) | lost before\u2192after |",
                    "|---|---|---:|---:|---:|---|"]
            tot = [0, 0, 0]
            for e in entries:
                rows.append("| %s | `%s` | %d | %d | %d | %d\u2192%d |" % (
                    e["id"], exprs[e["id"]].replace("|", "\\|"), e["events"], e["match"], e["nomatch"],
                    e["lost_before"], e["lost_after"]))
                tot = [tot[0] + e["events"], tot[1] + e["match"], tot[2] + e["nomatch"]]
            rows.append("| **total** | | %d | %d | %d | |" % tuple(tot))
            head, rest = text.split(b, 1)
            tail = rest.split(e_, 1)[1]
            open(readme, "w").write(head + b + "\n" + "\n".join(rows) + "\n" + e_ + tail)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("session")
    s.add_argument("--auid", type=int, required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--since", type=float, required=True)
    s.add_argument("logs", nargs="+")
    e = sub.add_parser("events")
    e.add_argument("--auid", type=int, required=True)
    e.add_argument("--ses", type=int, required=True)
    e.add_argument("--key", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("logs", nargs="+")
    m = sub.add_parser("summary")
    m.add_argument("--dir", required=True)
    m.add_argument("--entry", required=True)
    args = ap.parse_args()
    return {"session": cmd_session, "events": cmd_events, "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
