"""One headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): open a page,
wait for what its JavaScript renders (short polls, no fixed budget), take screenshots, all in one browser process.

Standard library only: the protocol is JSON messages ending in a NUL byte, read from the browser's fd 4 and written
to its fd 3; a tiny Python launcher puts the pipe ends on those numbers before it execs Chromium (no preexec_fn,
which is unsafe in a process with threads, such as a test running a simulator).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--mute-audio",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe"]  # fmt: skip
LAUNCHER = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])")


class BrowserError(RuntimeError):
    """The browser answered a command with an error, closed its pipe, or did not answer in time."""


class Page:
    def __init__(self, browser: HeadlessChromium, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None, timeout_s: float = 60) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout_s=timeout_s)

    def viewport(self, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip

    def goto(self, url: str) -> None:
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url}: {answer['errorText']}")

    def evaluate(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression!r} raised in the page: {answer['exceptionDetails'].get('text')}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, done: Callable[[Any], bool], timeout_s: float = 90,
                 every_s: float = 0.05) -> Any:  # fmt: skip
        """Evaluate ``expression`` every ``every_s`` until ``done(value)``; the last value when time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(every_s)

    def screenshot(self, path: Path) -> Path:
        answer = self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(answer["data"]))
        return path


class HeadlessChromium:
    """``with HeadlessChromium(binary) as browser: page = browser.new_page()``; the browser's whole process group
    is killed on leaving."""

    def __init__(self, binary: str, timeout_s: float = 60) -> None:
        self.binary = binary
        self.timeout_s = timeout_s
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> HeadlessChromium:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        argv = [sys.executable, "-c", LAUNCHER, str(to_browser_r), str(from_browser_w), self.binary, *FLAGS,
                f"--user-data-dir={self._profile.name}", "about:blank"]  # fmt: skip
        self.process = subprocess.Popen(argv, pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._writer = to_browser_w
        self._reader = from_browser_r
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            # Closed by asking, so that it removes its temporary files; killed (the whole group) when it does not go.
            with contextlib.suppress(BrowserError, OSError):
                self.send("Browser.close", timeout_s=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        finally:
            os.close(self._writer)
            os.close(self._reader)
            self._profile.cleanup()

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        return page

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout_s: float | None = None) -> dict[str, Any]:  # fmt: skip
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            answer = self._receive(deadline, method)
            if answer.get("id") == self._next_id:  # anything else is an event, which no caller waits for
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _receive(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer to {method} in time")
            readable, _, _ = select.select([self._reader], [], [], left)
            if readable:
                chunk = os.read(self._reader, 1 << 20)
                if not chunk:
                    raise BrowserError(f"the browser closed its pipe (exit {self.process.poll()}) during {method}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)
