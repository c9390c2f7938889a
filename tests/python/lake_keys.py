"""Foreign keys between lake tables, checked with pyarrow: every reference must resolve."""

import json
import pathlib
import sys

import pyarrow.parquet as pq

root = pathlib.Path(sys.argv[1])


def column(table, name):
    return [v for v in pq.read_table(root / table, columns=[name]).column(name).to_pylist() if v is not None]


cases = set(column("clinical/cases.parquet", "case_id"))
samples = set(column("samples.parquet", "sample_id"))
specimens = set(column("clinical/specimens.parquet", "specimen_id"))
checks = {
    "registrations.case_id": (column("registrations.parquet", "case_id"), cases),
    "diagnoses.case_id": (column("clinical/diagnoses.parquet", "case_id"), cases),
    "treatments.case_id": (column("clinical/treatments.parquet", "case_id"), cases),
    "course.case_id": (column("clinical/course.parquet", "case_id"), cases),
    "adverse_events.case_id": (column("clinical/adverse_events.parquet", "case_id"), cases),
    "samples.case_id": (column("samples.parquet", "case_id"), cases),
    "samples.specimen_id": (column("samples.parquet", "specimen_id"), specimens),
    "somatic.tumor_sample_barcode": (column("variants/somatic.parquet", "tumor_sample_barcode"), samples),
    "germline.sample_id": (column("variants/germline_sf.parquet", "sample_id"), samples),
    "qc.sample_id": (column("qc/sequencing.parquet", "sample_id"), samples),
}
dangling = {name: len([v for v in values if v not in keys]) for name, (values, keys) in checks.items()}
json.dump({"dangling": {k: v for k, v in dangling.items() if v}}, sys.stdout)
