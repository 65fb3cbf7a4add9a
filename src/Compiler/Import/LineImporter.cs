using System.Globalization;
using Filter.Compiler.Tables;
using static Filter.Compiler.Import.AuditctlImporter;

namespace Filter.Compiler.Import;

/// <summary>
/// One line of a rules file: its options, read as auditctl's <c>setopt</c> reads them (getopt, options in
/// any order), then the rule translated field by field as the kernel's <c>audit_filter_rules</c> tests it.
/// </summary>
internal sealed partial class LineImporter(string source, int lineNumber, string line, ImportOptions options, List<ImportFinding> diagnostics)
{
    private readonly record struct Token(string Text, int Column);

    // auditctl's field names (libaudit fieldtab.h) that exist in our records or that we recognise to reject.
    private static readonly HashSet<string> UidFields = ["uid", "euid", "suid", "fsuid", "auid", "loginuid"];
    private static readonly HashSet<string> GidFields = ["gid", "egid", "sgid", "fsgid"];
    private static readonly HashSet<string> ArgFields = ["a0", "a1", "a2", "a3"];
    private static readonly Dictionary<string, string> Unsupported = new()
    {
        ["inode"] = "-F inode= looks at the PATH records, which our records do not carry",
        ["devmajor"] = "-F devmajor= looks at the PATH records, which our records do not carry",
        ["devminor"] = "-F devminor= looks at the PATH records, which our records do not carry",
        ["obj_uid"] = "-F obj_uid= looks at the PATH records' owners, which our records do not carry",
        ["obj_gid"] = "-F obj_gid= looks at the PATH records' groups, which our records do not carry",
        ["pers"] = "-F pers= (the personality) is not in our records",
        ["saddr_fam"] = "-F saddr_fam= looks at the SOCKADDR record, which our records do not carry",
        ["msgtype"] = "-F msgtype= filters record types on the exclude and user lists, not system calls",
        ["fstype"] = "-F fstype= belongs to the filesystem list",
    };
    private static readonly string[] LsmFields =
        ["subj_user", "subj_role", "subj_type", "subj_sen", "subj_clr", "obj_user", "obj_role", "obj_type", "obj_lev_low", "obj_lev_high"];
    private static readonly HashSet<string> CompareUid = ["uid", "euid", "suid", "fsuid", "auid", "loginuid"];
    private static readonly HashSet<string> CompareGid = ["gid", "egid", "sgid", "fsgid"];

    private readonly List<string> _conditions = [];
    private readonly List<string> _keys = [];
    private readonly List<(ImportIssue Kind, Token At, string Message, ImportCause Cause)> _found = [];
    private Token? _add;
    private Token _listToken;
    private bool _prepend, _always, _possible, _deleteAll;
    private string _list = "";
    private uint? _elf;                         // auditctl's _audit_elf: the last -F arch=, or the host's once -S needed it
    private readonly List<uint> _archEquals = [];
    private bool _syscallAdded, _exeAdded, _watchAdded, _allSyscalls, _permAdded, _fileAdded;
    private Token? _watchOption;
    private readonly SortedSet<uint> _syscallNumbers = [];
    private readonly List<(string Text, uint Elf)> _syscallWords = [];
    private int _keyLength;

    public AuditctlImporter.LineResult Run()
    {
        var tokens = Tokenize();
        if (tokens.Count == 0 || tokens[0].Text.StartsWith('#')) return new AuditctlImporter.LineResult.Nothing();
        if (!ParseOptions(tokens)) return Flush();
        if (_deleteAll)
            return new AuditctlImporter.LineResult.DeleteAll(Diag(ImportIssue.Ignored, tokens[0], "-D deletes all rules: nothing to import"));
        if (_add is not { } add)
        {
            if (_syscallAdded || _conditions.Count > 0) Add(ImportIssue.Invalid, tokens[0], "no list given (-a or -A): auditctl rejects the line");
            return Flush();
        }
        if (_possible) { Add(ImportIssue.Ignored, add, "the 'possible' action is deprecated: auditctl ignores the line"); return Flush(); }
        if (_list != "exit")
        {
            // the list alone decides: its fields are not about system calls anyway
            _found.RemoveAll(f => f.Kind is ImportIssue.Unsupported or ImportIssue.Inexact);
            Add(ImportIssue.Unsupported, _listToken, _list switch
            {
                "exclude" => "the exclude list drops record types, not system calls: not imported",
                "user" => "the user list filters user-space messages, not system calls: not imported",
                "task" => "the task list decides at fork time whether a task is audited at all: not imported",
                "filesystem" => "the filesystem list filters by file system type: not imported",
                "io_uring" => "the io_uring list filters io_uring operations, not system calls: not imported",
                _ => $"the {_list} list is not the exit list: not imported",
            });
            return Flush();
        }
        if (_keys.Count > 0 && !(_syscallAdded || _exeAdded || _watchAdded))
        {
            Add(ImportIssue.Invalid, add, "a key needs a syscall (-S), a watch or -F exe= in the rule: auditctl rejects the line");
            return Flush();
        }
        if (_found.Any(f => f.Kind is ImportIssue.Unsupported or ImportIssue.Invalid)) return Flush();
        if (_watchOption is not null && !_permAdded) _conditions.Add(PermCondition("rwxa", negate: false));   // auditctl's -w without -p

        var parts = new List<string>(_archParts);
        parts.Add(SyscallCondition());
        parts.AddRange(_conditions);
        string condition = string.Join(" && ", parts);
        string key = string.Join(KeySeparator, _keys);
        Flush();
        return new AuditctlImporter.LineResult.Rule(new ImportedRule(lineNumber, line, _always, _always ? key : "", condition), _prepend);
    }

