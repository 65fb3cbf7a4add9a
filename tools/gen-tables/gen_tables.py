#!/usr/bin/env python3
"""Generates the filter compiler's syscall and named-constant tables from Linux kernel sources.

Usage: gen_tables.py KERNEL_DIR [--out DIR] [--tree TEXT] [--source PATH=TEXT ...]

KERNEL_DIR is a kernel source tree, or any directory holding these files at their kernel paths:

  arch/x86/entry/syscalls/syscall_64.tbl    x86_64 syscalls (abis common and 64; x32 is not ours)
  arch/x86/entry/syscalls/syscall_32.tbl    i386 syscalls
  scripts/syscall.tbl                       aarch64 syscalls (the generic table, 6.11+) ...
  scripts/Makefile.asm-headers              ... with the default 64-bit abis ...
  arch/arm64/kernel/Makefile.syscalls       ... plus the ones arm64 adds
  include/uapi/asm-generic/errno-base.h     errno names
  include/uapi/asm-generic/errno.h
  arch/x86/include/uapi/asm/signal.h        signal names
  include/uapi/asm-generic/fcntl.h          O_* open flags (x86_64 and i386 use these as they are)
  arch/arm64/include/uapi/asm/fcntl.h       arm64's overrides of some O_* flags
  include/uapi/linux/sched.h                CLONE_* flags

and writes Syscalls.Generated.cs into --syscalls-out (default: src/Bytecode/Syscalls) and Constants.Generated.cs into --out (default: the compiler's
Tables directory). Each generated file's header says where its inputs came from: --tree TEXT for
the whole tree (say, "torvalds/linux v6.12, commit ..."; a top-level Makefile in KERNEL_DIR adds its
version by itself) and --source PATH=TEXT for one input file. Python 3 standard library only.
"""
import argparse
import os
import re
import sys

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "Compiler", "Tables")
# Syscall numbers are the record's ABI (the kernel back end needs them too): the bytecode's assembly.
DEFAULT_SYSCALLS_OUT = os.path.join(REPO_ROOT, "src", "Bytecode", "Syscalls")

X86_64_TBL = "arch/x86/entry/syscalls/syscall_64.tbl"
I386_TBL = "arch/x86/entry/syscalls/syscall_32.tbl"
GENERIC_TBL = "scripts/syscall.tbl"
ASM_HEADERS_MK = "scripts/Makefile.asm-headers"
ARM64_SYSCALLS_MK = "arch/arm64/kernel/Makefile.syscalls"
ERRNO_BASE_H = "include/uapi/asm-generic/errno-base.h"
ERRNO_H = "include/uapi/asm-generic/errno.h"
SIGNAL_H = "arch/x86/include/uapi/asm/signal.h"
GENERIC_FCNTL_H = "include/uapi/asm-generic/fcntl.h"
ARM64_FCNTL_H = "arch/arm64/include/uapi/asm/fcntl.h"
SCHED_H = "include/uapi/linux/sched.h"

# Which headers make up <asm/fcntl.h> on each architecture, in include order. arm64's header defines
# its own values before including the generic one, whose #ifndef guards then keep them.
# (arch/x86/include/uapi/asm/fcntl.h is only "#include <asm-generic/fcntl.h>".)
FCNTL_HEADERS = {
    "x86_64": [GENERIC_FCNTL_H],
    "i386": [GENERIC_FCNTL_H],
    "aarch64": [ARM64_FCNTL_H, GENERIC_FCNTL_H],
}


class GenError(Exception):
    pass


# Lines to add to an input before it is read (--append): {rel: text}.
APPENDED = {}
APPEND_NAME = None


def read(kernel_dir, rel):
    path = os.path.join(kernel_dir, rel)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read() + APPENDED.get(rel, "")
    except OSError as e:
        raise GenError(f"{rel}: {e.strerror}") from e


