"""What the driver (the `lontar run` process) spends against the cluster, on real born-digital PDFs and on scans:

    .venv/bin/python benchmarks/driver.py                      # 1,000 real born-digital pages, 100 scans
    .venv/bin/python benchmarks/driver.py --scans 0 --nodes 2  # on a cluster of two `ray start` nodes

Born-digital: the PDF manuals Debian ships (r-doc-pdf, libtasn1-doc, shared-mime-info; `make bench` installs
them), cut to `--pages` pages; real documents Lontar did not make. Scans: drawn pages (benchmarks/throughput.py's
archive), whose content does not matter here. Each archive runs twice, whole and as its first file alone, and
the driver's CPU time per page is the difference over the difference in pages (start-up, Prefect and Ray's
fixed costs cancel out). Every process's CPU time is sampled, so the table also says which process is busiest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BIN = Path(sys.executable).parent
DEBIAN_PDFS = [*sorted(Path("/usr/share/doc/r-doc-pdf/manual").glob("R-*.pdf")),
               Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
               Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")]
REFERENCE = Path("/usr/share/doc/r-doc-pdf/manual/refman.pdf")  # 2,400 pages: what fills up to --pages


def born_digital(folder: Path, pages: int) -> Path:
    """`pages` pages of real born-digital PDFs: the manuals whole, then the R reference manual's first pages."""
    import pymupdf

    folder.mkdir(parents=True)
    count = 0
    for pdf in DEBIAN_PDFS:
        if not pdf.exists():
            raise SystemExit(f"{pdf} is missing: `make bench` installs it (infra/apt-packages-bench.txt)")
        with pymupdf.open(pdf) as doc:
            if count + doc.page_count > pages:
                continue
            count += doc.page_count
        shutil.copy(pdf.resolve(), folder / pdf.name)
    if count < pages:
        with pymupdf.open(REFERENCE) as reference, pymupdf.open() as part:
            part.insert_pdf(reference, from_page=0, to_page=pages - count - 1)
            part.save(folder / "refman-part.pdf")
    return folder


def scans(folder: Path, pages: int) -> Path:
    from benchmarks.throughput import make_archive

    make_archive(folder, pages, ["eng", "hin", "tam", "tha"])
    shutil.rmtree(folder / "pages")
    return folder / "scans"


def first_file(folder: Path, into: Path) -> Path:
    into.mkdir(parents=True)
    smallest = min(folder.iterdir(), key=lambda p: p.stat().st_size)
    shutil.copy(smallest, into / smallest.name)
    return into


class CpuSampler:
    """The CPU seconds of every process of the machine that is the run's or the cluster's, by role."""

    def __init__(self, driver: int, every_s: float = 0.5) -> None:
        self.driver, self.every_s = driver, every_s
        self.last: dict[int, tuple[str, float]] = {}
        self.before = {p.pid: sum(p.cpu_times()[:2]) for p in psutil.process_iter() if _safe(p)}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in psutil.process_iter():
                with contextlib.suppress(psutil.Error):
                    role = self.role(proc)
                    if role:  # a worker's title changes with its task: keep the first that says what it does
                        known = self.last.get(proc.pid, (role, 0.0))[0]
                        role = role if known == "ray worker: IDLE" else known
                        self.last[proc.pid] = (role, sum(proc.cpu_times()[:2]) - self.before.get(proc.pid, 0.0))
            self._stop.wait(self.every_s)

    def role(self, proc: psutil.Process) -> str | None:
        if proc.pid == self.driver:
            return "driver (lontar run)"
        name = proc.name()
        if name.startswith("ray::"):
            title = " ".join(proc.cmdline()[:1]) or name
            if "read_text_layers" in title or "MapBatches(run)" in title:  # one worker runs both, in turn
                return "ray worker: tasks (text-layer judging, ingest and its writing)"
            for actor in ("StageActor", "IndexActor", "IDLE"):
                if actor in title:
                    return f"ray worker: {actor}"
            return f"ray worker: {title[:40]}"
        line = " ".join(proc.cmdline()[:4])
        if "prefect" in line and "server" in line:
            return "prefect server"
        if name in ("raylet", "gcs_server") or "ray/dashboard" in line or "log_monitor" in line or \
                "ray/autoscaler" in line or "runtime_env" in line:
            return f"ray system: {name}"
        return None

    def stop(self) -> Counter:
        self._stop.set()
        self._thread.join()
        totals: Counter = Counter()
        for role, seconds in self.last.values():
            totals[role] += max(0.0, seconds)
        return totals


