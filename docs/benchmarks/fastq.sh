#!/usr/bin/env bash
# Benchmark: FASTQ QC of a >= 1 GB gzip FASTQ: ours against fastp (Debian, same thread count,
# adapter/quality/length filtering off) and against `zcat > /dev/null`, the decompression
# floor, in one run. The input is made once under target/bench/ from generated 150 bp reads
# (gzip -1 members, concatenated: a valid multi-member gzip as BGZF writers produce).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
THREADS="${THREADS:-2}"
cargo build --locked --workspace --all-targets >&2
command -v fastp >/dev/null || { echo "fastp is missing (apt-get install fastp)" >&2; exit 1; }
DIR=target/bench/fastq
BIG="$DIR/big.fq.gz"
mkdir -p "$DIR"
if [ ! -s "$BIG" ]; then
    "$PY" - "$DIR/part.fq" <<'PY'
import random, sys
random.seed(7)
bases = "ACGT"
# Illumina-like qualities: mostly high, a tail of lower ones towards the 3' end.
with open(sys.argv[1], "w") as out:
    for i in range(1_500_000):
        seq = "".join(random.choices(bases, k=150))
        qual = "".join(chr(33 + (37 if random.random() > 0.05 + j / 1500 else random.randint(2, 30))) for j in range(150))
        out.write(f"@bench:{i} 1:N:0:ACGT\n{seq}\n+\n{qual}\n")
PY
    gzip -1 -c "$DIR/part.fq" > "$DIR/part.fq.gz"
    rm "$DIR/part.fq"
    : > "$BIG.partial"
    while [ "$(stat -c %s "$BIG.partial")" -lt 1100000000 ]; do cat "$DIR/part.fq.gz" >> "$BIG.partial"; done
    mv "$BIG.partial" "$BIG"
fi
echo "input: $BIG ($(stat -c %s "$BIG") bytes)" >&2
cat "$BIG" > /dev/null  # page cache
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
zcat_s=$(t sh -c "zcat '$BIG' > /dev/null")
# Our own floor: the same inflater as the QC reader (zlib-rs via flate2), bytes discarded.
inflate_s=$(t target/debug/examples/inflate_floor "$BIG")
ours_s=$(t target/debug/workbench qc fastq "$BIG" --json)
fastp_s=$(t fastp -i "$BIG" -w "$THREADS" -A -G -Q -L -j /dev/null -h /dev/null)
printf '{"input_bytes": %s, "zcat_s": %s, "zlib_rs_inflate_s": %s, "workbench_s": %s, "fastp_s": %s, "workbench_over_zcat": %s, "workbench_over_zlib_rs_inflate": %s, "workbench_over_fastp": %s}\n' \
    "$(stat -c %s "$BIG")" "$zcat_s" "$inflate_s" "$ours_s" "$fastp_s" \
    "$(echo "scale=3; $ours_s / $zcat_s" | bc)" "$(echo "scale=3; $ours_s / $inflate_s" | bc)" \
    "$(echo "scale=3; $ours_s / $fastp_s" | bc)"
