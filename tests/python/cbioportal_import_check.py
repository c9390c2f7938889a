"""Independent numbers for a cBioPortal study import.

Usage: cbioportal_import_check.py STUDY_DIR LAKE
Prints {"source": {...}, "lake": {...}}: the source side is parsed here with the csv
module (cBioPortal's four `#` header lines, `[Not Available]`), the lake side with pyarrow.
"""

import collections
import csv
import json
import pathlib
import sys

import pyarrow.parquet as pq

study, lake = (pathlib.Path(p) for p in sys.argv[1:3])
MISSING = {"", "NA", "[Not Available]", "[Not Applicable]", "[Unknown]"}


def read(name):
    with open(study / name) as handle:
        return list(csv.DictReader((l for l in handle if not l.startswith("#")), delimiter="\t"))


patients = read("data_clinical_patients.txt")
samples = read("data_clinical_samples.txt")
maf = read("data_mutations_extended.maf")
per_patient = collections.Counter(s["PATIENT_ID"] for s in samples)
# SUBTYPE is a sample attribute; a case's subtype is that of its first sample that has one.
case_subtype = {}
for s in samples:
    if s["SUBTYPE"] not in MISSING:
        case_subtype.setdefault(s["PATIENT_ID"], s["SUBTYPE"])
os_known = [p for p in patients if p["OS_STATUS"] not in MISSING]
source = {
    "cases": len({s["PATIENT_ID"] for s in samples}),
    "samples": len(samples),
    "multi_sample_cases": sum(1 for n in per_patient.values() if n > 1),
    "variants": len(maf),
    "course_rows": len(os_known),
    "dead": sum(1 for p in os_known if p["OS_STATUS"].startswith("1:")),
    "os_days_missing": sum(1 for p in os_known if p["OS_MONTHS"] in MISSING),
    "os_days_sum": sum(round(float(p["OS_MONTHS"]) * 30.4375) for p in os_known if p["OS_MONTHS"] not in MISSING),
    "subtypes": dict(collections.Counter(case_subtype.values())),
    "variants_per_sample": dict(collections.Counter(r["Tumor_Sample_Barcode"] for r in maf)),
}


def table(name):
    return pq.read_table(lake / name).to_pylist()


cases = table("clinical/cases.parquet")
lake_samples = table("samples.parquet")
course = table("clinical/course.parquet")
variants = table("variants/somatic.parquet")
diagnoses = table("clinical/diagnoses.parquet")
lake_per_case = collections.Counter(s["case_id"] for s in lake_samples)
lake_subtypes = collections.Counter(d["subtype"] for d in diagnoses if d["subtype"] is not None)
lake_side = {
    "cases": len(cases),
    "samples": len(lake_samples),
    "multi_sample_cases": sum(1 for n in lake_per_case.values() if n > 1),
    "variants": len(variants),
    "course_rows": len(course),
    "dead": sum(1 for c in course if c["vital_status"] == "dead"),
    "os_days_missing": sum(1 for c in course if c["days_to_last_follow_up"] is None),
    "os_days_sum": sum(c["days_to_last_follow_up"] for c in course if c["days_to_last_follow_up"] is not None),
    "subtypes": dict(lake_subtypes),
    "variants_per_sample": dict(collections.Counter(v["tumor_sample_barcode"] for v in variants)),
}
json.dump({"source": source, "lake": lake_side}, sys.stdout)
