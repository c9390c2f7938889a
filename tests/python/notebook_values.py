"""Checks the numbers the notebooks show against numbers computed here, independently,
from the lake's Parquet files (pyarrow), with lifelines for survival and SciPy for
Fisher's exact test.

Usage: python notebook_values.py LAKE_DIR OUTPUTS.json

OUTPUTS.json is what `run_notebooks.py --outputs` wrote: per notebook, per code cell,
the MIME bundles of its outputs. Consent is applied here by our own reading of the
rules (R31): a case is visible when consent was given on or before today and not
withdrawn on or before today; the notebooks' academic overview of cancer research is
covered by every DUO scope the programme uses. Prints one line per check; exits 1 on
the first mismatch.
"""

import html.parser
import json
import math
import re
import sys
from collections import Counter, defaultdict

from lake_view import read, visible_cases
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import fisher_exact

# maftools' vc_nonSyn: the protein-altering classes.
PROTEIN_ALTERING = {
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "Splice_Site",
    "Translation_Start_Site",
    "Nonsense_Mutation",
    "Nonstop_Mutation",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Missense_Mutation",
}


def fail(message):
    print(f"MISMATCH: {message}")
    sys.exit(1)


def check(ok, message):
    if not ok:
        fail(message)
    print(f"ok: {message}")


