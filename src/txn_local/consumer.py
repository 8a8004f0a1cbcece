"""The event-source side of the local runtime in a process of its own.

The SQS pollers, the fraud detector and the failed-transaction function run in a child process
(``python -m txn_local.consumer``) that the runtime starts, watches and stops, as it does the
moto servers. The gateway and the validator keep the runtime's process. Each process has its own
GIL, so the two halves of the pipeline use both cores instead of sharing one: botocore's
per-call work (signing, hooks, HTTP) on both sides is most of the pipeline's Python time.

Talking to the child:

- its stdin carries the :class:`ConsumerSpec` (one JSON line), then commands, one JSON line
  each (``{"op": "latencies"}``); it answers every one, and says ``ready`` or why it could not
  start, with one JSON line on a pipe of its own (its stdout and stderr are the functions' log
  output, which the runtime copies to its own streams line by line);
- closing its stdin stops it: the pollers stop receiving, finish the batches in hand and the
  child exits. A runtime that dies closes it too, so the child never outlives it. It runs in a
  session of its own, so a Ctrl-C in the terminal reaches only the runtime, which then stops it
  in order instead of killing it in the middle of a batch;
- the poller counters (:data:`~txn_local.pollers.COUNTS`) live in a small shared file that the
  child updates and the runtime reads without asking (:class:`SharedCounters`): the demo's
  backlog check reads them for every request.

Supervision: if the child exits while it should be running, the runtime logs the exit code and
the child's last output lines and starts a new one (at most :data:`MAX_RESTARTS` times; then
:attr:`ConsumerProcess.failure` holds the reason and the runtime reports it). Counters carry
on; the messages the dead child held come back when their visibility timeout ends, as they do
when a Lambda container dies.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import logging
import mmap
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from txn_local.errors import LocalError
from txn_local.invoke import FUNCTIONS_ROOT
from txn_local.motoserver import SOURCE_ROOT, child_environment
from txn_local.pollers import COUNTS, DEFAULT_RETRY_DELAY_SECONDS, PollerStats
from txn_spec import shapes

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0  # the batches in hand finish first
MAX_RESTARTS = 3
_OUTPUT_LINES_KEPT = 20
_EXIT_START_FAILED = 2


@dataclass(frozen=True)
class SourceSpec:
    """One event source mapping as the child runs it."""

    component: str  # the function's component (``fraud-detector``)
    queue_url: str
    queue_arn: str
    workers: int

    @property
    def shape(self) -> shapes.EventSourceShape:
        return next(s for s in shapes.EVENT_SOURCES if s.function.component == self.component)


@dataclass(frozen=True)
class ConsumerSpec:
    """What the child needs besides its environment (endpoints, credentials, ``Env.*``)."""

    aws_url: str
    sources: tuple[SourceSpec, ...]
    counters_path: str
    region: str
    account_id: str
    retry_delay: int | None = DEFAULT_RETRY_DELAY_SECONDS
    show_metrics: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ConsumerSpec:
        data = json.loads(text)
        data["sources"] = tuple(SourceSpec(**source) for source in data["sources"])
        return cls(**data)


# --- shared counters ------------------------------------------------------------------------------

_SLOT = struct.Struct(f"<{1 + len(COUNTS)}q")  # a sequence number, then the counts


class SharedCounters:
    """Poller counters in a file both processes map: one writer per slot (the child, under
    its ``PollerStats`` lock), any number of readers.

    A seqlock keeps a reader from mixing two updates: the writer makes the sequence number odd,
    writes the counts and makes it even again; a reader retries while it is odd or moved.
    """

    def __init__(self, path: Path, components: tuple[str, ...]):
        """Map the counters file at ``path`` (made by :meth:`create`)."""
        self.path = path
        self.components = components
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), _SLOT.size * len(components))

    @classmethod
    def create(cls, components: tuple[str, ...]) -> SharedCounters:
        """A new counters file, all zero."""
        fd, name = tempfile.mkstemp(prefix="txn-local-counters-")
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(_SLOT.size * len(components)))
        return cls(Path(name), components)

    def _offset(self, component: str) -> int:
        return self.components.index(component) * _SLOT.size

    def write(self, component: str, counts: Mapping[str, int]) -> None:
        offset = self._offset(component)
        sequence = _SLOT.unpack_from(self._map, offset)[0]
        struct.pack_into("<q", self._map, offset, sequence + 1)
        _SLOT.pack_into(self._map, offset, sequence + 1, *(counts[name] for name in COUNTS))
        struct.pack_into("<q", self._map, offset, sequence + 2)

    def read(self, component: str) -> dict[str, int]:
        offset = self._offset(component)
        while True:
            sequence, *values = _SLOT.unpack_from(self._map, offset)
            if sequence % 2 == 0 and struct.unpack_from("<q", self._map, offset)[0] == sequence:
                return dict(zip(COUNTS, values, strict=True))
            time.sleep(0)

    def clear_in_flight(self) -> None:
        """A dead child's batches are no longer in anyone's hands."""
        for component in self.components:
            self.write(component, {**self.read(component), "in_flight": 0})

    def close(self, *, remove: bool = False) -> None:
        self._map.close()
        if remove:
            self.path.unlink(missing_ok=True)


# --- the runtime's side ---------------------------------------------------------------------------


class ConsumerProcess:
    """Starts, watches and stops the consumer child; reads its counters."""

    output: IO[str] | None = None  # where the child's stdout and stderr go (None: ours)

    def __init__(self, spec_for: Callable[[str], ConsumerSpec], environment: Mapping[str, str]):
        """``spec_for(counters_path)`` builds the spec; ``environment`` is the child's."""
        components = tuple(source.function.component for source in shapes.EVENT_SOURCES)
        self.counters = SharedCounters.create(components)
        self.spec = spec_for(str(self.counters.path))
        # the child imports this package and the functions
        self.environment = child_environment(environment, SOURCE_ROOT, FUNCTIONS_ROOT)
        self.restarts = 0
        self.failure: LocalError | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._output: collections.deque[str] = collections.deque(maxlen=_OUTPUT_LINES_KEPT)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()  # one command at a time; start and stop
        self._requests = itertools.count(1)  # each command's id, echoed in its answer
        self._running = False  # the child should be running: an exit is a crash

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        """The child said it is ready and has not stopped since."""
        return self._running

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the child and wait until its pollers run; ``LocalError`` if it cannot."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Spawn the child; it imports the functions while the caller does other work."""
        with self._lock:
            self.failure = None
            self._spawn()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        answer = self._answer(timeout)
        if answer is None or "ready" not in answer:
            error = (answer or {}).get("error") or {}
            detail = self._exit_detail()
            self.stop()
            if error:
                raise LocalError(
                    error.get("code", "consumer_failed"),
                    f"{error.get('message')} (the consumer process stopped{detail})",
                )
            raise LocalError(
                "consumer_failed",
                "the consumer process (pollers, fraud detector, failed-transaction function) "
                f"did not start{detail}",
            )
        with self._lock:
            self._running = True
        watcher = threading.Thread(
            target=self._watch, args=(self._process,), name="consumer-watch", daemon=True
        )
        watcher.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop receiving, let the batches in hand finish, wait for the child to exit."""
        with self._lock:
            self._running = False
            process, self._process = self._process, None
        if process is None:
            return
        _close(process.stdin)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("the consumer process did not stop within %.0f s: killed", timeout)
            process.kill()
            process.wait()
        for thread in self._threads:
            thread.join(5)
        self._threads = []

    def close(self) -> None:
        self.stop()
        self.counters.close(remove=True)

    def _spawn(self) -> None:
        control_read, control_write = os.pipe()
        command = [sys.executable, "-m", "txn_local.consumer", "--control-fd", str(control_write)]
        try:
            process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(control_write,),
                env=self.environment,
                start_new_session=True,  # Ctrl-C goes to the runtime, which stops us in order
            )
        finally:
            os.close(control_write)
        self._process = process
        self._answers = queue.Queue()
        self._output.clear()
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        self._threads = [
            _thread(self._read_answers, os.fdopen(control_read, "rb"), self._answers),
            _thread(self._copy, process.stdout, lambda: self.output or sys.stdout),
            _thread(self._copy, process.stderr, lambda: self.output or sys.stderr),
        ]
        process.stdin.write(self.spec.to_json().encode() + b"\n")
        process.stdin.flush()

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        """Restart the child when it exits while it should be running."""
        code = process.wait()
        with self._lock:
            if not self._running or self._process is not process:
                return  # stopped on purpose
            self._running = False
        for thread in self._threads:
            thread.join(5)  # its last output lines
        detail = f"exited with code {code}{self._output_detail()}"
        if self.restarts >= MAX_RESTARTS:
            self.failure = LocalError(
                "consumer_failed",
                f"the consumer process {detail}; given up after {self.restarts} restarts",
            )
            log.error("%s", self.failure.message)
            return
        self.restarts += 1
        log.error(
            "the consumer process %s; restarting it (%d of %d)", detail, self.restarts, MAX_RESTARTS
        )
        self.counters.clear_in_flight()
        try:
            self.launch()
            self.wait_ready()
        except LocalError as error:
            self.failure = error
            log.error("the consumer process could not be restarted: %s", error.message)

    # --- reading ----------------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: self.counters.read(name) for name in self.counters.components}

    def latencies(self, component: str) -> list[float]:
        """Milliseconds from SendMessage to deletion per record ``component`` handled."""
        answer = self.request({"op": "latencies", "component": component})
        return [float(value) for value in answer["latencies"]]

    def request(self, command: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        with self._lock:
            process = self._process
            if process is None or process.stdin is None or not self._running:
                raise LocalError("consumer_not_running", "the consumer process is not running")
            n = next(self._requests)
            try:
                process.stdin.write(json.dumps({**command, "id": n}).encode() + b"\n")
                process.stdin.flush()
            except OSError:
                raise LocalError("consumer_not_running", "the consumer process went away") from None
            deadline = time.monotonic() + timeout
            answer = self._answer(timeout)
            # an earlier command's answer that came after its caller stopped waiting: not ours
            while answer is not None and answer.get("id") not in (None, n):
                answer = self._answer(max(deadline - time.monotonic(), 0.0))
        if answer is None or "error" in answer:
            message = (answer or {}).get("error", {}).get("message", "no answer")
            raise LocalError("consumer_failed", f"the consumer process: {message}")
        return answer

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            return None

    @staticmethod
    def _read_answers(stream: IO[bytes], answers: queue.Queue[dict[str, Any] | None]) -> None:
        with stream:
            for line in stream:
                try:
                    answers.put(json.loads(line))
                except ValueError:
                    answers.put({"error": {"message": f"unreadable answer {line[:80]!r}"}})
        answers.put(None)  # the child closed it: it exited

    def _copy(self, stream: IO[bytes], target: Callable[[], IO[str]]) -> None:
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace")
                self._output.append(line.rstrip("\n"))
                try:
                    target().write(line)
                    target().flush()
                except (OSError, ValueError):  # the terminal went away: keep draining
                    pass

    def _exit_detail(self) -> str:
        """How the child ended, once it has (a few seconds at most), with its last output."""
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(5)
            except subprocess.TimeoutExpired:
                pass
            else:
                for thread in self._threads:
                    thread.join(2)  # its last output lines
        return (f" with exit code {code}" if code is not None else "") + self._output_detail()

    def _output_detail(self) -> str:
        lines = [line for line in self._output if line.strip()]
        return f"; its last output: {' | '.join(lines[-5:])}" if lines else ""


def _thread(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name="consumer-io", daemon=True)
    thread.start()
    return thread


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):  # the child is gone already
            stream.close()


# --- the child ------------------------------------------------------------------------------------


def _serve(control: IO[str]) -> int:
    from txn_local import embedded
    from txn_local.invoke import LocalFunction, import_handlers
    from txn_local.output import DropEmf
    from txn_local.pollers import SqsPoller

    def answer(message: dict[str, Any]) -> None:
        control.write(json.dumps(message) + "\n")
        control.flush()

    spec = ConsumerSpec.from_json(sys.stdin.readline())
    if not spec.show_metrics:
        sys.stdout = DropEmf(sys.stdout)
    try:
        handlers = import_handlers(tuple(source.shape.function for source in spec.sources))
    except LocalError as error:
        answer({"error": {"code": error.code, "message": error.message}})
        return _EXIT_START_FAILED
    except Exception as error:  # a handler that fails at import (its cold start)
        log.exception("a function failed to start")
        answer(
            {
                "error": {
                    "code": "function_start_failed",
                    "message": f"a function failed to start: {type(error).__name__}: {error}",
                }
            }
        )
        return _EXIT_START_FAILED
    counters = SharedCounters(Path(spec.counters_path), tuple(s.component for s in spec.sources))
    sqs = embedded.make_client("sqs", spec.aws_url)
    pollers = []
    for source in spec.sources:
        shape = source.shape
        stats = PollerStats(**{**counters.read(source.component), "in_flight": 0})
        stats.publish = lambda counts, component=source.component: counters.write(component, counts)
        poller = SqsPoller(
            sqs=sqs,
            queue_url=source.queue_url,
            queue_arn=source.queue_arn,
            function=LocalFunction(
                shape=shape.function,
                physical_name=embedded.name(shape.function.component),
                handler=handlers[shape.function.component],
                region=spec.region,
                account_id=spec.account_id,
            ),
            source=shape,
            workers=source.workers,
            retry_delay=spec.retry_delay,
            region=spec.region,
        )
        poller.stats = stats
        pollers.append(poller)
    for poller in pollers:
        poller.start()
    answer({"ready": os.getpid()})
    by_component = {poller.name: poller for poller in pollers}
    for line in sys.stdin:  # until the runtime closes it (or dies)
        command: Any = None
        try:
            command = json.loads(line)
            poller = by_component[command["component"]]
            if command.get("op") != "latencies":
                raise KeyError(command.get("op"))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            message = f"unknown command {line.strip()[:80]!r} ({error})"
            n = command.get("id") if isinstance(command, dict) else None
            answer({"error": {"message": message}, "id": n})
            continue
        with poller.stats.lock:
            latencies = list(poller.stats.latencies_ms)
        answer({"latencies": latencies, "id": command.get("id")})
    for poller in pollers:
        poller.stop(STOP_TIMEOUT_SECONDS)
    counters.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m txn_local.consumer", description=__doc__)
    parser.add_argument("--control-fd", type=int, required=True)
    args = parser.parse_args(argv)
    # Started by the runtime in its own session; an interrupt is the runtime's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s consumer %(name)s: %(message)s"
    )
    # Metrics are off locally (EMF would print a blob per call); Powertools says so per call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with os.fdopen(args.control_fd, "w") as control:
        return _serve(control)


if __name__ == "__main__":
    sys.exit(main())
