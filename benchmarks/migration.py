"""`lontar migrate` on real pages: a dataset of one-page units made what version 4 wrote, migrated to this version;
pages per second, and what each new column holds afterwards.

    .venv/bin/python benchmarks/migration.py [--units 300] [--scans DIR] [--work DIR]

The units are those of benchmarks/compaction.py (real scans of ../shared/realscans and their transcriptions),
each then stripped of the columns versions 5-7 added, as tests/unit/conftest.py's `as_schema_version` does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from compaction import DEFAULT_SCANS, real_pages, write_units  # noqa: E402

from flows.dataset import migration, views  # noqa: E402
from tests.support.datasets import as_schema_version  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    root = (args.work or Path(tempfile.mkdtemp(prefix="lontar-migrate-"))) / "dataset"
    write_units(root, real_pages(args.scans), args.units)
    for marker in sorted((root / "_units").glob("*.json")):
        as_schema_version(root, marker.stem, 4)
    start = time.perf_counter()
    result = migration.migrate(str(root))
    seconds = time.perf_counter() - start
    print(f"migrated {result.shards} shards of {result.units} units from version 4: {result.pages} pages and "
          f"{result.pairs} pairs in {seconds:.1f} s: {result.pages / seconds:.1f} pages/s "
          f"({seconds / result.pages * 1000:.1f} ms a page, its pairs included) on one core")
    con = views.connect(str(root))
    for column, filled, why in migration.columns_report():
        if "." in column:
            table, field = column.split(".")
            sql = f"SELECT count(*) FILTER (WHERE r.{field} IS NOT NULL) FROM (SELECT unnest({table}) AS r FROM pages)"
        else:
            sql = f"SELECT count({column}) FROM pages"
        print(f"| {column} | {filled} | {con.execute(sql).fetchone()[0]} non-null | {why} |")


if __name__ == "__main__":
    main()
