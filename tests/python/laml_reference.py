"""Reference numbers for the TCGA-LAML cohort analyses, computed independently of the workbench.

Usage: laml_reference.py MAF ANNOT GENE...
Reads maftools' TCGA-LAML MAF and annotation with Python's gzip/csv, and prints JSON:
- mutated: per gene, the samples with a non-synonymous call (maftools' vc_nonSyn);
- by_fab: per gene and FAB class, mutated samples; profiled_by_fab: samples per class;
- no_nonsyn: samples without any non-synonymous call;
- survival: lifelines Kaplan-Meier (median, its 95 % CI, the curve) for all samples, for
  FLT3 mutated vs wild type and per FAB class, with the log-rank test (lifelines);
- pairs: SciPy's two-sided Fisher exact test for every pair of the given genes.
Every annotated or mutated sample counts as profiled, as maftools does.
"""

import collections
import csv
import gzip
import itertools
import json
import math
import sys

from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import median_survival_times
from scipy.stats import fisher_exact

NON_SYNONYMOUS = {
    "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site", "Nonsense_Mutation",
    "Nonstop_Mutation", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
}

maf_path, annot_path, *genes = sys.argv[1:]
with gzip.open(maf_path, "rt") as handle:
    maf = list(csv.DictReader((l for l in handle if not l.startswith("#")), delimiter="\t"))
with open(annot_path) as handle:
    annot = list(csv.DictReader(handle, delimiter="\t"))

samples = {r["Tumor_Sample_Barcode"] for r in annot} | {r["Tumor_Sample_Barcode"] for r in maf}
# "NA" is R's missing value, not a class.
fab = {r["Tumor_Sample_Barcode"]: r["FAB_classification"] for r in annot if r["FAB_classification"] not in ("", "NA")}

mutated = collections.defaultdict(set)
for r in maf:
    if r["Variant_Classification"] in NON_SYNONYMOUS:
        mutated[r["Hugo_Symbol"]].add(r["Tumor_Sample_Barcode"])
with_nonsyn = set().union(*mutated.values())

by_fab = {
    gene: dict(collections.Counter(fab[s] for s in carriers if s in fab))
    for gene, carriers in mutated.items()
}
profiled_by_fab = dict(collections.Counter(fab[s] for s in samples if s in fab))

# Survival: R's -Inf (unknown time) rows are left out, as survfit leaves out missing times.
observations = {}
for r in annot:
    time = float(r["days_to_last_followup"])
    if math.isfinite(time):
        observations[r["Tumor_Sample_Barcode"]] = (time, r["Overall_Survival_Status"] == "1")


def km(label, members):
    times = [observations[s][0] for s in members]
    events = [observations[s][1] for s in members]
    fitter = KaplanMeierFitter().fit(times, events, label=label)
    ci = median_survival_times(fitter.confidence_interval_)
    lower, upper = (float(v) for v in ci.iloc[0])
    finite = lambda v: v if math.isfinite(v) else None
    curve = fitter.survival_function_[label]
    return {
        "n": len(members),
        "events": sum(events),
        "median": finite(float(fitter.median_survival_time_)),
        "median_ci": [finite(lower), finite(upper)],
        "survival": {str(float(t)): float(v) for t, v in curve.items() if t > 0},
    }


everyone = sorted(observations)
flt3 = [s for s in everyone if s in mutated["FLT3"]]
flt3_wt = [s for s in everyone if s not in mutated["FLT3"]]
two = logrank_test(
    [observations[s][0] for s in flt3],
    [observations[s][0] for s in flt3_wt],
    [observations[s][1] for s in flt3],
    [observations[s][1] for s in flt3_wt],
)
with_fab = [s for s in everyone if fab.get(s)]
many = multivariate_logrank_test(
    [observations[s][0] for s in with_fab],
    [fab[s] for s in with_fab],
    [observations[s][1] for s in with_fab],
)
survival = {
    "all": {"groups": {"all": km("all", everyone)}},
    "gene:FLT3": {
        "groups": {"FLT3 mutated": km("FLT3 mutated", flt3), "FLT3 wild type": km("FLT3 wild type", flt3_wt)},
        "p_value": float(two.p_value),
        "statistic": float(two.test_statistic),
    },
    "subtype": {
        "groups": {c: km(c, [s for s in with_fab if fab[s] == c]) for c in sorted({fab[s] for s in with_fab})},
        "p_value": float(many.p_value),
        "statistic": float(many.test_statistic),
    },
}

pairs = []
for a, b in itertools.combinations(genes, 2):
    table = [[0, 0], [0, 0]]
    for s in samples:
        table[0 if s in mutated[a] else 1][0 if s in mutated[b] else 1] += 1
    odds, p = fisher_exact(table, alternative="two-sided")
    pairs.append({
        "gene_a": a, "gene_b": b,
        "both": table[0][0], "a_only": table[0][1], "b_only": table[1][0], "neither": table[1][1],
        "odds_ratio": float(odds) if math.isfinite(odds) else None, "p_value": float(p),
    })

print(json.dumps({
    "samples": len(samples),
    "mutated": {g: sorted(s) for g, s in mutated.items()},
    "by_fab": by_fab,
    "profiled_by_fab": profiled_by_fab,
    "no_nonsyn": sorted(samples - with_nonsyn),
    "survival": survival,
    "pairs": pairs,
}))
