#!/usr/bin/env python3
"""Converts the type=SYSCALL records of an auditd log into the JSON-lines record format.

Usage: make_sample.py LOG [--start N] [--limit N] [-o OUT]

Takes a contiguous run of SYSCALL records (so the sample reads like a real trace: process start-up,
file and socket activity, exit), one JSON object per line, keys in record-layout order. The log gives
a0..a3 only; a4 and a5 are 0. Records of syscalls that never return (exit, exit_group) have no
exit/success in the log and none in the output. Python 3 standard library only.
"""
import argparse
import json
import re
import sys

# AUDIT_ARCH_* values (include/uapi/linux/audit.h) for the architectures records support.
ARCHES = {0xC000003E: "x86_64", 0x40000003: "i386", 0xC00000B7: "aarch64"}

U32_FIELDS = ["pid", "ppid", "auid", "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "ses"]
STRING_LIMITS = {"comm": 15, "exe": 4096}
U32_MAX, U64_MAX, S64_MIN, S64_MAX = 2**32 - 1, 2**64 - 1, -(2**63), 2**63 - 1

# key=value, value either "quoted" (auditd quotes only values without special characters) or a bare token.
FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
HEX = re.compile(r"^[0-9A-Fa-f]+$")


def audit_string(raw, limit):
    """Decodes an auditd string value: "quoted", hex-encoded bytes, or (null); truncated as the kernel would."""
    if raw.startswith('"'):
        data = raw[1:-1].encode("utf-8")
    elif raw == "(null)":
        data = b""
    elif HEX.match(raw) and len(raw) % 2 == 0:
        data = bytes.fromhex(raw)
    else:
        raise ValueError(f"unrecognised string value {raw!r}")
    # JSON strings carry text: bytes that are not UTF-8 become U+FFFD. Truncate on a character boundary.
    text = data.decode("utf-8", errors="replace")
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text


def in_range(name, value, low, high):
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range")
    return value


def convert(line):
    # Enriched logs (ausearch -i / log_format=ENRICHED) append translated fields after a \x1d separator.
    fields = dict(FIELD.findall(line.split("\x1d", 1)[0]))
    arch = int(fields["arch"], 16)
    if arch not in ARCHES:
        raise ValueError(f"unsupported arch {fields['arch']}")
    record = {
        "arch": ARCHES[arch],
        "syscall": in_range("syscall", int(fields["syscall"]), 0, U32_MAX),
    }
    # exit and exit_group never return: their records have no exit= or success=, so the JSON leaves those
    # keys out too (a reader takes 0 and false) rather than invent values.
    returned = "exit" in fields
    if returned != ("success" in fields):
        raise ValueError("exit= and success= must come together")
    if returned:
        record["exit"] = in_range("exit", int(fields["exit"]), S64_MIN, S64_MAX)
    for i in range(6):
        key = f"a{i}"
        record[key] = in_range(key, int(fields[key], 16), 0, U64_MAX) if key in fields else 0
    for key in U32_FIELDS:
        record[key] = in_range(key, int(fields[key]), 0, U32_MAX)
    if returned:
        if fields["success"] not in ("yes", "no"):
            raise ValueError(f"success={fields['success']}")
        record["success"] = fields["success"] == "yes"
    for key, limit in STRING_LIMITS.items():
        record[key] = audit_string(fields.get(key, "(null)"), limit)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="auditd log (raw or enriched)")
    parser.add_argument("--start", type=int, default=0, help="SYSCALL records to skip first (default 0)")
    parser.add_argument("--limit", type=int, default=800, help="SYSCALL records to convert (default 800)")
    parser.add_argument("-o", "--output", help="output file (default stdout)")
    args = parser.parse_args()

    records = []
    seen = 0
    with open(args.log, encoding="utf-8", errors="surrogateescape") as log:
        for number, line in enumerate(log, 1):
            if not line.startswith("type=SYSCALL "):
                continue
            seen += 1
            if seen <= args.start:
                continue
            try:
                records.append(convert(line))
            except (KeyError, ValueError) as e:
                sys.exit(f"{args.log}:{number}: error: {e}")
            if len(records) == args.limit:
                break

    out = open(args.output, "w", encoding="utf-8", newline="\n") if args.output else sys.stdout
    with out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} records from {args.log}", file=sys.stderr)


if __name__ == "__main__":
    main()
