"""Executes every notebook given on the command line with nbclient on the workbench kernel
and prints, per notebook, the output types each code cell produced (as JSON)."""

import json
import sys

import nbformat
from nbclient import NotebookClient

report = {}
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, kernel_name="workbench", timeout=600).execute()
    report[path] = [
        sorted({o["output_type"] + ("/" + "+".join(sorted(o.get("data", {}))) if o.get("data") else "") for o in cell.get("outputs", [])})
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
json.dump(report, sys.stdout)
