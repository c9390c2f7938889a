"""Independent numbers for a MAF (+ maftools annotation) import.

Usage: maf_import_check.py MAF ANNOT LAKE
Prints {"source": {...}, "lake": {...}} with the same keys: the source side is read with
Python's gzip and csv modules, the lake side with pyarrow. The test compares the two.
"""

import collections
import csv
import gzip
import json
import math
import pathlib
import sys

import pyarrow.parquet as pq

NON_SYNONYMOUS = {
    "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site", "Nonsense_Mutation",
    "Nonstop_Mutation", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
}

maf_path, annot_path, lake = (pathlib.Path(p) for p in sys.argv[1:4])
with gzip.open(maf_path, "rt") as handle:
    maf = list(csv.DictReader((l for l in handle if not l.startswith("#")), delimiter="\t"))
with open(annot_path) as handle:
    annot = list(csv.DictReader(handle, delimiter="\t"))

maf_samples = {r["Tumor_Sample_Barcode"] for r in maf}
annot_samples = {r["Tumor_Sample_Barcode"] for r in annot}


def gene_counts(rows, gene_key, class_key, sample_key):
    by_gene = collections.defaultdict(set)
    for r in rows:
        if r[class_key] in NON_SYNONYMOUS:
            by_gene[r[gene_key]].add(r[sample_key])
    return {g: len(s) for g, s in by_gene.items()}


source = {
    "cases": len(maf_samples | annot_samples),
    "samples": len(maf_samples | annot_samples),
    "variants": len(maf),
    "course_rows": sum(1 for r in annot if r["Overall_Survival_Status"] not in ("", "NA")),
    "dead": sum(1 for r in annot if r["Overall_Survival_Status"] == "1"),
    "subtypes": dict(collections.Counter(r["FAB_classification"] for r in annot if r["FAB_classification"] not in ("", "NA"))),
    "samples_without_mutations": len(annot_samples - maf_samples),
    "samples_without_non_synonymous": len(
        annot_samples | maf_samples
    ) - len({r["Tumor_Sample_Barcode"] for r in maf if r["Variant_Classification"] in NON_SYNONYMOUS}),
    "mutated_samples_per_gene": gene_counts(maf, "Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode"),
    # R writes -Inf for unknown times; those become missing in the lake.
    "followup_sum_dead": sum(
        int(float(r["days_to_last_followup"]))
        for r in annot
        if r["Overall_Survival_Status"] == "1" and math.isfinite(float(r["days_to_last_followup"]))
    ),
    "followup_missing": sum(1 for r in annot if not math.isfinite(float(r["days_to_last_followup"]))),
}


def table(name):
    return pq.read_table(lake / name).to_pylist()


cases = table("clinical/cases.parquet")
samples = table("samples.parquet")
variants = table("variants/somatic.parquet")
course = table("clinical/course.parquet")
diagnoses = table("clinical/diagnoses.parquet")
mutated = {v["tumor_sample_barcode"] for v in variants if v["variant_classification"] in NON_SYNONYMOUS}
lake_side = {
    "cases": len(cases),
    "samples": len(samples),
    "variants": len(variants),
    "course_rows": len(course),
    "dead": sum(1 for c in course if c["vital_status"] == "dead"),
    "subtypes": dict(collections.Counter(d["subtype"] for d in diagnoses if d["subtype"] is not None)),
    "samples_without_mutations": len({s["sample_id"] for s in samples} - {v["tumor_sample_barcode"] for v in variants}),
    "samples_without_non_synonymous": len({s["sample_id"] for s in samples if s["mutation_profiled"]} - mutated),
    "mutated_samples_per_gene": gene_counts(variants, "hugo_symbol", "variant_classification", "tumor_sample_barcode"),
    "followup_sum_dead": sum(c["days_to_death"] for c in course if c["vital_status"] == "dead" and c["days_to_death"] is not None),
    "followup_missing": sum(1 for c in course if c["days_to_last_follow_up"] is None),
}
json.dump({"source": source, "lake": lake_side}, sys.stdout)
