"""Which rows an academic detailed-tier session may see, computed from the full lake's
Parquet files with pyarrow, independently of the workbench (R31, R33, R36).

Usage: session_view_reference.py LAKE_DIR ON_DATE INSTITUTION TYPES AGREEING
TYPES is a comma list of OncoTree codes or `all`; AGREEING a comma list of acquirers who
agreed (may be empty). A case is visible when its consent stands on ON_DATE (given on or
before it, not withdrawn on or before it, a DUO scope the programme uses, and a
disease-specific consent only for the project's types), its cancer type is in the
project's scope, and its acquirer is the user's institution or agreed (INSTITUTION `*`:
any acquirer, as the overview tier counts). Prints the number of visible cases, of rows
per case-keyed clinical table, and of visible patients per registered cancer type.
"""

import datetime
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

TABLES = {
    "registrations": "registrations.parquet",
    "cases": "clinical/cases.parquet",
    "diagnoses": "clinical/diagnoses.parquet",
    "treatments": "clinical/treatments.parquet",
    "samples": "samples.parquet",
}


def main():
    lake = Path(sys.argv[1])
    if (lake / "lake").is_dir():
        lake = lake / "lake"
    on = datetime.date.fromisoformat(sys.argv[2])
    institution = sys.argv[3]
    types = None if sys.argv[4] == "all" else set(sys.argv[4].split(","))
    agreeing = {a for a in sys.argv[5].split(",") if a}
    registered = {
        r["case_id"]: (r["cancer_type"], r["institution"])
        for r in pq.read_table(
            lake / "registrations.parquet", columns=["case_id", "cancer_type", "institution"]
        ).to_pylist()
    }
    visible = set()
    for r in pq.read_table(
        lake / "clinical/cases.parquet",
        columns=["case_id", "consent_date", "consent_scope", "consent_withdrawn_on"],
    ).to_pylist():
        cancer_type, acquirer = registered.get(r["case_id"], (None, None))
        given, withdrawn, scope = r["consent_date"], r["consent_withdrawn_on"], r["consent_scope"]
        if withdrawn is not None and withdrawn <= on:
            continue
        if given is None or given > on:
            continue
        if scope not in ("GRU", "HMB", "DS"):
            continue
        if scope == "DS" and types is not None and cancer_type not in types:
            continue
        if types is not None and cancer_type not in types:
            continue
        if institution != "*" and acquirer != institution and acquirer not in agreeing:
            continue
        visible.add(r["case_id"])
    out = {"visible_cases": len(visible)}
    for name, file in TABLES.items():
        ids = pq.read_table(lake / file, columns=["case_id"]).column("case_id").to_pylist()
        out[name] = sum(1 for i in ids if i in visible)
    per_type = {}
    for case_id in visible:
        cancer_type = registered.get(case_id, (None, None))[0]
        per_type[cancer_type] = per_type.get(cancer_type, 0) + 1
    out["patients_by_cancer_type"] = per_type
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
