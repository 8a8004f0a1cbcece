"""``python -m txn_local [demo|serve|wait]``: the whole pipeline on this machine.

``demo`` (the default) brings everything up, sends a burst of sample traffic, prints a summary
and exits 0 when every accepted transaction reached a final status. ``serve`` brings
everything up and runs until Ctrl-C, printing what ``curl``, boto3 and the AWS CLI need, then
one ``ready`` line. ``wait`` returns once a ``serve`` on ``--host``/``--port`` takes requests.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import NoReturn, TextIO

from txn_local import embedded, gateway
from txn_local.errors import LocalError
from txn_local.runtime import API_KEY_ENV, LocalRuntime, RuntimeConfig
from txn_local.traffic import UNBOUND_KEY_VALUE
from txn_spec.api_responses import MISSING_AUTHENTICATION_TOKEN

EXIT_PROBLEMS = 1
EXIT_ERROR = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one coded line, not usage and a message
        raise LocalError("bad_setting", f"{message} (python -m txn_local --help)")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments, every rule checked: a bad one is a ``bad_setting`` error."""
    parser = _Parser(prog="python -m txn_local", description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("demo", "serve", "wait"), default="demo")
    for flag, kind, default, meaning in [
        ("--host", str, "127.0.0.1", "address to listen on"),
        ("--port", int, gateway.DEFAULT_PORT, "the API (8080)"),
        ("--aws-port", int, embedded.DEFAULT_AWS_PORT, "every AWS service (4566)"),
        ("--count", int, 1000, "demo: requests to send"),
        ("--clients", int, 8, "demo: concurrent clients"),
        ("--timeout", float, 180.0, "demo: seconds to finish; wait: to wait"),
        ("--workers", int, 4, "fraud-detector pollers (1-100)"),
        ("--log-level", str, None, "the functions' log level (demo: ERROR, serve: INFO)"),
        ("--log-file", Path, None, "where log lines go (demo: a new file)"),
    ]:
        parser.add_argument(flag, type=kind, default=default, help=meaning)
    args = parser.parse_args(argv)
    rules = [
        (0 <= args.port <= 65535, "--port must be a port number (0-65535)"),
        (0 <= args.aws_port <= 65535, "--aws-port must be a port number (0-65535)"),
        (args.count >= 1, "--count must be at least 1"),
        (args.clients >= 1, "--clients must be at least 1"),
        (args.timeout > 0, "--timeout must be more than 0 seconds"),
        (1 <= args.workers <= 100, "--workers must be 1-100 (the mapping's concurrency)"),
        ((args.log_level or "INFO").upper() in LOG_LEVELS, f"--log-level must be {LOG_LEVELS}"),
    ]
    for ok, rule in rules:
        if not ok:
            parser.error(rule)
    try:
        socket.getaddrinfo(args.host, None)
    except OSError:
        parser.error(f"--host {args.host!r} is not an address of this machine")
    return args


def api_key_setting() -> str | None:
    """``TXN_LOCAL_API_KEY``, checked against API Gateway's rule for a key value."""
    key = os.environ.get(API_KEY_ENV) or None
    if key is not None and not (
        20 <= len(key) <= 128 and key.isascii() and key.isprintable() and " " not in key
    ):
        raise LocalError(
            "bad_setting",
            f"{API_KEY_ENV} must be 20-128 printable ASCII characters without spaces (API "
            f"Gateway's rule for a key); it has {len(key)} characters. Unset it for a new one",
        )
    return key


def config(args: argparse.Namespace) -> RuntimeConfig:
    return RuntimeConfig(
        host=args.host,
        port=args.port,
        aws_port=args.aws_port,
        api_key=api_key_setting(),
        fraud_workers=args.workers,
        log_level=(args.log_level or ("INFO" if args.mode == "serve" else "ERROR")).upper(),
        log_file=args.log_file,
    )


def demo(runtime: LocalRuntime, args: argparse.Namespace, out: TextIO) -> int:
    from txn_local.demo import Demo, summary

    print(f"Sending {args.count} requests to {runtime.api_url} ...", file=out, flush=True)
    outcome = Demo(runtime, count=args.count, clients=args.clients, timeout=args.timeout).run()
    print(summary(outcome), file=out)
    print(f"  log             {args.log_file}", file=out)
    return 0 if outcome.ok else EXIT_PROBLEMS


def serve(runtime: LocalRuntime, out: TextIO) -> int:
    url = runtime.aws_url
    lines = [
        "The pipeline is running. Ctrl-C stops it.",
        f"  API        POST {runtime.api_url}",
        f"  API key    {runtime.api_key}",
        f"  other key  {UNBOUND_KEY_VALUE}  (another provider's: no merchant names it, 403)",
        f"  AWS        {url}  (every service)",
        "",
        "  Point boto3 (AWS_ENDPOINT_URL) or the AWS CLI (--endpoint-url) at it:",
        f"    export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={embedded.REGION}",
        f"    aws --endpoint-url {url} dynamodb scan --table-name {embedded.name('transactions')}",
        f"ready api={runtime.api_url} aws={url}",
    ]
    print("\n".join(lines), file=out, flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a service manager's stop
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    print("\nStopping: draining the pollers, then the embedded AWS ...", file=out, flush=True)
    return 0


def wait(args: argparse.Namespace, out: TextIO) -> int:
    """Until the gateway on ``--host:--port`` answers as the local API Gateway does (it starts
    after everything else), or ``not_ready`` after ``--timeout`` seconds."""
    url, deadline = f"http://{args.host}:{args.port}", time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).close()
        except urllib.error.HTTPError as answer:  # GET / is API Gateway's 404 with its type
            if answer.headers["x-amzn-ErrorType"] == MISSING_AUTHENTICATION_TOKEN.response_type:
                print(f"ready api={url}/transaction", file=out)
                return 0
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise LocalError(
        "not_ready",
        f"nothing answered as the local API on {args.host}:{args.port} within "
        f"{args.timeout:.0f} s (is `python -m txn_local serve` running?)",
    )


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    # Metrics are off locally (EMF would print a blob per call); Powertools says so per call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    began = time.monotonic()
    try:
        args = parse(argv)
        if args.mode == "wait":
            return wait(args, out)
        if args.mode == "demo" and args.log_file is None:  # the progress display stays clean
            args.log_file = Path(tempfile.mkstemp(prefix="txn-local-", suffix=".log")[1])
        runtime_config = config(args)
        logging.basicConfig(
            level=logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
            filename=args.log_file,
        )
        print("Starting the embedded AWS, the gateway and the pollers ...", file=out, flush=True)
        with LocalRuntime(runtime_config) as runtime:
            print(f"Up in {time.monotonic() - began:.1f} s.", file=out, flush=True)
            print(f"Dashboard: {runtime.gateway.url}/_dashboard", file=out, flush=True)
            code = serve(runtime, out) if args.mode == "serve" else demo(runtime, args, out)
        print("Stopped.", file=out, flush=True)
        return code
    except LocalError as error:
        print(f"txn_local: error [{error.code}]: {error.message}", file=out, flush=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=out)
        return 130


if __name__ == "__main__":
    sys.exit(main())
