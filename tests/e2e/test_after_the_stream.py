"""A run whose pages are committed and whose next step fails says so, and nothing is lost (docs/errors.md, "After
the pages are committed"): one line on stderr naming what failed, that the data is safe and where the run log
is; the exit code of the error's kind; the log on disk; the flow run in a final state in Prefect; and a re-run
of the same command finishes the run (report and review page). A process that dies outright after committing
leaves its flow run to be marked Crashed by the next run, which finishes the batch.

Each case is a real `lontar run` of one page with one step broken before the command starts (the module's
function replaced, as the engine fault tests break an engine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO, digitize_states, run_cli

pytestmark = pytest.mark.integration

BROKEN_RUN = """
import os, sys
from flows import environment
environment.apply()
import {module}
original = {module}.{name}
def broken(*args, **kwargs):
    {body}
    return original(*args, **kwargs)
{module}.{name} = broken
from flows.cli.main import main
sys.argv = ["lontar", *sys.argv[1:]]
main()
"""

# step -> (module, function, what the replacement does, exit code, what the error line says)
BREAKS = {
    "the run report": ("actors.store.writer", "write_text",
                       "if args[1].endswith('.json') and '/_runs/' in args[1]: raise OSError(28, 'No space left')",
                       4, ["the run report could not be written: No space left",
                           "every unit of batch", "the data is safe; run the same command again"]),
    "the dataset manifest": ("flows.dataset.manifest", "refresh", "raise RuntimeError('the manifest broke')",
                             1, ["RuntimeError: the manifest broke", "the dataset manifest failed after every unit",
                                 "and the run report is written: the data is safe"]),
    "Ray's shutdown": ("actors.cluster.lifecycle", "shutdown_ray", "raise RuntimeError('raylet would not stop')",
                       1, ["the local Ray cluster did not stop cleanly (RuntimeError: raylet would not stop)",
                           "the run completed and its report is written"]),
}


def broken_run(page: Path, out: Path, prefect_home: Path, module: str, name: str,
               body: str) -> subprocess.CompletedProcess:
    script = BROKEN_RUN.format(module=module, name=name, body=body)
    return subprocess.run([sys.executable, "-c", script, "run", str(page), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=600, cwd=REPO, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PREFECT_HOME": str(prefect_home)})


def reports(out: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(out.glob("_runs/*/*.json"))]


@pytest.fixture(scope="module")
def page(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one-page")
    (folder / "english-letter.png").write_bytes((sample_archive / "english-letter.png").read_bytes())
    return folder


@pytest.mark.parametrize("step", list(BREAKS))
def test_a_step_after_the_commit_that_fails_says_what_failed_and_a_rerun_finishes(step, page, tmp_path,
                                                                                 own_prefect_home):
    module, name, body, code, says = BREAKS[step]
    out, home = tmp_path / "dataset", own_prefect_home
    result = broken_run(page, out, home, module, name, body)

    assert result.returncode == code, result.stderr[-3000:]
    (last,) = [line for line in result.stderr.splitlines() if line.startswith("lontar: ")]
    assert all(part in last for part in says), last
    log = last.split("run log: ", 1)[1].split(";", 1)[0].split(" ", 1)[0]
    assert Path(log).is_file() and Path(log).stat().st_size > 0  # beside the report, where the run got that far
    assert list(out.glob("_units/*.json")), "the page's unit is committed"
    assert digitize_states(home) == ["FAILED" if step != "Ray's shutdown" else "COMPLETED"]

    again = run_cli("run", str(page), "--out", str(out), "--no-progress", env={"PREFECT_HOME": str(home)})
    assert again.returncode == 0, again.stderr[-3000:]
    finished = reports(out)[-1]
    assert finished["units"] == {"total": 1, "written": 0, "skipped": 1}
    assert Path(finished["review_path"]).is_file() and Path(finished["log_path"]).is_file()
    assert digitize_states(home)[-1] == "COMPLETED"


def test_a_review_page_that_cannot_be_drawn_costs_the_run_nothing_but_the_page(page, tmp_path, own_prefect_home):
    out, home = tmp_path / "dataset", own_prefect_home
    result = broken_run(page, out, home, "flows.dataset.review", "review_html", "raise RuntimeError('no pictures')")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the batch review page could not be written (RuntimeError: no pictures)" in result.stderr
    (report,) = reports(out)
    assert report["review_path"] is None and Path(report["log_path"]).is_file()
    assert digitize_states(home) == ["COMPLETED"]
    again = run_cli("run", str(page), "--out", str(out), "--no-progress", env={"PREFECT_HOME": str(home)})
    assert again.returncode == 0 and Path(reports(out)[-1]["review_path"]).is_file()


def test_a_process_that_dies_after_committing_is_marked_crashed_and_a_rerun_finishes_the_batch(
        page, tmp_path, own_prefect_home):
    """As Ray's C++ core ends a process: no Python cleanup at all, no report, the flow run left Running."""
    out, home = tmp_path / "dataset", own_prefect_home
    result = broken_run(page, out, home, "flows.dataset.review", "review_html", "os._exit(1)")
    assert result.returncode == 1
    assert list(out.glob("_units/*.json")) and not reports(out)
    told = result.stderr.split("run log: ", 1)[1].split(" ", 1)[0]  # named on the terminal at the start
    assert Path(told).is_file()
    assert digitize_states(home) == ["RUNNING"]

    again = run_cli("run", str(page), "--out", str(out), "--no-progress", env={"PREFECT_HOME": str(home)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert "left Running by a process that died: marked Crashed" in again.stderr
    assert digitize_states(home) == ["CRASHED", "COMPLETED"]
    (finished,) = reports(out)
    assert finished["units"]["skipped"] == 1 and Path(finished["review_path"]).is_file()
