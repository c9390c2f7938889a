"""Independent R2 SOP and R6 trend numbers of a lake, read with pyarrow.

Usage: qc_lake_check.py LAKE
Prints {"sop": {hospital: [tissue specimens, violations, not recorded]},
        "trends": {"centre|YYYY-MM": [samples, mean q30 fraction, below 0.75, mean depth]}}.
"""

import collections
import json
import pathlib
import sys

import pyarrow.parquet as pq

from lake_view import visible_cases

lake = pathlib.Path(sys.argv[1])
# Feedback covers the cases whose consent stands (our own reading of R31).
visible = visible_cases(lake)
samples = {
    r["sample_id"]
    for r in pq.read_table(lake / "samples.parquet", columns=["sample_id", "case_id"]).to_pylist()
    if r["case_id"] in visible
}
sop = collections.defaultdict(lambda: [0, 0, 0])
for r in pq.read_table(lake / "clinical/specimens.parquet").to_pylist():
    if r["case_id"] not in visible or r["specimen_type"] not in ("surgical", "biopsy"):
        continue
    row = sop[r["hospital"]]
    row[0] += 1
    minutes, cold = r["minutes_to_freeze"], r["kept_at_4c"]
    if minutes is None or (30 < minutes <= 180 and cold is None):
        row[2] += 1
    elif minutes > 180 or (minutes > 30 and cold is False):
        row[1] += 1

groups = collections.defaultdict(list)
for r in pq.read_table(lake / "qc/sequencing.parquet").to_pylist():
    if r["sample_id"] in samples and r["total_bases"] > 0:
        key = f"{r['sequencing_centre']}|{r['delivered_on'].isoformat()[:7]}"
        groups[key].append(r)
trends = {}
for key, rows in groups.items():
    q30 = [r["q30_bases"] / r["total_bases"] for r in rows]
    trends[key] = [len(rows), sum(q30) / len(rows), sum(1 for q in q30 if q < 0.75),
                   sum(r["mean_depth"] for r in rows) / len(rows)]
print(json.dumps({"sop": sop, "trends": trends}))
