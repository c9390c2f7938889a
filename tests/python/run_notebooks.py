"""Executes every notebook given on the command line with nbclient on the workbench kernel
and prints, per notebook, the output types each code cell produced (as JSON).

With `--outputs FILE` first, it also writes every output's MIME bundle (per notebook, per
code cell) to FILE, for `notebook_values.py` to check the numbers in them."""

import base64
import binascii
import json
import sys

import nbformat
from nbclient import NotebookClient

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def kinds(output):
    """`output_type/mime+mime…`; a PNG that is not base64 of a PNG file shows as
    `image/png(invalid)`, so the check of kinds also checks the images."""
    data = output.get("data")
    if not data:
        return output["output_type"]
    mimes = []
    for mime in sorted(data):
        if mime == "image/png":
            try:
                valid = base64.b64decode(data[mime], validate=True).startswith(PNG_SIGNATURE)
            except (binascii.Error, ValueError):
                valid = False
            mimes.append(mime if valid else mime + "(invalid)")
        else:
            mimes.append(mime)
    return output["output_type"] + "/" + "+".join(mimes)


args = sys.argv[1:]
outputs_file = None
if args[:1] == ["--outputs"]:
    outputs_file, args = args[1], args[2:]
report, bundles = {}, {}
for path in args:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, kernel_name="workbench", timeout=600).execute()
    report[path] = [
        sorted({kinds(o) for o in cell.get("outputs", [])})
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    bundles[path] = [
        [o.get("data") or {"text/plain": o.get("text", "")} for o in cell.get("outputs", [])]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
if outputs_file:
    with open(outputs_file, "w") as f:
        json.dump(bundles, f)
json.dump(report, sys.stdout)
