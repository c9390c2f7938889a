"""Row counts (stored, and visible under our own reading of consent) and column names of
every Parquet file under a lake, read with pyarrow."""

import json
import pathlib
import sys

import pyarrow.parquet as pq

from lake_view import visible_rows

root = pathlib.Path(sys.argv[1])
out = {}
for path in sorted(root.rglob("*.parquet")):
    meta = pq.read_metadata(path)
    out[str(path.relative_to(root))] = {
        "rows": meta.num_rows,
        "visible_rows": visible_rows(root, str(path.relative_to(root))),
        "columns": [meta.schema.column(i).name for i in range(meta.num_columns)],
    }
json.dump(out, sys.stdout)
