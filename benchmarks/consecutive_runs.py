"""Consecutive `lontar run`s end as they should: pairs of a 7-page run then a 28-page run, one after the other.

    .venv/bin/python benchmarks/consecutive_runs.py --pairs 50        # about 2 minutes a pair here
    .venv/bin/python benchmarks/consecutive_runs.py --pairs 3 --small 2 --large 4

The pattern that exited 1 in silence after committing its pages in 4 of 9 such pairs (issue 34): Ray's core
worker ended the process when the driver let go of an object reference while the early cluster's thread shut
Ray down. Scanned A4 pages at 300 dpi in 7 scripts (PNG, flows/synth/layouts.py), no `--langs`, with
OMP_THREAD_LIMIT=1 and one Prefect home for every run. Each run must exit 0 and leave its report, review page
and run log beside it, and Prefect's database must hold every flow run Completed. One line per run as it ends;
a summary at the end; exit 1 when any run fell short.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.synth.layouts import layout_page

BIN = Path(sys.executable).parent
LANGS = ("eng", "hin", "ben", "tam", "kan", "tha", "khm")


def write_pages(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        lang = LANGS[i % len(LANGS)]
        layout_page(lang, columns=1 + i % 2, seed=seed + i).image.save(folder / f"{i:03d}-{lang}.png", dpi=(300, 300))
    return folder


def one_run(pages: Path, out: Path, env: dict[str, str]) -> dict:
    """One `lontar run`: its exit code, wall time, what it left beside its report, and its stderr's tail."""
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "lontar"), "run", str(pages), "--out", str(out), "--no-progress"],
                            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    reports = list(out.glob("_runs/*/*.json"))
    report = json.loads(reports[0].read_text()) if len(reports) == 1 else {}
    left = {kind: bool(report.get(key)) and Path(report[key]).exists()
            for kind, key in (("report", "report_path"), ("review", "review_path"), ("log", "log_path"))}
    return {"exit": result.returncode, "wall_s": round(time.perf_counter() - started, 1), **left,
            "run_id": report.get("run_id"), "stderr": result.stderr[-600:]}


def flow_run_states(prefect_home: Path) -> dict[str, int]:
    """State of every `lontar-digitize` flow run in Prefect's database, counted."""
    with sqlite3.connect(prefect_home / "prefect.db") as db:
        rows = db.execute("SELECT fr.state_type, count(*) FROM flow_run fr JOIN flow f ON fr.flow_id = f.id "
                          "WHERE f.name = 'lontar-digitize' GROUP BY fr.state_type").fetchall()
    return {state: count for state, count in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--small", type=int, default=7, help="pages of the first run of a pair")
    parser.add_argument("--large", type=int, default=28, help="pages of the second run of a pair")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lontar-pairs-"))
    work.mkdir(parents=True, exist_ok=True)
    small = write_pages(work / "small", args.small, seed=0)
    large = write_pages(work / "large", args.large, seed=100)
    prefect_home = work / "prefect-home"
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "PREFECT_HOME": str(prefect_home)}
    good = runs = 0
    try:
        for pair in range(args.pairs):
            for name, pages in (("small", small), ("large", large)):
                out = work / f"out-{pair}-{name}"
                run = one_run(pages, out, env)
                runs += 1
                ok = run["exit"] == 0 and run["report"] and run["review"] and run["log"]
                good += ok
                print(f"pair {pair + 1:3d} {name:5s} exit {run['exit']} report {run['report']} review "
                      f"{run['review']} log {run['log']} {run['wall_s']:6.1f} s" + ("" if ok else f"\n{run['stderr']}"),
                      flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        states = flow_run_states(prefect_home) if (prefect_home / "prefect.db").exists() else {}
        print(f"\n{good} of {runs} runs exited 0 with their report, review page and run log; "
              f"Prefect's lontar-digitize flow runs by state: {states}")
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if good == runs and states == {"COMPLETED": runs} else 1)


if __name__ == "__main__":
    main()
