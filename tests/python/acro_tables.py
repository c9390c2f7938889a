"""ACRO's per-cell verdicts on tables built from row-level data we construct.

Usage: acro_tables.py OUT_DIR
       acro_tables.py --one CSV INDEX VALUES AGG   (ACRO's status and flagged cells of one
                                                   one-way table of CSV)
       acro_tables.py --suppressed CSV INDEX COLUMNS  (ACRO's suppressed frequency table
                                                   with margins, as {row: {column: n}})
       acro_tables.py --survival CSV               (ACRO's status of the Kaplan-Meier table
                                                   of CSV's time/event, and lifelines'
                                                   survival per group at each event time)

Writes one CSV of row-level data per case into OUT_DIR (one row per patient, no negative
or missing values: where ACRO's row counting and ours agree) and prints JSON: for each
case its table spec and, per cell, the checks ACRO 1.0.2 flagged, in the names
`workbench export table` uses (threshold, zero, dominance, p-ratio, dof).
"""

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from acro import ACRO

CHECKS = {
    "MinimumThresholdCheck": "threshold",
    "PresenceOfZeroCheck": "zero",
    "NKCheck": "dominance",
    "PPercentCheck": "p-ratio",
    "MinimumDoFCheck": "dof",
}


def patients(n_by_group, rng, value_of):
    rows = []
    for (cancer_type, stage), n in n_by_group.items():
        for _ in range(n):
            rows.append(
                {
                    "patient": f"P{len(rows):05d}",
                    "cancer_type": cancer_type,
                    "stage": stage,
                    "value": float(value_of(cancer_type, stage, rng)),
                }
            )
    return pd.DataFrame(rows)


def cases(rng):
    # Counts: small cells (3, 9), one at the threshold (10), an empty one (LUAD × IV).
    counts = {
        ("COAD", "I"): 25, ("COAD", "II"): 3, ("COAD", "III"): 40, ("COAD", "IV"): 10,
        ("LUAD", "I"): 30, ("LUAD", "II"): 9, ("LUAD", "III"): 22,
        ("STAD", "I"): 12, ("STAD", "II"): 15, ("STAD", "III"): 11, ("STAD", "IV"): 1,
    }
    even = patients(counts, rng, lambda t, s, r: r.integers(50, 150))
    # Magnitudes with one patient holding most of a cell (dominance), and one cell where
    # two patients hold nearly all (p-ratio and dominance).
    magnitudes = even.copy()
    first = magnitudes.index[(magnitudes.cancer_type == "COAD") & (magnitudes.stage == "I")][0]
    magnitudes.loc[first, "value"] = 1_000_000.0
    pair = magnitudes.index[(magnitudes.cancer_type == "LUAD") & (magnitudes.stage == "I")][:2]
    magnitudes.loc[pair, "value"] = 500_000.0
    yield "count", even, {"index": "cancer_type", "columns": "stage", "agg": "count"}
    for agg in ["sum", "mean"]:
        yield agg, magnitudes, {
            "index": "cancer_type", "columns": "stage", "values": "value", "agg": agg,
        }
    for agg in ["median", "min", "max", "std"]:
        yield agg, even, {
            "index": "cancer_type", "columns": "stage", "values": "value", "agg": agg,
        }


def flagged_cells(record):
    cells = {}
    for index, row in record.outcome.iterrows():
        for _, text in row.items():
            cells[str(index)] = sorted(
                {CHECKS[c.strip()] for c in str(text).split(";") if c.strip() in CHECKS}
            )
    return cells


def one(path, index, values, agg):
    df = pd.read_csv(path)
    df["all"] = "all"
    acro = ACRO(suppress=False)
    kwargs = {} if agg == "count" else {"values": df[values], "aggfunc": agg}
    acro.crosstab(df[index], df["all"], **kwargs)
    record = list(acro.results.results.values())[-1]
    json.dump({"status": record.status, "cells": flagged_cells(record)}, sys.stdout)


def suppressed(path, index, columns):
    df = pd.read_csv(path)
    acro = ACRO(suppress=True)
    table = acro.crosstab(df[index], df[columns], margins=True)
    out = {
        str(r): {str(c): (None if pd.isna(v) else float(v)) for c, v in row.items()}
        for r, row in table.iterrows()
    }
    json.dump(out, sys.stdout)


def survival(path):
    from lifelines import KaplanMeierFitter

    df = pd.read_csv(path)
    acro = ACRO(suppress=False)
    acro.surv_func(df["time"], df["event"], output="table")
    record = list(acro.results.results.values())[-1]
    km = {}
    for group, rows in df.groupby("group"):
        fit = KaplanMeierFitter().fit(rows["time"], rows["event"])
        sf = fit.survival_function_["KM_estimate"]
        km[str(group)] = {repr(float(t)): float(v) for t, v in sf.items()}
    json.dump({"acro_status": record.status, "km": km}, sys.stdout)


def main():
    logging.disable(logging.CRITICAL)
    if sys.argv[1] == "--survival":
        survival(sys.argv[2])
        return
    if sys.argv[1] == "--one":
        one(*sys.argv[2:6])
        return
    if sys.argv[1] == "--suppressed":
        suppressed(*sys.argv[2:5])
        return
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261204)
    report = []
    for name, df, spec in cases(rng):
        path = out / f"{name}.csv"
        df.to_csv(path, index=False)
        acro = ACRO(suppress=False)
        kwargs = {}
        if "values" in spec:
            kwargs = {"values": df[spec["values"]], "aggfunc": spec["agg"]}
        acro.crosstab(df[spec["index"]], df[spec["columns"]], **kwargs)
        record = list(acro.results.results.values())[-1]
        outcome = record.outcome
        cells = []
        for index, row in outcome.iterrows():
            for column, text in row.items():
                flagged = sorted(
                    {CHECKS[c.strip()] for c in str(text).split(";") if c.strip() in CHECKS}
                )
                cells.append({"index": [str(index)], "column": str(column), "rules": flagged})
        report.append(
            {"name": name, "csv": str(path), "spec": spec, "status": record.status, "cells": cells}
        )
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
