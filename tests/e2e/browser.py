"""Headless Chromium driven over the DevTools protocol, with nothing but the standard library.

``--remote-debugging-pipe`` speaks the protocol on file descriptors 3 (commands in) and 4
(answers and events out), one JSON message per NUL-terminated chunk: no WebSocket client, no
browser download. Chromium comes from the machine's packages (``./noxw -s tests`` installs it
with apt-get when run as root, or says how).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from typing import Any

# Console messages and log entries at these levels, and uncaught exceptions, are page errors.
ERROR_LEVELS = frozenset({"error", "warning", "assert"})


def _above(fd: int, lowest: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)
    os.close(fd)
    return moved


class Browser:
    def __init__(self) -> None:
        found = (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
        executable = next((path for path in found if path), None)
        assert executable, "no Chromium: apt-get install chromium (./noxw -s tests does, as root)"
        self._profile = tempfile.TemporaryDirectory(prefix="txn-chromium-")
        commands, self._to_browser = os.pipe()
        self._from_browser, answers = os.pipe()
        # above 4, so that placing one on 3 or 4 cannot overwrite the other
        commands, answers = (_above(fd, 5) for fd in (commands, answers))
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
        ]  # fmt: skip
        # posix_spawn, not subprocess: it can place the pipes on 3 and 4, and this process
        # has threads (the runtime's), which a preexec_fn would not be safe with.
        self._pid = os.posix_spawn(
            executable,
            [executable, *flags, "about:blank"],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, commands, 3),
                (os.POSIX_SPAWN_DUP2, answers, 4),
                *((os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)),
            ],
        )
        os.close(commands)
        os.close(answers)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []
        self._session: str | None = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close", session=False)
        except (OSError, EOFError):
            os.kill(self._pid, signal.SIGKILL)
        finally:
            os.waitpid(self._pid, 0)
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._profile.cleanup()

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True):
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._last_id:
                assert "error" not in answer, answer
                return answer.get("result", {})
            self.events.append(answer)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def open(self, url: str) -> None:
        """A new tab on ``url``, with console, exceptions and log entries recorded."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self._session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Evaluate until the value is truthy (an exception counts as not yet: the page may
        still be loading); that value."""
        deadline = time.monotonic() + timeout
        guarded = f"(() => {{ try {{ return {expression}; }} catch (error) {{ return null; }} }})()"
        while (value := self.evaluate(guarded)) in (None, False, 0, "") or value == []:
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.2)
        return value

    def errors(self) -> list[str]:
        """Every console error or warning, uncaught exception and error log entry so far."""
        self.evaluate("0")  # read the events that arrived while idle
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ERROR_LEVELS:
                found.append(json.dumps(params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] in ERROR_LEVELS:
                found.append(params["entry"]["text"])
        return found
