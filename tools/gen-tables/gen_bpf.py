#!/usr/bin/env python3
"""Generates the kernel back end's bpf(2), eBPF opcode and BTF tables from the Linux UAPI headers.

Usage: gen_bpf.py KERNEL_DIR [--out DIR] [--tree TEXT] [--source PATH=TEXT ...]

KERNEL_DIR is a kernel source tree, or any directory holding these files at their kernel paths (a
directory with linux/bpf.h etc. directly, such as /usr/include, works too: see --flat):

  include/uapi/linux/bpf_common.h   classic opcode fields (class, size, mode, ALU/jump ops, source)
  include/uapi/linux/bpf.h          eBPF additions, bpf(2) commands, map/program/attach types, helper
                                    ids (__BPF_FUNC_MAPPER), flags, union bpf_attr, struct bpf_prog_info
  include/uapi/linux/btf.h          the BTF format: header, type records, kinds

and writes into --out (default: src/Kernel):

  Sys/Bpf.Generated.cs      enums of commands, map/program/attach/link types, helper ids; the flags
                            the back end uses; the attribute structs it passes to bpf(2), with explicit
                            offsets computed with the C layout rules
  Asm/OpcodeFields.Generated.cs   the opcode bit fields (class, size, mode, source, ALU and jump ops)
  Btf/BtfFormat.Generated.cs      BTF kinds and the sizes and offsets of its records

Only the attribute structs and flags named in WANTED_* below are written (the file stays small), but
every enum is written whole. Python 3 standard library only; the parser understands the subset of C
these headers use (integer typedefs, fixed arrays, nested and anonymous structs and unions, bitfields).
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_tables import GenError, kernel_version  # noqa: E402

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "src", "Kernel")

BPF_COMMON_H = "include/uapi/linux/bpf_common.h"
BPF_H = "include/uapi/linux/bpf.h"
BTF_H = "include/uapi/linux/btf.h"
INPUTS = [BPF_COMMON_H, BPF_H, BTF_H]

# enum name in the header -> (C# name, prefix stripped from each constant, underlying type)
WANTED_ENUMS = [
    ("bpf_cmd", "BpfCommand", "BPF_", "int"),
    ("bpf_map_type", "MapType", "BPF_MAP_TYPE_", "uint"),
    ("bpf_prog_type", "ProgramType", "BPF_PROG_TYPE_", "uint"),
    ("bpf_attach_type", "AttachType", "BPF_", "uint"),
    ("bpf_link_type", "LinkType", "BPF_LINK_TYPE_", "uint"),
    ("bpf_stats_type", "StatsType", "BPF_STATS_", "uint"),
]

# Constants (from #defines or enum members) the back end uses, by header name.
WANTED_CONSTANTS = [
    "BPF_ANY", "BPF_NOEXIST", "BPF_EXIST",
    "BPF_F_NO_PREALLOC", "BPF_F_RDONLY_PROG", "BPF_F_WRONLY_PROG", "BPF_F_RDONLY", "BPF_F_MMAPABLE",
    "BPF_F_STRICT_ALIGNMENT", "BPF_F_SLEEPABLE", "BPF_F_TEST_RUN_ON_CPU",
    "BPF_PSEUDO_MAP_FD", "BPF_PSEUDO_MAP_VALUE", "BPF_PSEUDO_CALL",
    "BPF_OBJ_NAME_LEN", "BPF_TAG_SIZE",
    "BPF_RB_NO_WAKEUP", "BPF_RB_FORCE_WAKEUP", "BPF_RB_AVAIL_DATA",
    "BPF_RINGBUF_BUSY_BIT", "BPF_RINGBUF_DISCARD_BIT", "BPF_RINGBUF_HDR_SZ",
    "BPF_LOCAL_STORAGE_GET_F_CREATE", "BPF_F_CURRENT_CPU",
]

# Members of union bpf_attr, by member name or by the command named in the comment of an anonymous
# one, and the C# struct each becomes.
WANTED_ATTRS = [
    ("MapCreateAttr", "BPF_MAP_CREATE"),
    ("MapElemAttr", "BPF_MAP_*_ELEM"),
    ("ProgLoadAttr", "BPF_PROG_LOAD"),
    ("TestRunAttr", "test"),
    ("GetIdAttr", "BPF_*_GET_*_ID"),
    ("InfoAttr", "info"),
    ("RawTracepointAttr", "raw_tracepoint"),
    ("LinkCreateAttr", "link_create"),
    ("EnableStatsAttr", "enable_stats"),
]
WANTED_STRUCTS_BPF = [("ProgInfo", "bpf_prog_info"), ("MapInfo", "bpf_map_info")]
WANTED_STRUCTS_BTF = [("BtfHeader", "btf_header"), ("BtfType", "btf_type"), ("BtfMember", "btf_member"),
                      ("BtfArray", "btf_array"), ("BtfEnum", "btf_enum"), ("BtfEnum64", "btf_enum64"),
                      ("BtfParam", "btf_param"), ("BtfVar", "btf_var"), ("BtfVarSecinfo", "btf_var_secinfo"),
                      ("BtfDeclTag", "btf_decl_tag")]

# The opcode bit fields: group -> the header names whose values make it.
OPCODE_FIELDS = [
    ("OpClass", "instruction class, bits 0-2", ["BPF_LD", "BPF_LDX", "BPF_ST", "BPF_STX", "BPF_ALU", "BPF_JMP", "BPF_JMP32", "BPF_ALU64"]),
    ("OpSize", "load/store size, bits 3-4", ["BPF_W", "BPF_H", "BPF_B", "BPF_DW"]),
    ("OpMode", "load/store mode, bits 5-7", ["BPF_IMM", "BPF_ABS", "BPF_IND", "BPF_MEM", "BPF_ATOMIC"]),
    ("OpSource", "operand source, bit 3", ["BPF_K", "BPF_X"]),
    ("AluOp", "ALU operation, bits 4-7", ["BPF_ADD", "BPF_SUB", "BPF_MUL", "BPF_DIV", "BPF_OR", "BPF_AND", "BPF_LSH", "BPF_RSH",
                                       "BPF_NEG", "BPF_MOD", "BPF_XOR", "BPF_MOV", "BPF_ARSH", "BPF_END"]),
    ("JumpOp", "jump operation, bits 4-7", ["BPF_JA", "BPF_JEQ", "BPF_JGT", "BPF_JGE", "BPF_JSET", "BPF_JNE", "BPF_JSGT", "BPF_JSGE",
                                         "BPF_CALL", "BPF_EXIT", "BPF_JLT", "BPF_JLE", "BPF_JSLT", "BPF_JSLE"]),
]

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+(\S[^\n]*?)[ \t]*$", re.M)


def read(kernel_dir, rel, flat):
    path = os.path.join(kernel_dir, rel[len("include/uapi/"):] if flat else rel)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise GenError(f"{path}: {e.strerror}") from e


# ---- expressions ------------------------------------------------------------------------------

EXPR_TOKEN = re.compile(r"\s*(0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*|[A-Za-z_]\w*|<<|>>|[-+|&~()])")


def eval_expr(text, names, what):
    """Value of a C constant expression of literals, known names, + - | & ~ << >> and parentheses."""
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = EXPR_TOKEN.match(text, pos)
        if not m:
            raise GenError(f"{what}: cannot evaluate '{text[pos:]}'")
        tokens.append(m.group(1))
        pos = m.end()
    at = [0]

    def peek():
        return tokens[at[0]] if at[0] < len(tokens) else None

    def take():
        at[0] += 1
        return tokens[at[0] - 1]

    def primary():
        tok = take() if peek() is not None else None
        if tok == "(":
            # A cast such as (__u64) is skipped.
            if peek() in ("__u64", "__u32", "unsigned") and at[0] + 1 < len(tokens) and tokens[at[0] + 1] == ")":
                take(), take()
                return primary()
            v = bitor()
            if take() != ")":
                raise GenError(f"{what}: unbalanced parentheses in '{text}'")
            return v
        if tok == "~":
            return ~primary()
        if tok == "-":
            return -primary()
        if tok and re.match(r"[0-9]", tok):
            digits = tok.rstrip("uUlL")
            return int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 8) if len(digits) > 1 and digits[0] == "0" else int(digits)
        if tok and tok in names:
            return names[tok]
        raise GenError(f"{what}: unknown name or token {tok!r} in '{text}'")

    def additive():
        v = primary()
        while peek() in ("+", "-"):
            v = v + primary() if take() == "+" else v - primary()
        return v

    def shift():
        v = additive()
        while peek() in ("<<", ">>"):
            v = v << additive() if take() == "<<" else v >> additive()
        return v

    def bitand():
        v = shift()
        while peek() == "&":
            take()
            v &= shift()
        return v

    def bitor():
        v = bitand()
        while peek() == "|":
            take()
            v |= bitand()
        return v

    value = bitor()
    if at[0] != len(tokens):
        raise GenError(f"{what}: trailing tokens in '{text}'")
    return value


def defines_of(text, names):
    """Adds every object-like #define whose value evaluates to an integer to names (in order)."""
    for m in DEFINE.finditer(text):
        if m.group(1) in names:
            continue
        try:
            names[m.group(1)] = eval_expr(m.group(2), names, m.group(1))
        except GenError:
            pass  # not an integer constant (a function-like macro's body, a string, ...)


