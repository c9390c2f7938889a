#!/usr/bin/env bash
# Benchmark: BAM QC (flagstat counts, insert sizes and overlap-corrected depth in one pass)
# against mosdepth (Debian 0.3.3, default mode, -n: no per-base file, since we write none)
# and samtools flagstat, on one coordinate-sorted, indexed BAM of >= 10 M reads, in one run
# with the same thread count. The BAM is made once under target/bench/bam/: 5 M read pairs
# of 150 bp drawn from a random 50 Mb genome (about 30x), Illumina-like binned qualities,
# some soft clips and indels, overlapping mates, 5 % duplicates; sorted and indexed by
# samtools.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
THREADS="${THREADS:-2}"
PAIRS="${PAIRS:-5000000}"
RUNS="${RUNS:-3}"
cargo build --locked --workspace --all-targets >&2
for tool in mosdepth samtools; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (./x test installs it)" >&2; exit 1; }
done
DIR=target/bench/bam
BAM="$DIR/big.bam"
mkdir -p "$DIR"
if [ ! -s "$BAM.bai" ]; then
    echo "making $BAM ($PAIRS pairs)…" >&2
    "$PY" - "$PAIRS" <<'PY' | samtools sort -@ "$THREADS" -m 1500M -o "$BAM.partial" -O bam -
import random, sys
random.seed(11)
pairs = int(sys.argv[1])
chroms = [("chr1", 30_000_000), ("chr2", 20_000_000)]
out = sys.stdout
out.write("@HD\tVN:1.6\tSO:unsorted\n")
for name, length in chroms:
    out.write(f"@SQ\tSN:{name}\tLN:{length}\n")
genome = {name: "".join(random.choices("ACGT", k=length)) for name, length in chroms}
# NovaSeq-style binned qualities: a pool of strings, mostly F (Q37) with some lower bins.
quals = ["".join(random.choices("F:,", weights=(90, 8, 2), k=150)) for _ in range(512)]
cigars = ["150M"] * 17 + ["5S145M", "140M10S", "70M2D80M", "60M3I87M", "100M1D50M"]
def span(cigar):
    n, total = "", 0
    for c in cigar:
        if c.isdigit():
            n += c
        else:
            if c in "MD=XN":
                total += int(n)
            n = ""
    return total
write = out.write
for i in range(pairs):
    name, length = chroms[0] if random.random() < 0.6 else chroms[1]
    seq_ref = genome[name]
    insert = int(random.gauss(350, 80))
    insert = max(160, min(insert, 900)) if random.random() > 0.1 else random.randint(100, 220)
    pos1 = random.randrange(0, length - insert - 200)
    c1, c2 = random.choice(cigars), random.choice(cigars)
    pos2 = pos1 + max(0, insert - span(c2))
    flag_dup = 1024 if random.random() < 0.05 else 0
    mapq = 60 if random.random() > 0.03 else random.randint(0, 59)
    q1, q2 = random.choice(quals), random.choice(quals)
    s1 = seq_ref[pos1:pos1 + 150]
    s2 = seq_ref[pos2:pos2 + 150]
    tlen = max(pos1 + span(c1), pos2 + span(c2)) - pos1
    write(f"r{i}\t{99 | flag_dup}\t{name}\t{pos1 + 1}\t{mapq}\t{c1}\t=\t{pos2 + 1}\t{tlen}\t{s1}\t{q1}\n"
          f"r{i}\t{147 | flag_dup}\t{name}\t{pos2 + 1}\t{mapq}\t{c2}\t=\t{pos1 + 1}\t{-tlen}\t{s2}\t{q2}\n")
PY
    mv "$BAM.partial" "$BAM"
    samtools index -@ "$THREADS" "$BAM"
fi
echo "input: $BAM ($(stat -c %s "$BAM") bytes)" >&2
cat "$BAM" > /dev/null  # page cache
# Median wall time of $RUNS runs, and the peak RSS of the last, of one command.
t() {
    local times=() rss
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" > /dev/null 2>&1
        read -r s rss < "$DIR/time"
        times+=("$s")
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" "$rss"
}
read -r ours_s ours_kb < <(t target/debug/workbench qc bam "$BAM" --json)
read -r mos_s mos_kb < <(t mosdepth -t "$THREADS" -n "$DIR/m" "$BAM")
read -r mosx_s mosx_kb < <(t mosdepth -t "$THREADS" -n -x "$DIR/mx" "$BAM")
read -r flag_s flag_kb < <(t samtools flagstat -@ "$THREADS" "$BAM")
# The same numbers? (Guards against timing a run that did something else.)
ours_bases=$(target/debug/workbench qc bam "$BAM" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["depth"]["total"]["bases"])')
mos_bases=$(awk '$1 == "total" {print $3}' "$DIR/m.mosdepth.summary.txt")
printf '{"bam_bytes": %s, "reads": %s, "threads": %s, "workbench_s": %s, "workbench_peak_kb": %s, "mosdepth_s": %s, "mosdepth_peak_kb": %s, "mosdepth_fast_mode_s": %s, "samtools_flagstat_s": %s, "workbench_over_mosdepth": %s, "workbench_over_mosdepth_fast_mode": %s, "same_total_bases": %s}\n' \
    "$(stat -c %s "$BAM")" "$((PAIRS * 2))" "$THREADS" "$ours_s" "$ours_kb" "$mos_s" "$mos_kb" "$mosx_s" "$flag_s" \
    "$(echo "scale=3; $ours_s / $mos_s" | bc)" "$(echo "scale=3; $ours_s / $mosx_s" | bc)" \
    "$([ "$ours_bases" = "$mos_bases" ] && echo true || echo false)"
