"""The queue's server as production runs it: Prefect's server on PostgreSQL (Debian's, started here on loopback)
with an auth string. A request without the string is refused; `lontar queue`, `lontar status` and `lontar nightly`
with it work, and a batch queued there runs. `lontar serve` refuses to listen beyond this machine without one."""

from __future__ import annotations

import base64
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.dataset.views import read_table
from tests.support.cli import REPO, free_port, lontar_serve, run_cli

pytestmark = pytest.mark.integration
AUTH = "archivist:" + secrets.token_hex(8)


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make deps` installs it (infra/apt-packages-dev.txt)")
    return found[-1].parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL cluster of its own on a free loopback port (as the `postgres` user when run as root, which
    PostgreSQL refuses to run as), with a database for Prefect; yields its SQLAlchemy URL."""
    folder = Path(tempfile.mkdtemp(prefix="lontar-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    password, port = secrets.token_hex(8), free_port()
    (folder / "pw").write_text(password)
    if as_user:
        os.chown(folder / "pw", pwd.getpwnam("postgres").pw_uid, -1)
    tools = postgres_bin()

    def call(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, stdin=subprocess.DEVNULL)

    call(str(tools / "initdb"), "-D", str(folder / "data"), "-U", "lontar", "--auth=scram-sha-256",
         f"--pwfile={folder / 'pw'}")
    call(str(tools / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "start", "-o",
         f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}")
    try:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "lontar", "-d", "postgres", "-c",
                        "CREATE DATABASE prefect"], check=True, capture_output=True,
                       env={**os.environ, "PGPASSWORD": password})
        yield f"postgresql+asyncpg://lontar:{password}@127.0.0.1:{port}/prefect"
    finally:
        call(str(tools / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def production(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`lontar serve` starting Prefect's server on PostgreSQL with an auth string; yields the clients' env."""
    home = tmp_path_factory.mktemp("prefect-production")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_DATABASE_CONNECTION_URL": postgres,
           "PREFECT_SERVER_API_AUTH_STRING": AUTH}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_API_AUTH_STRING", None)
    with lontar_serve("--port", str(port), env=env, output=home / "serve.out") as process:
        deadline = time.monotonic() + 400
        while not (home / "lontar-serve.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, (home / "serve.out").read_text()
            time.sleep(1)
        clients = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
        yield {**clients, "PREFECT_HOME": str(tempfile.mkdtemp(prefix="lontar-client-")),
               "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_API_AUTH_STRING": AUTH,
               "SERVE_HOME": str(home)}


def test_the_server_keeps_its_state_in_postgresql_and_refuses_requests_without_the_auth_string(production):
    served = json.loads((Path(production["SERVE_HOME"]) / "lontar-serve.json").read_text())
    assert served["auth_string"] == AUTH and (Path(production["SERVE_HOME"]) / "lontar-serve.json").stat(
    ).st_mode & 0o077 == 0  # only its user may read it
    assert not list(Path(production["SERVE_HOME"]).glob("*.db"))  # no SQLite database beside it
    api = production["PREFECT_API_URL"]
    with urllib.request.urlopen(f"{api}/health", timeout=10) as answer:  # probes need no string
        assert answer.status == 200
    for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"archivist:wrong").decode()}):
        request = urllib.request.Request(f"{api}/work_pools/filter", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
    without = run_cli("queue", "list", env={**production, "PREFECT_API_AUTH_STRING": ""})
    assert without.returncode == 6 and "refuses requests without its auth string" in without.stderr


def test_a_batch_queued_with_the_auth_string_runs_under_nightly(production, sample_archive, tmp_path):
    dataset, config = tmp_path / "dataset", tmp_path / "queue.yaml"
    config.write_text("layout: {kind: none}\nqueue: {lease_s: 10}\n")
    added = run_cli("queue", "add", str(sample_archive / "english-letter.png"), "--name", "Letters", "--out",
                    str(dataset), "--config", str(config), env=production)
    assert added.returncode == 0, added.stderr[-3000:]
    batch = added.stdout.strip()
    listed = json.loads(run_cli("queue", "list", "--json", env=production).stdout)
    assert [(b["batch_id"], b["state_name"]) for b in listed] == [(batch, "Queued")]
    nightly = run_cli("nightly", "--now", env=production)
    assert nightly.returncode == 0, nightly.stderr[-3000:]
    status = run_cli("status", batch, "--json", env=production)
    assert status.returncode == 0 and json.loads(status.stdout)["state"] == "Completed", status.stdout
    assert read_table(str(dataset), "pages", ["batch_id"])["batch_id"].to_pylist() == [batch]


def api(production: dict[str, str], method: str, path: str, body: dict | None = None) -> dict | None:
    """A request to the server's REST API with the auth string, as any HTTP client would make it."""
    token = base64.b64encode(production["PREFECT_API_AUTH_STRING"].encode()).decode()
    request = urllib.request.Request(f"{production['PREFECT_API_URL']}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def test_an_upgraded_lontar_serve_brings_the_deployments_it_finds_up_to_date(production, tmp_path):
    """What an older Lontar left in the server (another entrypoint, description and schedule) is replaced by
    this one's definitions when `lontar serve` starts, here a second one joining the server."""
    batch = api(production, "GET", "/deployments/name/lontar-batch/queue")
    api(production, "PATCH", f"/deployments/{batch['id']}",
        {"description": "left by Lontar 0.0.9", "entrypoint": "flows.old_module.process_batch"})
    stale = api(production, "GET", "/deployments/name/lontar-batch/queue")
    assert stale["entrypoint"] == "flows.old_module.process_batch"
    env = {**production, "PREFECT_HOME": str(tmp_path / "home")}
    output = tmp_path / "serve.out"
    with lontar_serve("--cron", "5 3 * * *", env=env, output=output) as upgraded:
        deadline = time.monotonic() + 240
        while "serving;" not in output.read_text():
            assert upgraded.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
            time.sleep(1)
    batch = api(production, "GET", "/deployments/name/lontar-batch/queue")
    assert batch["entrypoint"] == "flows.queue.batch_flow.process_batch"
    assert batch["description"].startswith("One archivist's batch")
    nightly = api(production, "GET", "/deployments/name/lontar-nightly/nightly")
    assert [s["schedule"]["cron"] for s in nightly["schedules"]] == ["5 3 * * *"]


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "prefect.example.org"])
def test_serving_beyond_loopback_without_an_auth_string_is_refused(host, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING")}
    result = run_cli("serve", "--host", host, "--port", str(free_port()), env={**env, "PREFECT_HOME": str(tmp_path)},
                     timeout=60)
    assert result.returncode == 2 and "set PREFECT_SERVER_API_AUTH_STRING" in result.stderr, result.stderr
    assert not list(tmp_path.iterdir())  # nothing was started


def test_the_cluster_deployment_wires_postgres_auth_and_network_policy():
    import yaml

    infra = REPO / "infra" / "prefect"
    docs = {(d["kind"], d["metadata"]["name"]): d for path in infra.glob("*.yaml")
            for d in yaml.safe_load_all(path.read_text()) if d}
    server = docs[("Deployment", "prefect-server")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in server["env"]}
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"]["valueFrom"]["secretKeyRef"]["name"] == "prefect-db"
    assert env["PREFECT_SERVER_API_AUTH_STRING"]["valueFrom"]["secretKeyRef"]["name"] == "prefect-auth"
    assert ("StatefulSet", "prefect-postgres") in docs and ("PersistentVolumeClaim", "prefect-data") not in docs
    worker = docs[("Deployment", "lontar-worker")]["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e for e in worker["env"]}["PREFECT_API_AUTH_STRING"]["valueFrom"]["secretKeyRef"] == {
        "name": "prefect-auth", "key": "auth-string"}
    policy = docs[("NetworkPolicy", "prefect-server")]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prefect-server"}
    sources = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "lontar-worker"}}} in sources
    assert any(p.get("podSelector", {}).get("matchLabels", {}).get("ray.io/node-type") == "head" for p in sources)
    assert any("namespaceSelector" in p for p in sources)  # the archivists' ingress
    database = docs[("NetworkPolicy", "prefect-postgres")]["spec"]
    assert [peer for rule in database["ingress"] for peer in rule["from"]] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prefect-server"}}}]