class Tables(html.parser.HTMLParser):
    """The rows of every <table> in an HTML fragment, header row first."""

    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "br" and self.cell is not None:
            self.cell += "\n"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None:
            # A header cell holds "name<br><small>dtype</small>": keep the name.
            self.row.append(self.cell.split("\n")[0].strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[-1].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def table(bundle):
    """The rows an output's HTML table shows, as dicts (a long table shows its head and
    tail with a row of `…` between, which is left out)."""
    parser = Tables()
    parser.feed(bundle["text/html"])
    rows = parser.tables[0]
    return [dict(zip(rows[0], r)) for r in rows[1:] if set(r) != {"…"}]


def height(bundle):
    """The frame's height from the table's `shape: (h, w)` line."""
    return int(re.search(r"shape: \((\d+), \d+\)", bundle["text/html"])[1])


def main():
    lake, outputs_path = sys.argv[1], sys.argv[2]
    outputs = json.load(open(outputs_path))

    def cells(notebook):
        for path, cells in outputs.items():
            if path.endswith(notebook):
                return cells
        fail(f"{notebook} missing from {outputs_path}")

    visible = visible_cases(lake)
    registrations = [
        r
        for r in read(lake, "registrations.parquet", ["case_id", "institution", "cancer_type"])
        if r["case_id"] in visible
    ]
    diagnoses = [
        r
        for r in read(lake, "clinical/diagnoses.parquet", ["case_id", "cancer_type", "stage"])
        if r["case_id"] in visible
    ]
    course = {
        r["case_id"]: r
        for r in read(
            lake,
            "clinical/course.parquet",
            ["case_id", "vital_status", "days_to_death", "days_to_last_follow_up"],
        )
        if r["case_id"] in visible
    }
    check(len(visible) > 100, f"{len(visible)} visible cases in the lake")

    # 01: counts per table, per cancer type, LUAD stages, institutions.
    nb = cells("01-cohort-overview.ipynb")
    text = nb[0][0]["text/plain"]
    m = re.search(r"(\d+) cases, (\d+) registrations", text)
    check(
        m and (int(m[1]), int(m[2])) == (len(diagnoses), len(registrations)),
        f"01 counts {text!r} = {len(diagnoses)} cases, {len(registrations)} registrations",
    )
    by_type = Counter(r["cancer_type"] for r in diagnoses)
    shown = table(nb[1][0])
    top = sorted(by_type.values(), reverse=True)[:12]
    check(
        height(nb[1][0]) == len(top)
        and [int(r["cases"]) for r in shown] == top[:5] + top[-5:]
        and all(by_type[r["cancer_type"]] == int(r["cases"]) for r in shown),
        f"01 cases per cancer type, top {len(top)}: {top}",
    )
    luad_stages = Counter(r["stage"] for r in diagnoses if r["cancer_type"] == "LUAD")
    shown = {r["stage"]: int(r["cases"]) for r in table(nb[2][0])}
    expected = {("null" if k is None else k): v for k, v in luad_stages.items()}
    check(
        height(nb[2][0]) == len(expected) and all(expected.get(k) == v for k, v in shown.items()),
        f"01 LUAD stages {shown} of {len(expected)}",
    )
    per_institution = defaultdict(list)
    for r in registrations:
        per_institution[r["institution"]].append(r["cancer_type"])
    shown = {r["institution"]: (int(r["cases"]), int(r["cancer_types"])) for r in table(nb[3][0])}
    expected = {k: (len(v), len(set(v))) for k, v in per_institution.items()}
    check(
        height(nb[3][0]) == len(expected) and all(expected.get(k) == v for k, v in shown.items()),
        f"01 registrations per institution ({len(shown)} shown of {len(expected)})",
    )

    # 04: LUAD survival by stage group against lifelines.
    nb = cells("04-survival-plot.ipynb")
    luad = [r["case_id"] for r in diagnoses if r["cancer_type"] == "LUAD"]
    check(nb[0][0]["text/plain"].strip() == str(len(luad)), f"04 LUAD cases {len(luad)}")
    stage_of = {r["case_id"]: r["stage"] for r in diagnoses}
    groups = defaultdict(lambda: ([], []))
    for case in luad:
        stage, c = stage_of[case], course.get(case)
        if stage is None or c is None:
            continue
        dead = (c["vital_status"] or "").lower() == "dead"
        time = c["days_to_death"] if dead else c["days_to_last_follow_up"]
        if time is None or time < 0:
            continue
        group = re.match(r"[IV]*", stage)[0] or stage
        groups[group][0].append(float(time))
        groups[group][1].append(dead)
    parser = Tables()
    parser.feed(nb[2][0]["text/html"])
    header, *body = parser.tables[0]
    rows = {r[0]: dict(zip(header, r)) for r in body}
    check(set(rows) == set(groups), f"04 stage groups {sorted(rows)}")
    for group, (times, events) in groups.items():
        km = KaplanMeierFitter().fit(times, events)
        median = km.median_survival_time_
        shown = rows[group]
        expected_median = "not reached" if math.isinf(median) else f"{median:.0f}"
        check(
            (int(shown["n"]), int(shown["events"]), shown["median survival (days)"])
            == (len(times), sum(events), expected_median),
            f"04 stage {group}: n {len(times)}, events {sum(events)}, median {expected_median}",
        )
    labels = [g for g, (t, _) in groups.items() for _ in t]
    test = multivariate_logrank_test(
        [t for _, (ts, _) in groups.items() for t in ts],
        labels,
        [e for _, (_, es) in groups.items() for e in es],
    )
    line = re.search(r"p = (&lt;|<)?\s*([0-9.]+(?:e-?[0-9]+)?)", nb[2][0]["text/html"])
    check(line is not None, "04 log-rank p shown")
    bound, shown_p = line[1], line[2]
    if bound:
        check(test.p_value < float(shown_p), f"04 log-rank p < {shown_p} (lifelines {test.p_value:.3g})")
    else:
        check(
            math.isclose(float(shown_p), test.p_value, rel_tol=0.02, abs_tol=1e-4),
            f"04 log-rank p {shown_p} = lifelines {test.p_value:.4g}",
        )
    texts = [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", nb[1][0]["image/svg+xml"])]
    for group, (times, events) in groups.items():
        legend = f"{group} (n = {len(times)}, events = {sum(events)})"
        check(legend in texts, f"04 figure legend {legend!r}")

    # 05: advanced LUAD mutations against pyarrow and SciPy.
    nb = cells("05-mutations-of-a-cohort.ipynb")
    advanced = {
        r["case_id"]
        for r in diagnoses
        if r["cancer_type"] == "LUAD"
        and r["stage"] is not None
        and (re.match(r"[IV]*", r["stage"])[0] in ("III", "IV"))
    }
    card = nb[0][0]["text/plain"]
    check(f": {len(advanced)} cases" in card, f"05 cohort card {card!r} has {len(advanced)} cases")
    samples = read(lake, "samples.parquet", ["sample_id", "case_id", "mutation_profiled"])
    case_of = {s["sample_id"]: s["case_id"] for s in samples if s["case_id"] in advanced}
    profiled = {s["case_id"] for s in samples if s["case_id"] in advanced and s["mutation_profiled"]}
    carriers = defaultdict(set)
    for v in read(
        lake,
        "variants/somatic.parquet",
        ["tumor_sample_barcode", "hugo_symbol", "variant_classification"],
    ):
        case = case_of.get(v["tumor_sample_barcode"])
        if case in profiled and v["variant_classification"] in PROTEIN_ALTERING:
            carriers[v["hugo_symbol"]].add(case)
    shown = table(nb[1][0])
    check(len(shown) == 10, "05 ten genes shown")
    ranked = sorted(carriers.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for row, (gene, cases) in zip(shown, ranked):
        check(
            (row["gene"], int(row["mutated"]), int(row["profiled"]))
            == (gene, len(cases), len(profiled)),
            f"05 {gene}: {len(cases)} of {len(profiled)} profiled",
        )
    top8 = [g for g, _ in ranked[:8]]
    texts = [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", nb[3][0]["image/svg+xml"])]
    for gene in top8:
        check(any(t.startswith(gene) for t in texts), f"05 oncoprint labels {gene}")
    for row in table(nb[4][0]):
        a, b = carriers[row["gene_a"]], carriers[row["gene_b"]]
        counts = [
            len(a & b & profiled),
            len((a - b) & profiled),
            len((b - a) & profiled),
            len(profiled - a - b),
        ]
        shown_counts = [int(row[k]) for k in ("both", "a_only", "b_only", "neither")]
        # The table shows six decimals.
        _, p = fisher_exact([[counts[0], counts[1]], [counts[2], counts[3]]])
        check(
            shown_counts == counts and math.isclose(float(row["p_value"]), p, rel_tol=0, abs_tol=1e-6),
            f"05 {row['gene_a']}/{row['gene_b']}: {counts}, Fisher p {p:.4g}",
        )
    rows = {r["group"]: r for r in table(nb[6][0])}
    sizes = Counter(re.match(r"[IV]*", stage_of[c])[0] for c in advanced)
    check(
        {g: int(r["cases"]) for g, r in rows.items()} == dict(sizes),
        f"05 stage III/IV sizes {dict(sizes)}",
    )


if __name__ == "__main__":
    main()