    private readonly List<string> _archParts = [];

    private AuditctlImporter.LineResult Flush()
    {
        foreach (var (kind, at, message, cause) in _found) diagnostics.Add(Diag(kind, at, message) with { Cause = cause });
        _found.Clear();
        return new AuditctlImporter.LineResult.Nothing();
    }

    private ImportFinding Diag(ImportIssue kind, Token at, string message) =>
        new(source, lineNumber, at.Column, Math.Max(1, at.Text.Length), kind, message, line);

    private void Add(ImportIssue kind, Token at, string message, ImportCause cause = ImportCause.None) => _found.Add((kind, at, message, cause));

    /// <summary>The line has <c>-i</c> or <c>-c</c>: auditctl carries on past bad lines from here on.</summary>
    public bool SetsIgnoreErrors { get; private set; }

    /// <summary>
    /// auditctl splits a line on spaces only (strtok " "): a tab is part of its word (<c>-k &lt;tab&gt;T1014</c> is the
    /// key "\tT1014"); a first word starting with '#' makes it a comment.
    /// </summary>
    private List<Token> Tokenize()
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && line[i] == ' ') i++;
            int start = i;
            while (i < line.Length && line[i] != ' ') i++;
            if (i > start) tokens.Add(new Token(line[start..i], start + 1));
        }
        if (tokens.Count > 0 && tokens[0].Text.TrimStart('\t').StartsWith('#')) tokens.Clear();   // a tab-indented comment is still a comment to a reader
        return tokens;
    }

    /// <summary>The options of auditctl's getopt string "hicslDvtC:e:f:r:b:a:A:d:S:F:m:R:w:W:k:p:q:" and its long options.</summary>
    private bool ParseOptions(List<Token> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Text.StartsWith('#')) { Add(ImportIssue.Invalid, t, "auditctl only allows a comment at the start of a line: it rejects this one"); return false; }
            if (t.Text.EndsWith('\\') && i == tokens.Count - 1) { Add(ImportIssue.Invalid, t, "auditctl has no line continuation: a rule must be on one line"); return false; }
            if (t.Text.StartsWith("--", StringComparison.Ordinal))
            {
                string name = t.Text[2..], arg = "";
                int eq = name.IndexOf('=');
                if (eq >= 0) { arg = name[(eq + 1)..]; name = name[..eq]; }
                bool takesArg = name is "backlog_wait_time" or "signal";
                if (name is not ("loginuid-immutable" or "backlog_wait_time" or "reset-lost" or "reset_backlog_wait_time_actual" or "signal"))
                { Add(ImportIssue.Invalid, t, $"unknown option {t.Text}"); return false; }
                if (takesArg && eq < 0 && ++i >= tokens.Count) { Add(ImportIssue.Invalid, t, $"{t.Text} needs a value"); return false; }
                _ = arg;
                Add(ImportIssue.Ignored, t, $"--{name} is a setting of the audit system, not a rule: ignored");
                continue;
            }
            if (t.Text.Length < 2 || t.Text[0] != '-')
            {
                if (_keys.Count > 0 && _keys[^1].Length == 2 && _keys[^1][0] == '-' && tokens[i - 1].Text == _keys[^1])
                {
                    // -k -F KEY: getopt gives -k the word after it, "-F"; KEY is then a word without an option
                    Add(ImportIssue.Inexact, t, $"-k took '{_keys[^1]}' as its key (an option's value is the word after it), so '{t.Text}' has no option: auditctl rejects the line (\"parameter passed without an option given\"); imported as -k {t.Text}, the rule meant", ImportCause.Mistake);
                    _keyLength += t.Text.Length - _keys[^1].Length;
                    _keys[^1] = t.Text;
                    continue;
                }
                Add(ImportIssue.Invalid, t, "a word that is not an option: auditctl rejects the line (\"parameter passed without an option given\")");
                return false;
            }
            char opt = t.Text[1];
            bool hasArg = "CefrbaAdSFmRwWkpq".Contains(opt);
            if (!hasArg && !"hicslDvt".Contains(opt)) { Add(ImportIssue.Invalid, t, $"unknown option -{opt}"); return false; }
            Token argTok = default;
            if (hasArg)
            {
                if (t.Text.Length > 2) argTok = new Token(t.Text[2..], t.Column + 2);
                else if (i + 1 < tokens.Count) argTok = tokens[++i];
                else { Add(ImportIssue.Invalid, t, $"-{opt} needs a value"); return false; }
            }
            else if (t.Text.Length > 2) { Add(ImportIssue.Invalid, t, $"options cannot be grouped here ({t.Text})"); return false; }
            if (opt == 'F' && t.Text.Length == 2 && argTok.Text is ['-', var next] && "CefrbaAdSFmRwWkpq".Contains(next) && i + 1 < tokens.Count)
            {
                // -F -k KEY: the lone -F takes "-k" as its FIELD=VALUE
                Add(ImportIssue.Inexact, argTok, $"-F took '{argTok.Text}' as its FIELD=VALUE (an option's value is the word after it): that -F has no field; auditctl rejects the line (\"-F missing operation for {argTok.Text}\"); imported without the lone -F, the rule meant", ImportCause.Mistake);
                i--;
                continue;
            }
            if (!Option(opt, t, argTok)) return false;
        }
        return true;
    }

    private bool Option(char opt, Token t, Token arg)
    {
        switch (opt)
        {
            case 'a' or 'A':
                if (_add is not null) { Add(ImportIssue.Invalid, t, "a second -a/-A on one line: auditctl rejects it (one rule per line)"); return false; }
                _add = t;
                _listToken = arg;
                _prepend = opt == 'A';
                return ListAction(arg);
            case 'S': return SyscallOption(arg);
            case 'F': return Field(Unquote(arg));
            case 'C': return Compare(arg);
            case 'k':
                if (_add is null || !(_syscallAdded || _exeAdded || _watchAdded))
                { Add(ImportIssue.Invalid, t, "-k needs a syscall (-S), a watch or -F exe= before it: auditctl rejects the line"); return false; }
                return Key(Unquote(arg));
            case 'w':
                if (_watchOption is not null || _fileAdded) { Add(ImportIssue.Invalid, t, "a second watch on one line: the kernel takes one path= or dir= per rule"); return false; }
                _watchOption = t; _watchAdded = true; _add ??= t; _list = "exit"; _always = true;
                return Watch(Unquote(arg));
            case 'p':
                if (!_watchAdded && _add is null) { Add(ImportIssue.Invalid, t, "-p needs a watch given before it"); return false; }
                return Perm(arg, "=");
            case 'd':
                Add(ImportIssue.Unsupported, t, "-d deletes a rule: rule deletion is not imported (remove the rule and the -d line)");
                return false;
            case 'W':
                Add(ImportIssue.Unsupported, t, "-W deletes a watch: not imported");
                return false;
            case 'D':
                _deleteAll = true;
                return true;
            case 'R':
                Add(ImportIssue.Invalid, t, "-R in a rules file: auditctl does not read nested rule files");
                return false;
            case 'b' or 'f' or 'e' or 'r' or 's' or 'l' or 'm' or 'q' or 't' or 'v' or 'h' or 'i' or 'c':
                if (opt is 'i' or 'c') SetsIgnoreErrors = true;
                string what = opt switch
                {
                    'b' => "-b sets the kernel's backlog limit",
                    'f' => "-f sets the failure mode",
                    'e' => arg.Text == "0" ? "-e 0 DISABLES auditing (nothing after it would be logged)" : "-e sets the enabled flag",
                    'r' => "-r sets the rate limit",
                    'i' or 'c' => $"-{opt} tells auditctl to go on after errors: the lines after it that auditctl rejects are skipped (warnings)",
                    'm' => "-m sends a user message",
                    _ => $"-{opt} is not a rule",
                };
                Add(ImportIssue.Ignored, t, $"{what}: not a rule, ignored");
                return true;
        }
        return true;
    }

    private bool ListAction(Token arg)
    {
        var parts = arg.Text.Split(',');
        if (parts.Length != 2) { Add(ImportIssue.Invalid, arg, "expected LIST,ACTION (e.g. always,exit)"); return false; }
        static bool IsAction(string s) => s is "always" or "never" or "possible";
        static bool IsList(string s) => s is "exit" or "task" or "user" or "exclude" or "filesystem" or "io_uring" or "entry";
        string action, list;
        if (IsAction(parts[0]) && IsList(parts[1])) (action, list) = (parts[0], parts[1]);
        else if (IsList(parts[0]) && IsAction(parts[1])) (list, action) = (parts[0], parts[1]);
        else { Add(ImportIssue.Invalid, arg, $"bad list or action '{arg.Text}' (lists: exit, task, user, exclude, filesystem; actions: always, never)"); return false; }
        if (list == "entry") { Add(ImportIssue.Invalid, arg, "the entry list is deprecated: the kernel rejects it"); return false; }
        _list = list;
        _always = action == "always";
        _possible = action == "possible";
        return true;
    }

    // ---- -S ----------------------------------------------------------------------------------------

    private bool SyscallOption(Token arg)
    {
        if (_list is "task" or "user" or "filesystem" or "exclude")
        { Add(ImportIssue.Invalid, arg, $"syscalls on the {_list} list: auditctl rejects the line"); return false; }
        _elf ??= options.HostArch;
        int column = arg.Column;
        foreach (var word in arg.Text.Split(','))
        {
            var at = new Token(word, column);
            column += word.Length + 1;
            if (word == "all") { _allSyscalls = true; continue; }
            if (Syscalls.TryGetNumber(_elf.Value, word, out int number)
                || _elf == AuditArch.I386 && word == "sys_kexec_load" && Syscalls.TryGetNumber(_elf.Value, "kexec_load", out number))
            {
                string name = word;
                if (word == "sys_kexec_load")
                {
                    Add(ImportIssue.Note, at, "libaudit's i386 table names kexec_load 'sys_kexec_load': auditctl loads it as kexec_load");
                    name = "kexec_load";
                }
                _syscallNumbers.Add((uint)number);
                _syscallWords.Add((name, _elf.Value));
                continue;
            }
            if (word.Length > 0 && char.IsAsciiDigit(word[0]))
            {
                if (!CNumber.TryParse(word, out ulong n, out _) || n >= SyscallMaskBits)
                { Add(ImportIssue.Invalid, at, $"syscall number '{word}' is not below {SyscallMaskBits} (the kernel's rule mask)"); return false; }
                _syscallNumbers.Add((uint)n);
                _syscallWords.Add((word, _elf.Value));
                continue;
            }
            string? arch = AuditArch.NameOf(_elf.Value);
            if (arch is null)
            { Add(ImportIssue.Unsupported, at, $"no syscall table for arch {Hex(_elf.Value)}: write the number"); continue; }
            string? near = Filter.Compiler.Binding.Spelling.Nearest(word, Syscalls.ForArch(_elf.Value).Select(e => e.Name));
            Add(ImportIssue.Invalid, at, $"unknown syscall '{word}' on {arch}{(near is null ? "" : $" (did you mean '{near}'?)")}: auditctl rejects the line");
            return false;
        }
        _syscallAdded = true;
        return true;
    }

    /// <summary>
    /// The rule's syscall mask as a condition. With <c>-F arch=A</c> (A the arch the names were resolved in)
    /// names mean what auditctl meant; otherwise the kernel tests raw numbers on every arch.
    /// </summary>
    private string SyscallCondition()
    {
        if (_allSyscalls || !_syscallAdded) return $"syscall < {SyscallMaskBits}";
        bool byName = _elf is { } elf && _archEquals.Contains(elf) && AuditArch.NameOf(elf) is not null;
        var elements = new List<string>();
        if (byName)
        {
            var seen = new HashSet<uint>();
            foreach (var (word, wordElf) in _syscallWords)
            {
                if (Syscalls.TryGetNumber(wordElf, word, out int n)) { if (seen.Add((uint)n)) elements.Add(SyscallName(word)); }
                else if (CNumber.TryParse(word, out ulong raw, out _) && seen.Add((uint)raw)) elements.Add(raw.ToString(CultureInfo.InvariantCulture));
            }
        }
        else elements.AddRange(Ranges(_syscallNumbers));
        return elements.Count == 1 && !elements[0].Contains("..", StringComparison.Ordinal)
            ? $"syscall == {elements[0]}"
            : $"syscall in ({string.Join(", ", elements)})";
    }

    private static IEnumerable<string> Ranges(SortedSet<uint> numbers)
    {
        var list = numbers.ToList();
        for (int i = 0; i < list.Count;)
        {
            int j = i;
            while (j + 1 < list.Count && list[j + 1] == list[j] + 1) j++;
            if (j - i >= 2) yield return $"{list[i]}..{list[j]}";
            else for (int k = i; k <= j; k++) yield return list[k].ToString(CultureInfo.InvariantCulture);
            i = j + 1;
        }
    }

    /// <summary>Beside <c>syscall</c> a field, constant or keyword keeps its meaning: spell such calls <c>__NR_name</c>.</summary>
    private static string SyscallName(string name)
    {
        bool clash = RecordLayout.Scalars.Any(f => f.Name == name) || RecordLayout.Strings.Any(f => f.Name == name)
            || NamedConstants.TryGet(name, out _, out _) || AuditArch.TryParse(name, out _)
            || RecordLayout.EventTypes.Any(e => e.Name == name)
            || name is "and" or "or" or "not" or "in" or "startswith" or "true" or "false" or "list" or "macro" or "always" or "never";
        return clash ? "__NR_" + name : name;
    }

    // ---- -k / -F key= --------------------------------------------------------------------------------

    private bool Key(Token arg)
    {
        int added = arg.Text.Length + (_keys.Count > 0 ? 1 : 0);
        if (_keyLength + added > MaxKeyLength)
        { Add(ImportIssue.Invalid, arg, $"the rule's keys exceed {MaxKeyLength} bytes together: auditctl rejects the line"); return false; }
        _keyLength += added;
        string key = arg.Text;
        if (key.Any(c => char.IsControl(c) && c != KeySeparator))
        {
            key = new string(key.Where(c => !char.IsControl(c) || c == KeySeparator).ToArray());
            Add(ImportIssue.Inexact, arg, $"the key holds a control character, which the kernel logs but a policy key cannot hold (keys are printed one per line): imported as {StringLiteral(key)}", ImportCause.KeyText);
        }
        _keys.Add(key);
        return true;
    }

    // ---- -F ----------------------------------------------------------------------------------------

    /// <summary>auditctl's operator search: the first of != &gt;= &lt;= &amp;= = &gt; &lt; &amp; found anywhere in the pair.</summary>
    private static (string Field, string Op, string Value, int ValueOffset)? SplitPair(string pair)
    {
        foreach (var op in new[] { "!=", ">=", "<=", "&=", "=", ">", "<", "&" })
        {
            int at = pair.IndexOf(op, StringComparison.Ordinal);
            if (at >= 0) return (pair[..at], op, pair[(at + op.Length)..], at + op.Length);
        }
        return null;
    }

    private bool Field(Token arg)
    {
        if (_add is null) { Add(ImportIssue.Invalid, arg, "-F before -a/-A: auditctl rejects the line (\"List must be given before field\")"); return false; }
        if (arg.Text.StartsWith("key=", StringComparison.Ordinal)) return Key(new Token(arg.Text[4..], arg.Column + 4));
        if (SplitPair(arg.Text) is not var (field, op, value, valueOffset))
        {
            Add(ImportIssue.Invalid, arg, arg.Text.StartsWith('-') && arg.Text.Length == 2
                ? $"-F took '{arg.Text}' as its FIELD=VALUE (an option's value is the word after it): that -F has no field; auditctl rejects the line (\"-F missing operation for {arg.Text}\"); remove the -F"
                : "no operator (= != < > <= >= & &=) in the field");
            return false;
        }
        var valueTok = new Token(value, arg.Column + valueOffset);
        var fieldTok = new Token(field, arg.Column);
        if (field.Length == 0) { Add(ImportIssue.Invalid, arg, "no field name before the operator"); return false; }
        if (value.Length == 0) { Add(ImportIssue.Invalid, arg, "no value after the operator"); return false; }
        if (field is "path" or "dir") return FileField(arg, field, op, valueTok);
        if (field == "perm") return Perm(valueTok, op);
        if (field == "filetype") return FileType(valueTok, op);
        if (Unsupported.TryGetValue(field, out var why)) { Add(ImportIssue.Unsupported, fieldTok, why); return true; }
        if (LsmFields.Contains(field)) { Add(ImportIssue.Unsupported, fieldTok, $"-F {field}= tests a security-module (SELinux/AppArmor) label, which our records do not carry"); return true; }
        if (op is "&" or "&=" && !ArgFields.Contains(field))
        { Add(ImportIssue.Invalid, arg, $"the kernel allows & and &= only on a0..a3 (and pers, devminor), not on {field}"); return false; }

        if (field == "arch") return Arch(arg, op, valueTok);
        if (field == "exe") return Exe(arg, op, valueTok);
        if (field == "success") return Success(op, valueTok);
        if (field == "exit") return Exit(op, valueTok);
        if (ArgFields.Contains(field)) return Argument(field, op, valueTok);
        if (UidFields.Contains(field)) return Id(field == "loginuid" ? "auid" : field, op, valueTok, isUid: true);
        if (GidFields.Contains(field)) return Id(field, op, valueTok, isUid: false);
        if (field is "pid" or "ppid") return Plain(field, op, valueTok);
        if (field == "sessionid") return Session(op, valueTok);
        Add(ImportIssue.Invalid, fieldTok, $"unknown field '{field}'");
        return false;
    }

    private static string Lang(string op) => op == "=" ? "==" : op;

    private static bool Holds(uint left, string op, uint right) => op switch
    {
        "=" => left == right,
        "!=" => left != right,
        "<" => left < right,
        "<=" => left <= right,
        ">" => left > right,
        ">=" => left >= right,
        "&" => (left & right) != 0,
        "&=" => (left & right) == right,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>A u32 rule value: auditctl's strtoul/strtol, low 32 bits (a note when that changes the value).</summary>
    private bool Number(Token value, out uint result, bool allowNegative = true)
    {
        result = 0;
        bool digit = value.Text.Length > 0 && char.IsAsciiDigit(value.Text[0]);
        bool negative = allowNegative && value.Text.Length >= 2 && value.Text[0] == '-' && char.IsAsciiDigit(value.Text[1]);
        if (!digit && !negative) { Add(ImportIssue.Invalid, value, $"'{value.Text}' is not a number"); return false; }
        if (!CNumber.TryParse(value.Text, out ulong v, out var problem)) { Add(ImportIssue.Invalid, value, problem!); return false; }
        result = unchecked((uint)v);
        bool fits = v <= uint.MaxValue || (long)v >= int.MinValue && negative;
        if (!fits) Add(ImportIssue.Note, value, $"the kernel keeps the low 32 bits of '{value.Text}': {Hex(result)}");
        return true;
    }

    private static string Num(uint v) => v < 0x10000 ? v.ToString(CultureInfo.InvariantCulture) : Hex(v);

    private bool Plain(string field, string op, Token value)
    {
        if (!Number(value, out uint v, allowNegative: false)) return false;
        _conditions.Add($"{field} {Lang(op)} {v.ToString(CultureInfo.InvariantCulture)}");
        return true;
    }

    private bool Session(string op, Token value)
    {
        uint v;
        if (value.Text == "unset") v = uint.MaxValue;
        else if (!Number(value, out v)) return false;
        _conditions.Add($"ses {Lang(op)} {v.ToString(CultureInfo.InvariantCulture)}");
        return true;
    }

    /// <summary>
    /// uid-like fields (auid too) are kuid_t compares, u32; 4294967295 is not a valid id, so the kernel refuses
    /// it — except auid = / != -1 (or unset), which auditctl sends as AUDIT_LOGINUID_SET. gid/egid =/!= also
    /// match supplementary groups, which the log does not show.
    /// </summary>
    private bool Id(string field, string op, Token value, bool isUid)
    {
        uint v;
        if (isUid && value.Text == "unset") v = uint.MaxValue;
        else if (value.Text.Length > 0 && (char.IsAsciiDigit(value.Text[0]) || isUid && value.Text.Length >= 2 && value.Text[0] == '-' && char.IsAsciiDigit(value.Text[1])))
        {
            if (!Number(value, out v)) return false;
        }
        else if (!isUid && value.Text.StartsWith('-'))
        {
            Add(ImportIssue.Invalid, value, $"auditctl reads a {field} that does not start with a digit as a group name: it rejects '{value.Text}'");
            return false;
        }
        else if ((isUid ? options.ResolveUser(value.Text) : options.ResolveGroup(value.Text)) is { } id)
        {
            v = id;
            Add(ImportIssue.Host, value, $"'{value.Text}' is {(isUid ? "uid" : "gid")} {id} in this host's {(isUid ? "passwd" : "group")} database, as auditctl resolves it when it loads the rule: on another machine it may be another id");
        }
        else
        {
            Add(ImportIssue.Invalid, value, $"no {(isUid ? "user" : "group")} '{value.Text}' on this host: auditctl rejects the line (\"Unknown {(isUid ? "user" : "group")}: {value.Text}\")");
            return false;
        }
        if (v == uint.MaxValue)
        {
            if (field != "auid" || op is not ("=" or "!="))
            { Add(ImportIssue.Invalid, value, field == "auid" ? "auid -1/unset takes only = or != (the kernel's AUDIT_LOGINUID_SET)" : $"{field} 4294967295 (-1) is not a valid id: the kernel rejects the rule"); return false; }
        }
        if (!isUid && field is "gid" or "egid" && op is "=" or "!=")
            Add(ImportIssue.Inexact, value, $"the kernel's {field}{op} also {(op == "=" ? "matches" : "excludes")} processes with {v} as a supplementary group, which the log does not show: exact only for processes without supplementary groups", ImportCause.SupplementaryGroups);
        _conditions.Add($"{field} {Lang(op)} {v.ToString(CultureInfo.InvariantCulture)}");
        return true;
    }

    /// <summary>a0..a3: the kernel compares the low 32 bits (audit_comparator takes u32).</summary>
    private bool Argument(string field, string op, Token value)
    {
        if (!Number(value, out uint v)) return false;
        _conditions.Add(op switch
        {
            "&" => $"{field} & {Hex(v)} != 0",
            "&=" => $"({field} & {Hex(v)}) == {Hex(v)}",
            _ => $"({field} & 0xffffffff) {Lang(op)} {Num(v)}",
        });
        return true;
    }

    /// <summary>
    /// exit: u32 compare of the return value, false on records without one (exit_group, exit), which read
    /// exit 0 here: guard with "has a return value" (success || exit != 0) when 0 would satisfy the test.
    /// </summary>
    private bool Exit(string op, Token value)
    {
        uint v;
        string shown;
        bool digit = value.Text.Length > 0 && char.IsAsciiDigit(value.Text[0]);
        bool negative = value.Text.Length >= 2 && value.Text[0] == '-' && char.IsAsciiDigit(value.Text[1]);
        if (digit || negative)
        {
            if (!Number(value, out v)) return false;
            // a negative value is the u32 of its two's complement: keep it readable as (-N & 0xffffffff)
            shown = negative && v >= 0x80000000u ? $"(-{Num(unchecked(0u - v))} & 0xffffffff)" : Num(v);
        }
        else
        {
            string name = value.Text.TrimStart('-');
            bool minus = value.Text.StartsWith('-');
            if (!NamedConstants.TryGet(name, out ulong errno, out var kind) || kind != ConstantKind.Errno)
            { Add(ImportIssue.Invalid, value, $"unknown errno name '{name}'"); return false; }
            v = minus ? unchecked((uint)-(long)errno) : (uint)errno;
            shown = minus ? $"(-{name} & 0xffffffff)" : name;
        }
        string test = $"(exit & 0xffffffff) {Lang(op)} {shown}";
        _conditions.Add(Holds(0, op, v) ? $"(success || exit != 0) && {test}" : test);
        return true;
    }

    /// <summary>
    /// success: the kernel compares return_valid (1 success, 2 failure; none for exit_group/exit) with 1 when
    /// the value is non-zero, else 2 — whatever the operator.
    /// </summary>
    private bool Success(string op, Token value)
    {
        if (!Number(value, out uint v, allowNegative: false)) return false;
        uint right = v != 0 ? 1u : 2u;
        bool ok = Holds(1, op, right), failed = Holds(2, op, right);
        _conditions.Add((ok, failed) switch
        {
            (true, true) => "(success || exit != 0)",
            (true, false) => "success",
            (false, true) => "(!success && exit != 0)",
            _ => "false",
        });
        return true;
    }

    private bool Arch(Token arg, string op, Token value)
    {
        if (_syscallAdded) { Add(ImportIssue.Invalid, arg, "-F arch= after -S: auditctl rejects it (the arch must come first)"); return false; }
        if (op is not ("=" or "!=")) { Add(ImportIssue.Invalid, arg, "arch takes only = or !="); return false; }
        if (ArchValue(value) is not { } elf) return false;
        _elf = elf;
        if (op == "=") _archEquals.Add(elf);
        string name = AuditArch.NameOf(elf) ?? Hex(elf);
        _archParts.Add($"arch {Lang(op)} {name}");
        return true;
    }

    /// <summary>auditctl's audit_determine_machine: b32/b64 relative to the host, machine names, ELF values.</summary>
    private uint? ArchValue(Token value)
    {
        string v = value.Text;
        uint host = options.HostArch;
        if (string.Equals(v, "b64", StringComparison.OrdinalIgnoreCase))
        {
            if (host == AuditArch.I386) { Add(ImportIssue.Invalid, value, "b64 on a 32-bit host: auditctl rejects it"); return null; }
            return host;
        }
        if (string.Equals(v, "b32", StringComparison.OrdinalIgnoreCase))
            return host switch
            {
                AuditArch.X86_64 or AuditArch.I386 => AuditArch.I386,
                AuditArch.Aarch64 => 0x40000028u,       // AUDIT_ARCH_ARM
                _ => Unknown(),
            };
        switch (v)
        {
            case "x86_64": return AuditArch.X86_64;
            case "i386" or "i486" or "i586" or "i686": return AuditArch.I386;
            case "aarch64": return AuditArch.Aarch64;
        }
        if (char.IsAsciiDigit(v[0]) && CNumber.TryParse(v, out ulong n, out _) && n <= uint.MaxValue) return (uint)n;
        if (uint.TryParse(v, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint hex)) return hex;
        return Unknown();

        uint? Unknown()
        {
            Add(ImportIssue.Unsupported, value, $"arch '{v}': only x86_64, i386 and aarch64 (and b32/b64 on those hosts) are supported; write the AUDIT_ARCH_ value");
            return null;
        }
    }

    /// <summary>exe: matched by inode; the log prints the resolved path (spec/auditctl.md, "exe").</summary>
    private bool Exe(Token arg, string op, Token value)
    {
        if (op is not ("=" or "!=")) { Add(ImportIssue.Invalid, arg, "exe takes only = or !="); return false; }
        _exeAdded = true;
        var resolution = options.ResolveExe(value.Text);
        if (resolution.Problem is { } problem)
        {
            Add(ImportIssue.Unsupported, value, $"cannot tell which executable -F exe={value.Text} marks: {problem}");
            return true;
        }
        if (resolution.Missing)
        {
            Add(ImportIssue.Host, value, $"{value.Text} does not exist on this host: the kernel loads the rule with a mark on no inode, so the test is always {(op == "=" ? "false" : "true")} (until the rule is loaded again after the file exists)");
            _conditions.Add(op == "=" ? "false" : "true");
            return true;
        }
        if (resolution.LoggedPath is not { } logged)
        {
            Add(ImportIssue.Note, value, $"{value.Text} is a symlink: the kernel marks the link's own inode, which no process executes, so the test is always {(op == "=" ? "false" : "true")}");
            _conditions.Add(op == "=" ? "false" : "true");
            return true;
        }
        if (logged.Length > RecordLayout.ExeMaxLength) { Add(ImportIssue.Unsupported, value, $"the path is longer than the exe field ({RecordLayout.ExeMaxLength} bytes)"); return true; }
        if (logged != value.Text) Add(ImportIssue.Note, value, $"the kernel matches the file by inode; the log names it {logged}");
        _conditions.Add($"exe {Lang(op)} {StringLiteral(logged)}");
        return true;
    }

    // ---- -C ----------------------------------------------------------------------------------------

    private bool Compare(Token arg)
    {
        if (_add is null) { Add(ImportIssue.Invalid, arg, "-C before -a/-A: auditctl rejects the line"); return false; }
        string op;
        int at = arg.Text.IndexOf("!=", StringComparison.Ordinal);
        if (at >= 0) op = "!=";
        else { at = arg.Text.IndexOf('='); op = "="; }
        if (at < 0) { Add(ImportIssue.Invalid, arg, "-C takes FIELD=FIELD or FIELD!=FIELD"); return false; }
        string left = arg.Text[..at], right = arg.Text[(at + op.Length)..];
        static string Canon(string f) => f == "loginuid" ? "auid" : f;
        left = Canon(left); right = Canon(right);
        if (right is "obj_uid" or "obj_gid" && left is not ("obj_uid" or "obj_gid")) (left, right) = (right, left);
        if (left is "obj_uid" or "obj_gid")
        {
            // audit_compare_uid/gid: any name of the event whose owner passes (an item without an inode has owner 0 in both)
            if (!(left == "obj_uid" ? CompareUid : CompareGid).Contains(right))
            { Add(ImportIssue.Invalid, arg, $"-C {arg.Text}: {left} compares with a {(left == "obj_uid" ? "uid field (auid uid euid suid fsuid)" : "gid field (gid egid sgid fsgid)")}"); return false; }
            string owner = left == "obj_uid" ? "ouid" : "ogid";
            _conditions.Add("(" + string.Join(" || ", Enumerable.Range(0, RecordLayout.PathItems).Select(i => $"items > {i} && {right} {Lang(op)} {owner}{i}")) + ")");
            return true;
        }
        bool valid = left != right && (CompareUid.Contains(left) && CompareUid.Contains(right) || CompareGid.Contains(left) && CompareGid.Contains(right));
        if (!valid) { Add(ImportIssue.Invalid, arg, $"-C {arg.Text}: auditctl compares only two different uid fields (auid uid euid suid fsuid) or gid fields (gid egid sgid fsgid)"); return false; }
        _conditions.Add($"{left} {Lang(op)} {right}");
        return true;
    }
}
