#!/usr/bin/env bash
# The README's install, checked: dotnet pack makes the filterc tool package, dotnet tool install takes it
# from that directory into a tool path of its own (the user's tools are untouched), and the installed
# `filterc --version` runs. Also checks that the library packages carry a description and the readme and
# that the sample, benchmarks and tests are not packed. Used by .ci/run; exit status 0 when all hold.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/filterc-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "install-check: $*" >&2; exit 1; }

dotnet pack Filter.sln -c Release -o "$work/nupkg" > "$work/pack.log" 2>&1 || { tail -20 "$work/pack.log" >&2; fail "dotnet pack failed"; }
packed=$(cd "$work/nupkg" && ls *.nupkg | sed 's/\.[0-9.]*\.nupkg$//' | sort | tr '\n' ' ')
expected="Filter.Audit Filter.Bytecode Filter.Compiler Filter.Kernel Filter.VM Filter.Verifier filterc "
[ "$packed" = "$expected" ] || fail "packed: $packed; expected: $expected"
for pkg in "$work"/nupkg/Filter.*.nupkg; do
    nuspec=$(python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read(next(n for n in z.namelist() if n.endswith(".nuspec"))).decode())' "$pkg")
    grep -q '<readme>README.md</readme>' <<< "$nuspec" || fail "$(basename "$pkg") has no readme"
    grep -q '<description>filterc ' <<< "$nuspec" || fail "$(basename "$pkg") has no description of its own"
done

dotnet tool install filterc --tool-path "$work/tools" --add-source "$work/nupkg" > "$work/install.log" 2>&1 \
    || { cat "$work/install.log" >&2; fail "dotnet tool install failed"; }
version=$("$work/tools/filterc" --version) || fail "the installed filterc --version failed"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "the installed filterc --version printed '$version'"
echo "install-check: dotnet tool install gives a working filterc ($version)"
