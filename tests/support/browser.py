"""Headless Chromium (Debian's package) driven over the DevTools protocol on loopback, for the UI tests.

`--dump-dom` gives one snapshot after a fixed budget of virtual time; on a loaded machine a single-page app
can still be empty then. Polling the live page until it shows what a test waits for, against a real-time
deadline, is what a person looking at the page does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from websockets.sync.client import connect


@contextlib.contextmanager
def chromium_page(profile: Path, width: int = 1400, height: int = 1000) -> Iterator[Callable[..., object]]:
    """A headless Chromium with one blank tab; yields `send(method, **params)` for that tab."""
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            assert browser.poll() is None and time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        (tab,) = [t for t in tabs if t["type"] == "page"]
        ids = itertools.count(1)
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
            def send(method: str, **params: object) -> object:
                message_id = next(ids)
                socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
                while True:
                    reply = json.loads(socket.recv(timeout=60))
                    if reply.get("id") == message_id:
                        assert "error" not in reply, reply
                        return reply["result"]
            yield send
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def wait_for_text(url: str, profile: Path, shows: Callable[[str], bool], timeout: float = 240) -> str:
    """Open `url` and return the page's visible text once `shows(text)` holds; fail with the last text at the
    deadline. The page is loaded again every minute, as an impatient reader would."""
    with chromium_page(profile) as send:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            send("Page.navigate", url=url)
            reload_at = min(deadline, time.monotonic() + 60)
            while time.monotonic() < reload_at:
                result = send("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                              returnByValue=True)
                text = result["result"].get("value") or ""
                if shows(text):
                    return text
                time.sleep(2)
        raise AssertionError(f"{url} never showed what was awaited in {timeout:.0f} s; it last showed:\n{text[-3000:]}")
