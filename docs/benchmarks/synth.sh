#!/usr/bin/env bash
# Benchmark: synthetic programme generation (`workbench synth`) at 10,000 cases.
#
# Reports wall time and peak memory of our generator, and as a peer on the same
# output, pyarrow reading and rewriting the very same Parquet tables (the I/O floor
# of producing those files from Python). Usage: docs/benchmarks/synth.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/../.."
CASES="${1:-10000}"
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
cargo build --locked --workspace --all-targets >&2
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

run() { # label, command...
    local label="$1"; shift
    /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
    read -r secs kib < "$OUT/time"
    printf '%-34s %8.2f s %8.0f MiB\n' "$label" "$secs" "$((kib / 1024))"
    echo "$secs"  > "$OUT/$label.secs"
}

echo "synthetic programme, $CASES cases, $(nproc) cores"
for i in 1 2 3; do
    rm -rf "$OUT/p"
    run "workbench synth (run $i)" target/debug/workbench synth --cases "$CASES" --seed 1 --out "$OUT/p"
done
cat > "$OUT/rewrite.py" <<'PY'
import pathlib, sys
import pyarrow.parquet as pq
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in src.rglob("*.parquet"):
    out = dst / path.relative_to(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(path), out, compression="zstd")
PY
run "pyarrow read+write same tables" "$PY" "$OUT/rewrite.py" "$OUT/p/lake" "$OUT/copy"
ours=$(cat "$OUT/workbench synth (run 3).secs")
peer=$(cat "$OUT/pyarrow read+write same tables.secs")
echo "rows: $(target/debug/workbench lake describe "$OUT/p" --json | "$PY" -c 'import json,sys; print(sum(t["rows"] for t in json.load(sys.stdin)["tables"]))')"
"$PY" -c "print(f'ratio synth / pyarrow rewrite: {$ours / $peer:.2f}')"
