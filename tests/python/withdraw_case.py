"""Records a withdrawal in a lake, as a new delivery of the lake would: the first case of
a session's view gets `consent_withdrawn_on` in the lake's cases file.

Usage: withdraw_case.py LAKE_CASES.parquet VIEW_CASES.parquet DATE

Rewrites LAKE_CASES (temporary file, then rename) and prints the case id as JSON.
"""

import datetime
import json
import os
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq


def main():
    lake_path, view_path, day = sys.argv[1:4]
    view = pq.read_table(view_path)
    case = view.column("case_id")[0].as_py()
    lake = pq.read_table(lake_path)
    column = lake.column("consent_withdrawn_on")
    index = lake.schema.get_field_index("consent_withdrawn_on")
    when = datetime.date.fromisoformat(day)
    values = [
        when if cid == case else old
        for cid, old in zip(lake.column("case_id").to_pylist(), column.to_pylist())
    ]
    import pyarrow as pa

    lake = lake.set_column(index, lake.schema.field(index), pa.array(values, type=column.type))
    assert pc.sum(pc.is_valid(lake.column("consent_withdrawn_on"))).as_py() >= 1
    tmp = lake_path + ".tmp"
    pq.write_table(lake, tmp)
    os.replace(tmp, lake_path)
    json.dump({"case": case}, sys.stdout)


if __name__ == "__main__":
    main()
