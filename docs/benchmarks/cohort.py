"""Times a cohort query with its clinical join: `workbench join` against DuckDB's SQL.

Usage: cohort.py WORKBENCH LAKE ONCOTREE_JSON [RUNS]
Both read the same Parquet files on every run (no cache of ours, a fresh DuckDB
connection per run). Ours is timed as a whole command (process start included); DuckDB
is timed inside Python (its import and interpreter start excluded), which favours DuckDB.
Prints a JSON report with medians and the ratio.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import pyarrow.parquet as pq

workbench, lake, oncotree_path = sys.argv[1:4]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 9
CANCER, STAGE, GENE, DRUG = "LUAD", "III", "KRAS", "docetaxel"
NON_SYNONYMOUS = [
    "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site", "Nonsense_Mutation",
    "Nonstop_Mutation", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
]


def subtree(code):
    """The OncoTree code and its descendants, from the OncoTree release file."""
    with open(oncotree_path) as handle:
        tree = json.load(handle)
    found = []

    def walk(node, inside):
        inside = inside or node.get("code") == code
        if inside:
            found.append(node["code"])
        for child in node.get("children", {}).values():
            walk(child, inside)

    for root in tree.values():
        walk(root, False)
    return found


types = ", ".join(f"'{c}'" for c in subtree(CANCER))
t = lambda name: f"read_parquet('{lake}/{name}.parquet')"
SQL = f"""
WITH universe AS (SELECT case_id FROM {t('clinical/cases')} WHERE consent_withdrawn_on IS NULL),
dx AS (SELECT DISTINCT case_id FROM {t('clinical/diagnoses')}
       WHERE cancer_type IN ({types}) AND regexp_extract(stage, '^[IV]+') = '{STAGE}'),
mutated AS (SELECT DISTINCT s.case_id FROM {t('variants/somatic')} v
            JOIN {t('samples')} s ON v.tumor_sample_barcode = s.sample_id
            WHERE v.hugo_symbol = '{GENE}'
              AND v.variant_classification IN ({", ".join(f"'{c}'" for c in NON_SYNONYMOUS)})),
drug AS (SELECT DISTINCT case_id FROM {t('clinical/treatments')}
         WHERE list_contains(list_transform(regexp_split_to_array(lower(drugs), '[+,;]'), lambda x: trim(x)), '{DRUG}')),
cohort AS (SELECT case_id FROM universe INTERSECT SELECT case_id FROM dx
           INTERSECT SELECT case_id FROM mutated INTERSECT SELECT case_id FROM drug),
samples AS (SELECT case_id, count(*) AS samples,
                   count(*) FILTER (WHERE NOT contains(lower(sample_type), 'normal')) AS tumour_samples,
                   bool_or(coalesce(mutation_profiled, false)) AS mutation_profiled
            FROM {t('samples')} GROUP BY case_id),
per_sample AS (SELECT s.case_id, s.sample_id,
                      count(v.hugo_symbol) FILTER (WHERE v.variant_classification IN ({", ".join(f"'{c}'" for c in NON_SYNONYMOUS)})) AS calls
               FROM {t('samples')} s LEFT JOIN {t('variants/somatic')} v ON v.tumor_sample_barcode = s.sample_id
               WHERE s.mutation_profiled GROUP BY s.case_id, s.sample_id),
burden AS (SELECT case_id, sum(calls) AS protein_altering, max(calls) / 38.0 AS tmb FROM per_sample GROUP BY case_id),
lines AS (SELECT case_id, max(line) AS lines_of_therapy FROM {t('clinical/treatments')} GROUP BY case_id),
severe AS (SELECT DISTINCT case_id FROM {t('clinical/adverse_events')} WHERE grade >= 3)
SELECT c.case_id, r.institution, d.cancer_type, d.subtype, d.stage, ca.sex, ca.age_at_diagnosis,
       co.vital_status,
       CASE WHEN co.vital_status = 'dead' THEN co.days_to_death ELSE co.days_to_last_follow_up END AS os_days,
       co.vital_status = 'dead' AS os_event, co.best_overall_response, l.lines_of_therapy,
       sv.case_id IS NOT NULL AS grade3_adverse_event,
       coalesce(sm.samples, 0) AS samples, coalesce(sm.tumour_samples, 0) AS tumour_samples,
       coalesce(sm.mutation_profiled, false) AS mutation_profiled, b.protein_altering, b.tmb
FROM cohort c
LEFT JOIN {t('registrations')} r USING (case_id)
LEFT JOIN {t('clinical/diagnoses')} d USING (case_id)
LEFT JOIN {t('clinical/cases')} ca USING (case_id)
LEFT JOIN {t('clinical/course')} co USING (case_id)
LEFT JOIN lines l USING (case_id)
LEFT JOIN severe sv USING (case_id)
LEFT JOIN samples sm USING (case_id)
LEFT JOIN burden b USING (case_id)
ORDER BY c.case_id
"""

out = tempfile.mkdtemp()
ours_args = [workbench, "join", "--lake", lake, "--cancer-type", CANCER, "--stage", STAGE,
             "--gene", GENE, "--drug", DRUG, "--out", f"{out}/ours.parquet"]


def time_ours():
    start = time.perf_counter()
    subprocess.run(ours_args, check=True, capture_output=True)
    return time.perf_counter() - start


def time_duckdb():
    start = time.perf_counter()
    con = duckdb.connect()
    con.sql(f"COPY ({SQL}) TO '{out}/duckdb.parquet' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - start


time_ours(), time_duckdb()  # warm the page cache for both
ours, duck = [], []
for _ in range(runs):
    ours.append(time_ours())
    duck.append(time_duckdb())

a, b = pq.read_table(f"{out}/ours.parquet"), pq.read_table(f"{out}/duckdb.parquet")
ids_a, ids_b = a.column("case_id").to_pylist(), b.column("case_id").to_pylist()
assert sorted(ids_a) == sorted(ids_b), f"different cohorts: {len(ids_a)} vs {len(ids_b)}"
b_rows = {r["case_id"]: r for r in b.to_pylist()}
for row in a.to_pylist():
    other = b_rows[row["case_id"]]
    for key in ("institution", "stage", "age_at_diagnosis", "os_days", "lines_of_therapy", "samples",
                "protein_altering", "grade3_adverse_event"):
        assert row[key] == other[key], f"{row['case_id']} {key}: {row[key]} vs {other[key]}"

report = {
    "query": {"cancer_type": CANCER, "stage": STAGE, "gene": GENE, "drug": DRUG},
    "cases_selected": len(ids_a),
    "runs": runs,
    "workbench_join_s": {"median": statistics.median(ours), "min": min(ours)},
    "duckdb_s": {"median": statistics.median(duck), "min": min(duck), "version": duckdb.__version__},
    "ratio_workbench_over_duckdb": statistics.median(ours) / statistics.median(duck),
}
print(json.dumps(report, indent=2))
