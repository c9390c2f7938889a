"""The embargo clock (R34) computed directly from a lake's Parquet files with pyarrow and
pandas, independently of the workbench.

Usage: embargo_reference.py LAKE_DIR ON_DATE [MONTHS] [TRIGGER] [RARE_TRIGGER]
Per cancer type: start = registration date of the TRIGGER-th case (RARE_TRIGGER if any of
its cases is flagged rare), end = start + MONTHS calendar months (pandas DateOffset,
clamped to the month's end); status on ON_DATE. Prints a JSON list sorted by type.
"""

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


def main() -> None:
    lake = Path(sys.argv[1])
    if (lake / "lake").is_dir():
        lake = lake / "lake"
    on = pd.Timestamp(sys.argv[2])
    months = int(sys.argv[3]) if len(sys.argv) > 3 else 24
    trigger = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    rare_trigger = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    regs = pq.read_table(lake / "registrations.parquet").to_pandas()
    cases = pq.read_table(lake / "clinical" / "cases.parquet").to_pandas()
    rare_cases = set(cases.loc[cases["rare_cancer"] == True, "case_id"])  # noqa: E712
    out = []
    for cancer_type, group in sorted(regs.groupby("cancer_type"), key=lambda g: g[0]):
        rare = bool(group["case_id"].isin(rare_cases).any())
        n = rare_trigger if rare else trigger
        dates = sorted(pd.Timestamp(d) for d in group["registered_on"] if pd.Timestamp(d) <= on)
        start = dates[n - 1] if len(dates) >= n else None
        end = start + pd.DateOffset(months=months) if start is not None else None
        if end is None:
            status = "not-started"
        elif on < end:
            status = "embargoed"
        else:
            status = "ended"
        out.append(
            {
                "cancer_type": cancer_type,
                "start": start.date().isoformat() if start is not None else None,
                "end": end.date().isoformat() if end is not None else None,
                "status": status,
                "cases": len(dates),
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
