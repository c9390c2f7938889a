#!/usr/bin/env bash
# Benchmark: the airlock's automatic checks on a 10,000-row request, against ACRO 1.0.2 on
# the same rows in the same run. Rows: 10,000 samples of 8,000 patients (some with two or
# three samples), cancer type × stage, a magnitude column. Timed, best of RUNS:
#   ours-table  `workbench export table --index cancer_type --columns stage --values tmb
#               --agg mean --person patient --suppress` (threshold, dominance, p-ratio,
#               suppression) from the CSV
#   ours-request `workbench export request` of that table into a fresh store (checks,
#               differencing, freezing, reviewers, audit) — the cell's "at once"
#   acro        `acro.crosstab(type, stage, values=tmb, aggfunc="mean")` with its
#               checks, in a Python that has already imported ACRO (its import alone is
#               reported apart)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
RUNS="${RUNS:-5}"
cargo build --locked --workspace --all-targets >&2
WB=target/debug/workbench
DIR=target/bench/export
rm -rf "$DIR" && mkdir -p "$DIR"
"$PY" - "$DIR/rows.csv" <<'PY'
import random, sys
random.seed(3)
types = ["LUAD", "COAD", "BRCA", "STAD", "LIHC", "PAAD", "OV", "GBM"]
stages = ["I", "II", "III", "IV"]
with open(sys.argv[1], "w") as f:
    f.write("patient,cancer_type,stage,tmb\n")
    rows, p = 0, 0
    while rows < 10_000:
        t, s = random.choice(types), random.choice(stages)
        for _ in range(random.choice([1, 1, 1, 1, 2, 3])):
            if rows < 10_000:
                f.write(f"P{p:05d},{t},{s},{random.lognormvariate(1, 1):.3f}\n")
                rows += 1
        p += 1
PY
best() { sort -n | head -1; }
now() { date +%s.%N; }
ours_table=$(for _ in $(seq "$RUNS"); do
    s=$(now); "$WB" export table --data "$DIR/rows.csv" --index cancer_type --columns stage \
        --values tmb --agg mean --person patient --suppress --json > "$DIR/table.json" || true
    echo "$(now) - $s" | bc; done | best)
# The table as a cell sends it: labels, value, patients.
"$PY" - "$DIR/table.json" "$DIR/table.csv" <<'PY'
import csv, json, sys
t = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["cancer_type", "stage", "value", "patients"])
    for c in t["cells"]:
        hidden = c.get("suppressed") is not None
        w.writerow(c["index"] + [c["column"], "" if hidden or c["value"] is None else c["value"],
                   "" if hidden else c.get("contributors", "")])
PY
store="$DIR/store"
"$WB" governance init --store "$store" >/dev/null
for u in "ana analyst Hospital-A" "cf committee Univ-C female" "cm committee Univ-D male" "cx committee Univ-E male"; do
    set -- $u
    extra=(); [ -n "${4:-}" ] && extra=(--sex "$4")
    echo "$1-password-long" | "$WB" governance user add --store "$store" --user "$1" --role "$2" \
        --institution "$3" "${extra[@]}" >/dev/null
done
"$WB" governance project add --store "$store" --project p --forum academic --purpose academic-research \
    --institution Hospital-A --cancer-types all --tier detailed --expires 2099-12-31 >/dev/null
"$WB" governance project member --store "$store" --project p --user ana >/dev/null
ours_request=$(for i in $(seq "$RUNS"); do
    s=$(now); "$WB" export request --store "$store" --user ana --project p --file "$DIR/table.csv" \
        --intent internal-use --justification "tumour mutational burden by type and stage, run $i" --json >/dev/null
    echo "$(now) - $s" | bc; done | best)
read -r acro_import acro_table < <("$PY" - "$DIR/rows.csv" "$RUNS" <<'PY'
import logging, sys, time
t0 = time.perf_counter()
import pandas as pd
from acro import ACRO
imported = time.perf_counter() - t0
logging.disable(logging.CRITICAL)
df = pd.read_csv(sys.argv[1])
best = None
for _ in range(int(sys.argv[2])):
    acro = ACRO(suppress=True)
    s = time.perf_counter()
    acro.crosstab(df.cancer_type, df.stage, values=df.tmb, aggfunc="mean")
    took = time.perf_counter() - s
    best = took if best is None else min(best, took)
print(f"{imported:.3f} {best:.3f}")
PY
)
printf 'rows: 10000 (samples of %s patients)\n' "$(cut -d, -f1 "$DIR/rows.csv" | tail -n +2 | sort -u | wc -l)"
printf 'ours  export table (checks + suppression): %.3f s\n' "$ours_table"
printf 'ours  export request (checks, freeze, reviewers, audit): %.3f s\n' "$ours_request"
printf 'acro  crosstab with checks: %.3f s (import %.3f s)\n' "$acro_table" "$acro_import"
printf 'ratio acro crosstab / ours table: %.2f\n' "$(echo "$acro_table / $ours_table" | bc -l)"
