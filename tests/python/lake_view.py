"""Our own reading of the consent rules (R31), independent of the workbench's: which
cases an academic overview of cancer research may see today, and table reads with
pyarrow."""

import datetime

import pyarrow.parquet as pq


def read(lake, name, columns):
    """Rows of the lake table file `name` (e.g. `clinical/cases.parquet`) as dicts."""
    return pq.read_table(f"{lake}/{name}", columns=columns).to_pylist()


def visible_cases(lake, today=None):
    """Cases whose consent was given on or before today and not withdrawn on or before
    today; every DUO scope the programme records (GRU, HMB, DS) covers cancer research."""
    today = today or datetime.date.today()
    visible = set()
    for r in read(
        lake,
        "clinical/cases.parquet",
        ["case_id", "consent_date", "consent_scope", "consent_withdrawn_on"],
    ):
        given, withdrawn = r["consent_date"], r["consent_withdrawn_on"]
        if given is None or given > today:
            continue
        if withdrawn is not None and withdrawn <= today:
            continue
        if r["consent_scope"] in ("GRU", "HMB", "DS"):
            visible.add(r["case_id"])
    return visible
