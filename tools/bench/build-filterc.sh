#!/usr/bin/env bash
# build-filterc.sh BUILD
#
# Builds filterc the way the benchmark scripts time it and prints the path of the executable:
#   build  dotnet build src/Cli -c Release (JIT; what dotnet run and the tests use)
#   r2r    dotnet publish src/Cli -c Release -r RID (ReadyToRun, JIT), into src/Cli/bin/Release/r2r/
#   aot    dotnet publish src/Cli -c Release -r RID -p:PublishAot=true (NativeAOT, the interpreter), into
#          src/Cli/bin/Release/aot/ (about a minute)
# With FILTERC set (a filterc built already), prints that instead, once it is found executable.
# Progress goes to standard error.
set -euo pipefail
build=${1:-}
if [[ -n ${FILTERC:-} ]]; then
    [[ -x $FILTERC ]] || { echo "build-filterc.sh: FILTERC=$FILTERC is not executable" >&2; exit 1; }
    echo "$FILTERC"
    exit 0
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
rid=linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
case $build in
    build)
        echo "building filterc (dotnet build, Release)..." >&2
        dotnet build "$repo/src/Cli" -c Release -nologo -v quiet > /dev/null
        echo "$repo/src/Cli/bin/Release/net10.0/filterc" ;;
    r2r)
        echo "publishing filterc (ReadyToRun, $rid)..." >&2
        dotnet publish "$repo/src/Cli" -c Release -r "$rid" -nologo -v quiet -o "$repo/src/Cli/bin/Release/r2r" > /dev/null
        echo "$repo/src/Cli/bin/Release/r2r/filterc" ;;
    aot)
        echo "publishing filterc (NativeAOT, $rid; about a minute)..." >&2
        # An explicit restore for the runtime: a plain `dotnet build` before leaves assets without it.
        dotnet restore "$repo/src/Cli" -r "$rid" -p:PublishAot=true -v quiet > /dev/null
        dotnet publish "$repo/src/Cli" -c Release -r "$rid" -p:PublishAot=true -nologo -v quiet -o "$repo/src/Cli/bin/Release/aot" > /dev/null
        echo "$repo/src/Cli/bin/Release/aot/filterc" ;;
    *)
        echo "build-filterc.sh: BUILD must be build, r2r or aot, not '$build'" >&2
        exit 2 ;;
esac
