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


def secondary_findings_cases(lake, visible):
    """Visible cases whose patients agreed to receive secondary findings (R32)."""
    return {
        r["case_id"]
        for r in read(lake, "clinical/cases.parquet", ["case_id", "consent_secondary_findings"])
        if r["case_id"] in visible and r["consent_secondary_findings"] is True
    }


def visible_rows(lake, file):
    """How many rows of the table file `file` a use sees: rows of visible cases, found by
    the table's own case or sample column; germline findings need their own consent."""
    visible = visible_cases(lake)
    columns = pq.read_schema(f"{lake}/{file}").names
    if "case_id" in columns:
        return sum(1 for r in read(lake, file, ["case_id"]) if r["case_id"] in visible)
    cases = secondary_findings_cases(lake, visible) if "germline" in file else visible
    samples = {
        r["sample_id"]
        for r in read(lake, "samples.parquet", ["sample_id", "case_id"])
        if r["case_id"] in cases
    }
    key = "tumor_sample_barcode" if "tumor_sample_barcode" in columns else "sample_id"
    return sum(1 for r in read(lake, file, [key]) if r[key] in samples)
