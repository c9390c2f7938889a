"""Derive datasets/vocab/oncotree.tsv from the OncoTree release JSON.

Usage: python3 derive_oncotree.py oncotree_2025_10_03.json > oncotree.tsv
Keeps code, parent, level, name, main type and tissue of every node under TISSUE,
sorted by code, so the workbench can embed the tree without a JSON dependency.
"""

import json
import sys


def walk(node, rows):
    for child in node["children"].values():
        rows.append(
            (
                child["code"],
                child["parent"],
                str(child["level"]),
                child["name"],
                child["mainType"] or "",
                child["tissue"] or "",
            )
        )
        walk(child, rows)


def main():
    tree = json.load(open(sys.argv[1], encoding="utf-8"))
    rows = []
    walk(tree["TISSUE"], rows)
    rows.sort()
    print("code\tparent\tlevel\tname\tmain_type\ttissue")
    for row in rows:
        assert all("\t" not in field and "\n" not in field for field in row)
        print("\t".join(row))


if __name__ == "__main__":
    main()