def _safe(proc: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        proc.cpu_times()
        return True
    return False


def run(inputs: Path, out: Path, extra: list[str]) -> dict:
    args = [str(BIN / "lontar"), "run", str(inputs), "--out", str(out), "--no-progress", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL,
                               env={**os.environ, "OMP_THREAD_LIMIT": "1", "RAY_AUTH_TOKEN": TOKEN})
    sampler = CpuSampler(process.pid)
    _, stderr = process.communicate()
    wall, cpu = time.perf_counter() - started, sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"lontar run failed ({process.returncode}):\n{stderr[-3000:]}")
    (report,) = [json.loads(p.read_text()) for p in out.glob("_runs/*/*.json")]
    timings = report["timings"]
    return {"pages": report["pages"]["total"], "wall_s": wall, "cpu": cpu, "driver_cpu_s": timings["driver_cpu_s"],
            "flowing": timings.get("steady_pages_per_s", timings["pages_per_s"]), "process_s": timings["process_s"]}


TOKEN = secrets.token_hex(16)  # the benchmark cluster's token: Ray clusters take drivers that hold it only


@contextlib.contextmanager
def ray_nodes(workdir: Path, count: int, cpus: int):
    """A cluster of `count` `ray start` nodes on loopback, `cpus` CPUs each, token authentication on; yields
    its address. Kept on loopback: a head asks the cloud-metadata address for its provider unless
    ~/ray_bootstrap_config.yaml exists, and would send a usage-stats note."""
    home = workdir / "home"
    home.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text("{}\n")
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN,
           "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/", "OMP_THREAD_LIMIT": "1",
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}  # stop at once when told to (Ray drains for 30 s)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    common = ["--block", "--node-ip-address=127.0.0.1", "--object-store-memory=200000000", "--disable-usage-stats",
              f"--num-cpus={cpus}"]
    commands = [[str(BIN / "ray"), "start", "--head", f"--port={port}", "--include-dashboard=false",
                 f"--temp-dir={workdir / 'ray'}", *common]]
    commands += [[str(BIN / "ray"), "start", f"--address={address}", *common]] * (count - 1)
    nodes = []
    try:
        for i, command in enumerate(commands):
            nodes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          stdin=subprocess.DEVNULL, start_new_session=True, env=env))
            if i == 0:
                time.sleep(8)
        time.sleep(8)
        yield address
    finally:
        for node in nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, 15)
        for node in nodes:
            node.wait(60)


def measure(name: str, archive: Path, work: Path, extra: list[str], cores: int) -> list[str]:
    small = run(first_file(archive, work / f"{name}-small-in"), work / f"{name}-small", extra)
    whole = run(archive, work / f"{name}-whole", extra)
    pages = whole["pages"] - small["pages"]
    per_page_ms = 1000 * (whole["driver_cpu_s"] - small["driver_cpu_s"]) / pages
    busiest = whole["cpu"].most_common()
    end_to_end = whole["pages"] / whole["wall_s"]
    lines = [f"{name}: {whole['pages']} pages ({small['pages']} in the one-file run)",
             f"  driver CPU: {per_page_ms:.2f} ms a page ({whole['driver_cpu_s']:.1f} s against "
             f"{small['driver_cpu_s']:.1f} s), {1000 * whole['driver_cpu_s'] / whole['wall_s']:.0f} ms a second",
             f"  pages/s: {end_to_end:.1f} end to end ({end_to_end / cores:.1f} a core), "
             f"{whole['flowing']:.1f} once flowing ({whole['flowing'] / cores:.1f} a core)",
             "  CPU seconds by process (whole run):"]
    lines += [f"    {seconds:8.1f}  {role}" for role, seconds in busiest[:8]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="real born-digital pages (0: none)")
    parser.add_argument("--scans", type=int, default=100, help="scanned pages (0: none)")
    parser.add_argument("--nodes", type=int, default=0, help="run on a cluster of this many `ray start` nodes")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--config", help="a config file for every run (e.g. output.text_pages_per_task)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lontar-driver-"))
    cores = args.nodes * args.cpus_per_node if args.nodes else os.cpu_count()
    lines = [f"driver benchmark, {cores} cores"]
    try:
        with contextlib.ExitStack() as stack:
            extra = ["--langs", "eng", *(["--config", args.config] if args.config else [])]
            if args.nodes:
                address = stack.enter_context(ray_nodes(work, args.nodes, args.cpus_per_node))
                extra += ["--ray-address", address]
                lines[0] += f", on {args.nodes} Ray nodes of {args.cpus_per_node} CPUs"
            if args.pages:
                lines += measure("born-digital (real PDFs)", born_digital(work / "born", args.pages), work, extra,
                                 cores)
            if args.scans:
                lines += measure("scans (drawn)", scans(work / "scans", args.scans), work,
                                 ["--langs", "eng,hin,tam,tha", *extra[2:]], cores)
            if args.config:
                lines[0] += f", config {args.config}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
