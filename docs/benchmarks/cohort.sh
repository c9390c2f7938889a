#!/usr/bin/env bash
# Benchmark: a typical cohort query with its clinical join, ours against DuckDB, in one run.
# Makes a 10,000-case synthetic lake, then cohort.py times `workbench join` (cancer type +
# stage + mutated gene + drug, one row per case with demographics, outcome, therapy lines,
# grade ≥3 events, sample counts and TMB) and DuckDB (PyPI) running the equivalent SQL on
# the same Parquet files, checks that both select the same cases, and prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
CASES="${CASES:-10000}"
cargo build --locked --workspace --all-targets >&2
LAKE="target/bench/cohort-lake-$CASES"
if [ ! -f "$LAKE/lake/registrations.parquet" ]; then
    rm -rf "$LAKE"
    target/debug/workbench synth --cases "$CASES" --seed 1 --out "$LAKE" >&2
fi
"$PY" docs/benchmarks/cohort.py target/debug/workbench "$LAKE/lake" \
    ../shared/data/clinical/oncotree/oncotree_2025_10_03.json
