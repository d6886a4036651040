"""Run as a separate process: query the warehouse in a loop while a writer appends.

Prints one JSON line: how many reads, the distinct row counts seen, and any error. Each
batch the writer appends has as many dimension rows as fact rows, so a reader that ever saw
half a batch would see the two counts differ.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from analytics.warehouse import open_warehouse


def main(root: Path, until_rows: int, deadline_seconds: float) -> None:
    reads, seen, torn, errors = 0, set(), 0, []
    deadline = time.monotonic() + deadline_seconds
    last = 0
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            with open_warehouse(root) as warehouse:
                dims = warehouse.execute("SELECT count(*) FROM dim_product").fetchone()[0]
                facts = warehouse.execute("SELECT count(*) FROM fact_stock_movements").fetchone()[0]
        except Exception as error:  # reported, not raised: the parent asserts on it
            errors.append(repr(error))
            continue
        reads += 1
        torn += dims != facts
        if dims < last:
            errors.append(f"count went backwards: {last} -> {dims}")
        last = dims
        seen.add(dims)
        if dims >= until_rows:
            break
    print(
        json.dumps(
            {
                "reads": reads,
                "distinct": len(seen),
                "torn": torn,
                "errors": errors[:5],
                "last": last,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