ENUM = re.compile(r"\benum\s*(\w*)\s*\{(.*?)\}", re.S)


def enums_of(text, names):
    """{enum name: [(member, value)]} for every enum (anonymous ones under ''), adding members to names."""
    out = {}
    for m in ENUM.finditer(text):
        members, value = [], -1
        for entry in m.group(2).split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, _, expr = entry.partition("=")
            name = name.strip()
            value = eval_expr(expr, names, name) if expr.strip() else value + 1
            names[name] = value
            members.append((name, value))
        out.setdefault(m.group(1), []).extend(members)
    return out


def func_ids(text):
    """Helper names and ids from __BPF_FUNC_MAPPER: FN(name) in order (to 6.1) or FN(name, id, ...) (6.2+)."""
    m = re.search(r"#define\s+__BPF_FUNC_MAPPER\(FN[^)]*\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if not m:
        raise GenError(f"{BPF_H}: no __BPF_FUNC_MAPPER")
    rows = []
    for i, fm in enumerate(re.finditer(r"\bFN\(\s*(\w+)\s*(?:,\s*(\d+))?", m.group(1))):
        rows.append((fm.group(1), int(fm.group(2)) if fm.group(2) else i))
    if not rows or rows[0] != ("unspec", 0):
        raise GenError(f"{BPF_H}: __BPF_FUNC_MAPPER does not start with FN(unspec)")
    return rows


# ---- struct layout ----------------------------------------------------------------------------

SCALARS = {"__u8": (1, 1), "__s8": (1, 1), "char": (1, 1), "__u16": (2, 2), "__s16": (2, 2), "__be16": (2, 2),
           "__u32": (4, 4), "__s32": (4, 4), "__be32": (4, 4), "int": (4, 4),
           "__u64": (8, 8), "__s64": (8, 8), "__aligned_u64": (8, 8)}
CS_TYPES = {1: "byte", 2: "ushort", 4: "uint", 8: "ulong"}
SIGNED = {"__s8": "sbyte", "__s16": "short", "__s32": "int", "__s64": "long", "int": "int"}
STRUCT_TOKEN = re.compile(r"\s*(__attribute__\s*\(\(.*?\)\)|[A-Za-z_]\w*|[0-9]+[uU]?|[{}\[\];:,*])", re.S)


class Field:
    def __init__(self, path, offset, ctype, size, count):
        self.path, self.offset, self.ctype, self.size, self.count = path, offset, ctype, size, count


class Layout:
    """A struct or union body laid out with the C rules: fields (flattened), size, alignment."""

    def __init__(self):
        self.fields, self.size, self.align = [], 0, 1


def tokenize(body):
    toks, pos = [], 0
    while pos < len(body):
        if body[pos].isspace():
            pos += 1
            continue
        m = STRUCT_TOKEN.match(body, pos)
        if not m:
            raise GenError(f"cannot parse C near '{body[pos:pos + 40]}'")
        if not m.group(1).startswith("__attribute__"):
            toks.append(m.group(1))
        pos = m.end()
    return toks


def parse_members(toks, i, is_union, names):
    """Lays out members from toks[i] to the closing brace; returns (Layout, index after '}')."""
    lay = Layout()
    bit_unit = None  # (offset, size, bits used) of the open bitfield storage unit

    def place(size, align):
        nonlocal bit_unit
        bit_unit = None
        if is_union:
            lay.size = max(lay.size, size)
            off = 0
        else:
            off = -(-lay.size // align) * align
            lay.size = off + size
        lay.align = max(lay.align, align)
        return off

    while toks[i] != "}":
        if toks[i] in ("struct", "union") and (toks[i + 1] == "{" or toks[i + 2] == "{"):
            inner_union = toks[i] == "union"
            i += 1 if toks[i + 1] == "{" else 2
            inner, i = parse_members(toks, i + 1, inner_union, names)
            name = None
            if toks[i] != ";":
                name = toks[i]
                i += 1
            if toks[i] != ";":
                raise GenError(f"expected ';' after nested {'union' if inner_union else 'struct'}")
            i += 1
            off = place(inner.size, inner.align)
            for f in inner.fields:
                lay.fields.append(Field(([name] if name else []) + f.path, off + f.offset, f.ctype, f.size, f.count))
            continue
        ctype = toks[i]
        if ctype not in SCALARS:
            raise GenError(f"unsupported member type '{ctype}'")
        size, align = SCALARS[ctype]
        i += 1
        if toks[i] == ":":  # an unnamed bitfield (padding)
            name, bits = None, int(toks[i + 1].rstrip("uU"))
            i += 2
        else:
            name = toks[i]
            i += 1
            bits = None
            if toks[i] == ":":
                bits = int(toks[i + 1].rstrip("uU"))
                i += 2
        count = 1
        if toks[i] == "[":
            count = eval_expr(toks[i + 1], names, name or "array")
            if toks[i + 2] != "]":
                raise GenError(f"array size of {name} is not a single constant")
            i += 3
        if toks[i] != ";":
            raise GenError(f"expected ';' after member {name}, got '{toks[i]}'")
        i += 1
        if bits is not None and not is_union:
            if bit_unit and bit_unit[1] == size and bit_unit[2] + bits <= size * 8:
                bit_unit = (bit_unit[0], size, bit_unit[2] + bits)
            else:
                off = place(size, align)
                bit_unit = (off, size, bits)
            continue  # bitfields take space but are not emitted
        off = place(size * count, align)
        if name:
            lay.fields.append(Field([name], off, ctype, size, count))
    lay.size = -(-lay.size // lay.align) * lay.align
    return lay, i + 1


def find_body(text, keyword, name):
    m = re.search(rf"\b{keyword}\s+{name}\s*\{{", text)
    if not m:
        raise GenError(f"no {keyword} {name}")
    depth, j = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return text[m.end():j - 1]


def struct_layout(text, name, names):
    toks = tokenize(COMMENT.sub(" ", find_body(text, "struct", name)) + "}")
    lay, _ = parse_members(toks, 0, False, names)
    return lay


def attr_layouts(raw_text, names):
    """{selector: Layout} for the top-level members of union bpf_attr, keyed by member name and by the
    text of the comment that opens an anonymous member."""
    body = find_body(raw_text, "union", "bpf_attr")
    out = {}
    depth, start, comment = 0, None, ""
    for m in re.finditer(r"/\*.*?\*/|[{};]", body, re.S):
        tok = m.group(0)
        if tok.startswith("/*"):
            if depth == 1 and start is not None and not comment:
                comment = tok
            continue
        if tok == "{":
            depth += 1
            if depth == 1:
                start = m.end()
                comment = ""
        elif tok == "}":
            depth -= 1
            if depth == 0:
                inner = COMMENT.sub(" ", body[start:m.start()])
                rest = body[m.end():body.index(";", m.end())].strip()
                lay, _ = parse_members(tokenize(inner + "}"), 0, False, names)
                if rest:
                    out[rest] = lay
                cmds = re.findall(r"BPF_[A-Z_*]+", comment)
                for c in cmds:
                    out.setdefault(c, lay)
    return out


# ---- C# output --------------------------------------------------------------------------------

def pascal(name):
    return "".join(p[:1].upper() + p[1:].lower() for p in name.split("_") if p)


def cs_ident(name):
    ident = pascal(name)
    if not ident or ident[0].isdigit():
        ident = "_" + ident
    return ident


def header(kernel_dir, tree, sources):
    lines = ["// <auto-generated>",
             "//   Generated by tools/gen-tables/gen_bpf.py from Linux UAPI headers. Do not edit:",
             "//   change the script or its inputs and regenerate (tools/gen-tables/README.md)."]
    version = kernel_version(kernel_dir)
    if version:
        lines.append(f"//   Kernel tree: Linux {version}")
    if tree:
        lines.append(f"//   Sources: {tree}")
    lines.append("//   Inputs:")
    for rel in INPUTS:
        lines.append(f"//     {rel}" + (f" (from {sources[rel]})" if rel in sources else ""))
    lines.append("// </auto-generated>")
    return "\n".join(lines) + "\n"


def cs_struct(cs_name, c_name, lay):
    out = [f"/// <summary><c>{c_name}</c>: {lay.size} bytes.</summary>",
           f"[StructLayout(LayoutKind.Explicit, Size = {lay.size})]",
           f"public unsafe struct {cs_name}",
           "{",
           f"    public const int SizeOf = {lay.size};"]
    seen = set()
    for f in lay.fields:
        name = "".join(pascal(p) for p in f.path)
        if name in seen:
            raise GenError(f"{c_name}: two members map to {name}")
        seen.add(name)
        t = SIGNED.get(f.ctype, CS_TYPES[f.size])
        if f.count > 1:
            out.append(f"    [FieldOffset({f.offset})] public fixed {t} {name}[{f.count}];")
        else:
            out.append(f"    [FieldOffset({f.offset})] public {t} {name};")
    out.append("}")
    return "\n".join(out)


def cs_enum(cs_name, c_name, prefix, under, members, doc=None):
    out = [f"/// <summary><c>{doc or 'enum ' + c_name}</c>.</summary>", f"public enum {cs_name} : {under}", "{"]
    for name, value in members:
        if name.startswith("__") or name.startswith("MAX_") or name.startswith("NR_"):
            continue
        if not name.startswith(prefix):
            raise GenError(f"enum {c_name}: {name} lacks the prefix {prefix}")
        out.append(f"    {cs_ident(name[len(prefix):])} = {value},")
    out.append("}")
    return "\n".join(out)


def generate(kernel_dir, flat, tree, sources):
    raw = {rel: read(kernel_dir, rel, flat) for rel in INPUTS}
    text = {rel: COMMENT.sub(" ", raw[rel]) for rel in INPUTS}
    names = {}
    defines_of(text[BPF_COMMON_H], names)
    defines_of(text[BPF_H], names)
    enums = enums_of(text[BPF_H], names)
    defines_of(text[BPF_H], names)  # defines that refer to enum members
    btf_names = {}
    defines_of(text[BTF_H], btf_names)
    btf_enums = enums_of(text[BTF_H], btf_names)
    hdr = header(kernel_dir, tree, sources)

    # Sys/Bpf.Generated.cs
    parts = []
    for c_name, cs_name, prefix, under in WANTED_ENUMS:
        if c_name not in enums:
            raise GenError(f"{BPF_H}: no enum {c_name}")
        parts.append(cs_enum(cs_name, c_name, prefix, under, enums[c_name]))
    helpers = func_ids(text[BPF_H])
    parts.append(cs_enum("HelperId", "bpf_func_id", "", "int", helpers, doc="enum bpf_func_id (__BPF_FUNC_MAPPER)"))
    consts = ["/// <summary>Flags and sizes of bpf.h the back end uses (each under its header name).</summary>",
              "public static class BpfConstants", "{"]
    for n in WANTED_CONSTANTS:
        if n not in names:
            raise GenError(f"{BPF_H}: {n} is not defined")
        consts.append(f"    public const uint {n[4:] if n.startswith('BPF_') else n} = {names[n]};")
    consts.append("}")
    parts.append("\n".join(consts))
    attrs = attr_layouts(COMMENT.sub(lambda m: m.group(0) if "used by" in m.group(0) or "for BPF" in m.group(0) else " ", raw[BPF_H]), names)
    for cs_name, sel in WANTED_ATTRS:
        if sel not in attrs:
            raise GenError(f"{BPF_H}: union bpf_attr has no member for {sel}")
        parts.append(cs_struct(cs_name, f"union bpf_attr, {sel}", attrs[sel]))
    for cs_name, c_name in WANTED_STRUCTS_BPF:
        parts.append(cs_struct(cs_name, f"struct {c_name}", struct_layout(text[BPF_H], c_name, names)))
    sys_cs = (hdr + "\nusing System.Runtime.InteropServices;\n\nnamespace Filter.Kernel.Sys;\n\n"
              + "\n\n".join(parts) + "\n")

    # Asm/OpcodeFields.Generated.cs
    parts = []
    for cs_name, doc, members in OPCODE_FIELDS:
        rows = []
        for n in members:
            if n not in names:
                raise GenError(f"{n} is not defined in {BPF_COMMON_H} or {BPF_H}")
            rows.append(f"    {cs_ident(n[4:])} = 0x{names[n]:02x},")
        parts.append(f"/// <summary>The opcode's {doc}.</summary>\npublic enum {cs_name} : byte\n{{\n" + "\n".join(rows) + "\n}")
    asm_cs = hdr + "\nnamespace Filter.Kernel.Asm;\n\n" + "\n\n".join(parts) + "\n"

    # Btf/BtfFormat.Generated.cs
    kinds = next((m for m in btf_enums.get("", []) if m[0] == "BTF_KIND_UNKN"), None)
    if kinds is None:
        raise GenError(f"{BTF_H}: no BTF_KIND_* enum")
    kind_members = [m for m in btf_enums[""] if m[0].startswith("BTF_KIND_") and m[0] != "BTF_KIND_MAX"]
    parts = [cs_enum("BtfKind", "BTF_KIND_*", "BTF_KIND_", "byte", kind_members, doc="BTF_KIND_*"),
             f"/// <summary>Constants of btf.h.</summary>\npublic static class BtfConstants\n{{\n"
             f"    public const ushort Magic = 0x{btf_names['BTF_MAGIC']:x};\n"
             f"    public const byte Version = {btf_names['BTF_VERSION']};\n}}"]
    for cs_name, c_name in WANTED_STRUCTS_BTF:
        parts.append(cs_struct(cs_name, f"struct {c_name}", struct_layout(text[BTF_H], c_name, btf_names)))
    btf_cs = hdr + "\nusing System.Runtime.InteropServices;\n\nnamespace Filter.Kernel.Btf;\n\n" + "\n\n".join(parts) + "\n"

    counts = {"enums": len(WANTED_ENUMS) + 1, "helpers": len(helpers), "attrs": len(WANTED_ATTRS)}
    return [("Sys/Bpf.Generated.cs", sys_cs), ("Asm/OpcodeFields.Generated.cs", asm_cs), ("Btf/BtfFormat.Generated.cs", btf_cs)], counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernel_dir", help="kernel source tree, or an include directory with --flat")
    ap.add_argument("--flat", action="store_true", help="KERNEL_DIR holds linux/bpf.h etc. (as /usr/include does)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: src/Kernel)")
    ap.add_argument("--tree", help="where the kernel files came from, for the header")
    ap.add_argument("--source", action="append", default=[], metavar="PATH=TEXT",
                    help="where input PATH came from, for the header (repeatable)")
    args = ap.parse_args()
    sources = dict(s.split("=", 1) for s in args.source if "=" in s)
    try:
        outputs, counts = generate(args.kernel_dir, args.flat, args.tree, sources)
    except GenError as e:
        sys.exit(f"gen_bpf: {e}")
    for rel, text in outputs:
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