def load_appends(file):
    """The sections of an --append file: '@ PATH' starts the lines added to input PATH; '#' lines are comments."""
    try:
        with open(file, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise GenError(f"{file}: {e.strerror}") from e
    rel = None
    for line_no, line in enumerate(lines, 1):
        if line.startswith("@"):
            rel = line[1:].strip()
            APPENDED.setdefault(rel, "\n")
        elif line.strip() and not line.startswith("#"):
            if rel is None:
                raise GenError(f"{file}:{line_no}: a line before the first '@ PATH'")
            APPENDED[rel] += line + "\n"


# ---- syscall tables ----------------------------------------------------------------------------

def read_syscall_table(kernel_dir, rel, abis):
    """(name, number) of every line of a syscall.tbl whose abi is in abis.

    Lines without an entry point (reserved or removed calls such as x86_64's tuxcall) are kept: the
    number still names that syscall in audit records, and ausyscall lists them too.
    """
    by_number, by_name = {}, {}
    for line_no, line in enumerate(read(kernel_dir, rel).splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 3:
            raise GenError(f"{rel}:{line_no}: expected '<number> <abi> <name> ...'")
        number, abi, name = int(fields[0]), fields[1], fields[2]
        if abi not in abis:
            continue
        # Two names for one number, or one name at two numbers, would make lookups ambiguous.
        if number in by_number or name in by_name:
            raise GenError(f"{rel}:{line_no}: '{name}' = {number} clashes with an earlier line")
        by_number[number], by_name[name] = name, number
    if not by_name:
        raise GenError(f"{rel}: no syscalls with abis {sorted(abis)}")
    return sorted(by_name.items(), key=lambda e: (e[1], e[0]))


def makefile_abis_64(kernel_dir, rel):
    """The abis a kernel Makefile appends to syscall_abis_64 ("+= common,64", "+= renameat rlimit")."""
    abis = set()
    for m in re.finditer(r"^syscall_abis_64[ \t]*\+?=[ \t]*(.*)$", read(kernel_dir, rel), re.M):
        abis.update(a for a in re.split(r"[\s,]+", m.group(1)) if a)
    return abis


def aarch64_abis(kernel_dir):
    # The generic table holds every architecture's variants; arm64 takes the default 64-bit abis
    # (common, 64) plus the legacy calls it still provides (renameat, getrlimit/setrlimit, ...).
    abis = makefile_abis_64(kernel_dir, ASM_HEADERS_MK) | makefile_abis_64(kernel_dir, ARM64_SYSCALLS_MK)
    if not {"common", "64"} <= abis:
        raise GenError(f"{ASM_HEADERS_MK}: expected syscall_abis_64 to include common and 64, got {sorted(abis)}")
    return abis


# ---- #define evaluation ------------------------------------------------------------------------

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# [ \t]+ rather than \s+: a define with no value must not swallow the next line.
DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+(\S[^\n]*?)[ \t]*$", re.M)
INT_LITERAL = re.compile(r"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$")
TOKEN = re.compile(r"\s*(0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*|[A-Za-z_]\w*|<<|[|()])")


def read_defines(kernel_dir, rels):
    """name -> expression text for the object-like #defines of the headers, in include order.

    The first definition of a name wins: that is what the kernel headers' #ifndef guards do when an
    architecture header defines a value before including the generic one. Comments are dropped first
    so that commented-out defines (x86's SIGLOST) do not count.
    """
    defines = {}
    for rel in rels:
        text = COMMENT.sub(" ", read(kernel_dir, rel))
        for m in DEFINE.finditer(text):
            defines.setdefault(m.group(1), m.group(2))
    return defines


def int_literal(text):
    """The value of a C integer literal (hex, octal or decimal, any suffix), or None."""
    m = INT_LITERAL.match(text)
    if not m:
        return None
    digits = m.group(1)
    if digits[:2] in ("0x", "0X"):
        return int(digits, 16)
    return int(digits, 8) if digits.startswith("0") else int(digits, 10)


def evaluate(name, defines, seen=()):
    """The value of a #define built from literals, other defines, '|', '<<' and parentheses."""
    if name in seen:
        raise GenError(f"#define {name} refers to itself")
    if name not in defines:
        raise GenError(f"{name} is not defined")
    expr = defines[name]
    tokens, pos = [], 0
    while pos < len(expr.rstrip()):
        m = TOKEN.match(expr, pos)
        if not m:
            raise GenError(f"#define {name} {expr}: cannot evaluate '{expr[pos:].strip()}'")
        tokens.append(m.group(1))
        pos = m.end()

    def primary(i):
        tok = tokens[i] if i < len(tokens) else None
        if tok == "(":
            value, i = bitor(i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise GenError(f"#define {name} {expr}: unbalanced parentheses")
            return value, i + 1
        if tok is not None and int_literal(tok) is not None:
            return int_literal(tok), i + 1
        if tok is not None and re.match(r"[A-Za-z_]", tok):
            return evaluate(tok, defines, seen + (name,)), i + 1
        raise GenError(f"#define {name} {expr}: unexpected {tok!r}")

    def shift(i):
        value, i = primary(i)
        while i < len(tokens) and tokens[i] == "<<":
            rhs, i = primary(i + 1)
            value <<= rhs
        return value, i

    def bitor(i):
        value, i = shift(i)
        while i < len(tokens) and tokens[i] == "|":
            rhs, i = shift(i + 1)
            value |= rhs
        return value, i

    value, end = bitor(0)
    if end != len(tokens):
        raise GenError(f"#define {name} {expr}: trailing tokens")
    return value


# ---- named constants ---------------------------------------------------------------------------

def errno_constants(kernel_dir):
    # x86 and arm64 both use the asm-generic errno numbers. Aliases (EWOULDBLOCK = EAGAIN,
    # EDEADLOCK = EDEADLK) are kept: filters are written with either spelling.
    defines = read_defines(kernel_dir, [ERRNO_BASE_H, ERRNO_H])
    return [(n, evaluate(n, defines)) for n in defines if re.fullmatch(r"E[A-Z0-9]+", n)]


def signal_constants(kernel_dir):
    # Standard signals only: a name whose value is a plain number in 1..31. That keeps aliases
    # spelled as numbers (SIGIOT, SIGUNUSED) and drops SIGPOLL (= SIGIO), SIGRTMIN/SIGRTMAX (not
    # constants from userland) and SIGSTKSZ (a size). arm64's asm-generic/signal.h numbers 1..31
    # the same way as x86.
    defines = read_defines(kernel_dir, [SIGNAL_H])
    out = []
    for n, expr in defines.items():
        value = int_literal(expr)
        if re.fullmatch(r"SIG[A-Z0-9]+", n) and value is not None and 1 <= value <= 31:
            out.append((n, value))
    return out


def open_flag_constants(kernel_dir):
    """(kept, excluded): O_* flags with one value on every supported arch, and the others.

    Filter constants are arch-independent, so a flag whose value depends on the architecture
    (arm64 moves O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE) cannot be one.
    """
    per_arch = {arch: read_defines(kernel_dir, rels) for arch, rels in FCNTL_HEADERS.items()}
    names = sorted({n for d in per_arch.values() for n in d if re.fullmatch(r"O_[A-Z0-9_]+", n)})
    kept, excluded = [], []
    for n in names:
        values = {arch: evaluate(n, d) for arch, d in per_arch.items()}
        if len(set(values.values())) == 1:
            kept.append((n, values["x86_64"]))
        else:
            excluded.append((n, values))
    return kept, excluded


def clone_flag_constants(kernel_dir):
    # CLONE_ARGS_SIZE_* are struct clone_args sizes, not flags (and CSIGNAL is a mask).
    defines = read_defines(kernel_dir, [SCHED_H])
    out = []
    for n in defines:
        if not re.fullmatch(r"CLONE_[A-Z0-9_]+", n) or n.startswith("CLONE_ARGS_SIZE_"):
            continue
        value = evaluate(n, defines)
        if value <= 0 or value & (value - 1) or value >= 1 << 64:
            raise GenError(f"{SCHED_H}: {n} = {value:#x} is not a single 64-bit flag")
        out.append((n, value))
    return out


# ---- C# output ---------------------------------------------------------------------------------

def kernel_version(kernel_dir):
    """ "6.11.0-rc3" from a kernel tree's top-level Makefile, or None when there is none."""
    try:
        text = read(kernel_dir, "Makefile")
    except GenError:
        return None
    fields = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=[ \t]*(\S*)", text, re.M))
    if "VERSION" not in fields:
        return None
    return f"{fields['VERSION']}.{fields.get('PATCHLEVEL', '0')}.{fields.get('SUBLEVEL', '0')}{fields.get('EXTRAVERSION', '')}"


def header(kernel_dir, tree, sources, inputs):
    lines = ["// <auto-generated>",
             "//   Generated by tools/gen-tables/gen_tables.py from Linux kernel sources. Do not edit:",
             "//   change the script or its inputs and regenerate (tools/gen-tables/README.md)."]
    version = kernel_version(kernel_dir)
    if version:
        lines.append(f"//   Kernel tree: Linux {version}")
    if tree:
        lines.append(f"//   Sources: {tree}")
    lines.append("//   Inputs:")
    for rel in inputs:
        lines.append(f"//     {rel}")
        if rel in sources:
            lines.append(f"//       from {sources[rel]}")
        if rel in APPENDED:
            lines.append(f"//       with the lines of {APPEND_NAME} for it added (the calls of later kernels)")
    lines.append("// </auto-generated>")
    return "\n".join(lines) + "\n"


def cs_string(s):
    if not re.fullmatch(r"[A-Za-z0-9_]+", s):
        raise GenError(f"unexpected characters in name {s!r}")
    return f'"{s}"'


def cs_array(comment, type_, name, rows):
    out = [f"    /// <summary>{comment}</summary>",
           f"    internal static readonly {type_}[] {name} =",
           "    ["]
    out += [f"        ({cs_string(n)}, {v})," for n, v in rows]
    out.append("    ];")
    return "\n".join(out)


def sort_rows(rows):
    return sorted(rows, key=lambda r: (r[1], r[0]))


def syscalls_cs(kernel_dir, tree, sources):
    arm64_abis = aarch64_abis(kernel_dir)
    tables = [
        ("X86_64", f"x86_64: {X86_64_TBL}, abis common and 64.", read_syscall_table(kernel_dir, X86_64_TBL, {"common", "64"})),
        ("I386", f"i386: {I386_TBL}.", read_syscall_table(kernel_dir, I386_TBL, {"i386"})),
        ("Aarch64", f"aarch64: {GENERIC_TBL}, abis {', '.join(sorted(arm64_abis))}.", read_syscall_table(kernel_dir, GENERIC_TBL, arm64_abis)),
    ]
    body = "\n\n".join(cs_array(c, "(string Name, int Number)", n, rows) for n, c, rows in tables)
    text = (header(kernel_dir, tree, sources, [X86_64_TBL, I386_TBL, GENERIC_TBL, ASM_HEADERS_MK, ARM64_SYSCALLS_MK])
            + "\nnamespace Filter.Bytecode;\n\n"
            + "/// <summary>Syscall names and numbers per architecture, sorted by number then name.</summary>\n"
            + "internal static partial class SyscallData\n{\n" + body + "\n}\n")
    return text, {n: len(rows) for n, _, rows in tables}


def constants_cs(kernel_dir, tree, sources):
    errno = sort_rows(errno_constants(kernel_dir))
    signals = sort_rows(signal_constants(kernel_dir))
    open_flags, excluded = open_flag_constants(kernel_dir)
    open_flags = sort_rows(open_flags)
    clone_flags = sort_rows(clone_flag_constants(kernel_dir))

    names = [n for rows in (errno, signals, open_flags, clone_flags) for n, _ in rows]
    if len(names) != len(set(names)):
        raise GenError("a constant name appears in two groups")

    hex_rows = lambda rows: [(n, f"0x{v:X}UL") for n, v in rows]
    excluded_lines = ["    // O_* flags left out because their value depends on the architecture:"]
    excluded_lines += [f"    //   {n}: " + ", ".join(f"{arch} 0x{v:X}" for arch, v in values.items()) for n, values in excluded]
    arrays = [
        cs_array(f"errno values: {ERRNO_BASE_H}, {ERRNO_H}.", "(string Name, ulong Value)", "Errno", errno),
        cs_array(f"Standard signals 1..31: {SIGNAL_H}.", "(string Name, ulong Value)", "Signals", signals),
        "\n".join(excluded_lines) + "\n" + cs_array(
            f"open(2) flags with the same value on x86_64, i386 and aarch64: {GENERIC_FCNTL_H}, {ARM64_FCNTL_H}.",
            "(string Name, ulong Value)", "OpenFlags", hex_rows(open_flags)),
        cs_array(f"clone(2)/clone3(2) flags: {SCHED_H}.", "(string Name, ulong Value)", "CloneFlags", hex_rows(clone_flags)),
    ]
    text = (header(kernel_dir, tree, sources, [ERRNO_BASE_H, ERRNO_H, SIGNAL_H, GENERIC_FCNTL_H, ARM64_FCNTL_H, SCHED_H])
            + "\nnamespace Filter.Compiler.Tables;\n\n"
            + "/// <summary>Named integer constants of the filter language, each group sorted by value then name.</summary>\n"
            + "internal static partial class ConstantData\n{\n" + "\n\n".join(arrays) + "\n}\n")
    counts = {"Errno": len(errno), "Signals": len(signals), "OpenFlags": len(open_flags), "CloneFlags": len(clone_flags)}
    return text, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernel_dir", help="kernel source tree (or a directory mirroring the files listed above)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory of the constants (default: src/Compiler/Tables)")
    ap.add_argument("--syscalls-out", default=DEFAULT_SYSCALLS_OUT, help="output directory of the syscall tables (default: src/Bytecode/Syscalls)")
    ap.add_argument("--tree", help="where the kernel files came from, for the header")
    ap.add_argument("--source", action="append", default=[], metavar="PATH=TEXT",
                    help="where input PATH came from, for the header (repeatable)")
    ap.add_argument("--append", metavar="FILE",
                    help="add the kernel .tbl lines of FILE's '@ PATH' sections to those inputs (tools/gen-tables/syscalls-since-v6.11.tbl)")
    ap.add_argument("--syscalls-only", action="store_true", help="write only Syscalls.Generated.cs")
    args = ap.parse_args()
    global APPEND_NAME
    if args.append:
        APPEND_NAME = os.path.relpath(args.append, REPO_ROOT)
        try:
            load_appends(args.append)
        except GenError as e:
            sys.exit(f"gen_tables: {e}")
    sources = dict(s.split("=", 1) for s in args.source if "=" in s)
    if len(sources) != len(args.source):
        sys.exit("gen_tables: --source takes PATH=TEXT")
    try:
        outputs = [(args.syscalls_out, "Syscalls.Generated.cs", *syscalls_cs(args.kernel_dir, args.tree, sources))]
        if not args.syscalls_only:
            outputs.append((args.out, "Constants.Generated.cs", *constants_cs(args.kernel_dir, args.tree, sources)))
    except GenError as e:
        sys.exit(f"gen_tables: {e}")
    for out, file, text, counts in outputs:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, file), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"{file}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
