"""Safety: no shell ever interprets a string, nothing is written outside the dataset root, and credentials in
an input URL never reach a row, a report or a log line."""

from __future__ import annotations

import ast
import logging

import pytest

from actors.stages.ingest import IngestStage
from configs.model import IngestOptions, load_config
from flows.run.planning import redact
from ocr_models.lontar_errors import UsageError, describe
from tests.support.cli import REPO

PACKAGES = ("actors", "flows", "ocr_models", "configs", "benchmarks")


def calls(name: str):
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(name):
                    yield path.relative_to(REPO), node


def test_no_shell_strings_only_argument_lists():
    for name in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
        assert not list(calls(name)), name
    for name in ("Popen", "subprocess.run", "subprocess.call", "subprocess.check_call", "check_output"):
        for path, node in calls(name):
            assert not any(k.arg == "shell" for k in node.keywords), (path, node.lineno)
            assert node.args and not isinstance(node.args[0], ast.Constant | ast.JoinedStr), (path, node.lineno)


@pytest.mark.parametrize("batch_id", ["../../etc", "a/b", ".hidden", "", "x" * 129, "tab\there"])
def test_a_batch_id_that_could_name_a_path_outside_the_dataset_is_refused(batch_id):
    with pytest.raises(UsageError, match="is not a batch id"):
        load_config(batch_id=batch_id)
    assert load_config(batch_id="night-2026.11.22_b1").batch_id == "night-2026.11.22_b1"


@pytest.mark.parametrize(("url", "shown"), [
    ("s3://AKIA:wJalr@bucket/scans/a.pdf", "s3://bucket/scans/a.pdf"),
    ("https://host/a.pdf?X-Amz-Credential=AKIA&X-Amz-Signature=f00d&X-Amz-Date=1",
     "https://host/a.pdf?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1"),
    ("https://acct.blob.core.windows.net/c/a.pdf?sv=2024&sig=c2VjcmV0", "https://acct.blob.core.windows.net/c/a.pdf?sv=2024&sig=***"),
    ("gs://bucket/who@where.pdf", "gs://bucket/who@where.pdf"),  # an @ in a name is no credential
])
def test_credentials_in_urls_are_never_shown(url, shown):
    assert redact(url) == shown
    assert describe(OSError(f"cannot open {url}: 403")) == f"OSError: cannot open {shown}: 403"


def test_a_file_that_fails_to_open_through_a_url_with_a_password_keeps_the_secret_out_of_rows_and_logs(caplog):
    url = "memory://archivist:s3cr3t@vault/gone.pdf"  # the object vanished after planning
    task = {"url": url.encode(), "source_uri": redact(url), "source_sha256": "0" * 64, "source_format": "pdf",
            "page_count": 1, "page_start": 0, "page_stop": 1, "error_kind": None, "error": None}
    with caplog.at_level(logging.DEBUG):
        (row,) = IngestStage(IngestOptions()).process([task])
    assert row["status"] == "error" and "archivist:***@vault/gone.pdf" in row["error"], row["error"]
    assert "s3cr3t" not in str(row) and "s3cr3t" not in caplog.text
