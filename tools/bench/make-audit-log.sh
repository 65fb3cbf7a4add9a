#!/usr/bin/env bash
# make-audit-log.sh OUT [MB] [LOG...]
#
# Builds an auditd log of at least MB megabytes (10^6 bytes; default 200) out of real records, for
# benchmarks: the oracle logs (tests/Filter.Tests/Data/oracle/logs/*.log, or the LOGs given) are appended
# again and again, each copy of each log with its event ids `msg=audit(SECONDS.MILLIS:SERIAL)` shifted so
# that the copy starts one second and one serial after the previous copy ends. Every event stays unique,
# the blocks follow one another in increasing time and serial order (ausearch relies on time order), and
# inside a block the lines keep their original order, interleaving included. Apart from those two numbers
# every line is byte for byte the original. The output is deterministic (same inputs and MB, same file)
# and ends at the first log boundary at or past MB megabytes. Takes about a second for 200 MB.
#
# Used by bench/AuditdBenchmarks.cs (a small log under /tmp) and tools/bench/compare-ausearch.sh.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
out=$1
mb=${2:-200}
shift $(( $# >= 2 ? 2 : 1 ))
if [[ ! $mb =~ ^[0-9]+$ || $mb -lt 1 ]]; then
    echo "make-audit-log.sh: MB must be a positive whole number, got '$mb'" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -gt 0 ]]; then
    logs=("$@")
else
    logs=("$here"/../../tests/Filter.Tests/Data/oracle/logs/*.log)
fi
for log in "${logs[@]}"; do
    [[ -f $log ]] || { echo "make-audit-log.sh: no such log: $log" >&2; exit 1; }
done

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
perl -e '
use strict; use warnings;
my ($target, @logs) = @ARGV;
# Each log is held split at its ids: text, seconds, ".MILLIS:", serial, text, ... so a copy is a join.
# Only the header id at the start of a line is rewritten (node= prefix allowed), once per line.
my $id = qr/^((?:node=\S+ )?type=\S+ msg=audit\()(\d+)(\.\d+:)(\d+)(?=\))/m;
my @blocks;
for my $log (@logs) {
    open(my $in, "<:raw", $log) or die "cannot read $log: $!\n";
    local $/; my $text = <$in>; close $in;
    my @parts; my $at = 0;
    my ($minSec, $maxSec, $minSerial, $maxSerial);
    while ($text =~ /$id/g) {
        my ($head, $sec, $mid, $serial) = ($1, $2, $3, $4);
        push @parts, substr($text, $at, $-[0] - $at) . $head, $sec, $mid, $serial;
        $at = $+[0];
        $minSec = $sec if !defined $minSec || $sec < $minSec;
        $maxSec = $sec if !defined $maxSec || $sec > $maxSec;
        $minSerial = $serial if !defined $minSerial || $serial < $minSerial;
        $maxSerial = $serial if !defined $maxSerial || $serial > $maxSerial;
    }
    die "$log: no msg=audit(...) ids\n" unless defined $minSec;
    push @blocks, { parts => \@parts, tail => substr($text, $at), minSec => $minSec, maxSec => $maxSec,
                    minSerial => $minSerial, maxSerial => $maxSerial };
}
binmode STDOUT;
my ($written, $nextSec, $nextSerial) = (0, undef, undef);
while ($written < $target) {
    for my $b (@blocks) {
        # The first block keeps its ids; each later one starts right after the previous one ends.
        my $dSec = defined $nextSec ? $nextSec - $b->{minSec} : 0;
        my $dSerial = defined $nextSerial ? $nextSerial - $b->{minSerial} : 0;
        my $p = $b->{parts};
        my @out;
        for (my $i = 0; $i < @$p; $i += 4) {
            push @out, $p->[$i], $p->[$i + 1] + $dSec, $p->[$i + 2], $p->[$i + 3] + $dSerial;
        }
        my $copy = join("", @out, $b->{tail});
        print $copy;
        $written += length $copy;
        $nextSec = $b->{maxSec} + $dSec + 1;
        $nextSerial = $b->{maxSerial} + $dSerial + 1;
        last if $written >= $target;
    }
}
' "$(( mb * 1000000 ))" "${logs[@]}" > "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "$out: $(stat -c %s "$out") bytes, $(wc -l < "$out") lines" >&2
