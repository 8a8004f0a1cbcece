"""``python -m txn_local [demo|serve]``: the whole pipeline on this machine.

``demo`` (the default) brings everything up, sends a burst of sample traffic, prints a summary
and exits 0 when every accepted transaction reached a final status. ``serve`` brings
everything up and runs until Ctrl-C, printing what ``curl``, boto3 and the AWS CLI need.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import warnings
from typing import TextIO

from txn_local import embedded, gateway
from txn_local.errors import LocalError
from txn_local.runtime import API_KEY_ENV, LocalRuntime, RuntimeConfig

EXIT_PROBLEMS = 1
EXIT_ERROR = 2


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m txn_local", description=__doc__.splitlines()[0]
    )
    parser.add_argument("mode", nargs="?", choices=("demo", "serve"), default="demo")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=gateway.DEFAULT_PORT, help="the API (8080)")
    parser.add_argument(
        "--aws-port",
        type=int,
        default=embedded.DEFAULT_AWS_PORT,
        help="the embedded AWS (4566; SQS on the next port)",
    )
    parser.add_argument("--count", type=int, default=1000, help="demo: requests to send")
    parser.add_argument("--clients", type=int, default=8, help="demo: concurrent clients")
    parser.add_argument("--timeout", type=float, default=180.0, help="demo: seconds to finish")
    parser.add_argument("--workers", type=int, default=4, help="fraud-detector pollers")
    parser.add_argument(
        "--log-level",
        default=None,
        help="the functions' log level (demo: ERROR, serve: INFO)",
    )
    args = parser.parse_args(argv)
    for name in ("port", "aws_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be a port number (0-65535)")
    if args.count < 1:
        parser.error("--count must be at least 1")
    return args


def config(args: argparse.Namespace) -> RuntimeConfig:
    return RuntimeConfig(
        host=args.host,
        port=args.port,
        aws_port=args.aws_port,
        api_key=os.environ.get(API_KEY_ENV) or None,
        fraud_workers=args.workers,
        log_level=args.log_level or ("INFO" if args.mode == "serve" else "ERROR"),
    )


def demo(runtime: LocalRuntime, args: argparse.Namespace, out: TextIO) -> int:
    from txn_local.demo import Demo, summary

    print(f"Sending {args.count} requests to {runtime.api_url} ...", file=out)
    outcome = Demo(runtime, count=args.count, clients=args.clients, timeout=args.timeout).run()
    print(summary(outcome), file=out)
    return 0 if outcome.ok else EXIT_PROBLEMS


def serve(runtime: LocalRuntime, out: TextIO) -> int:
    assert runtime.endpoints is not None
    endpoints = runtime.endpoints
    print(
        "\n".join(
            [
                "The pipeline is running. Ctrl-C stops it.",
                f"  API        POST {runtime.api_url}",
                f"  API key    {runtime.api_key}",
                f"  AWS        {endpoints.default}  (SQS: {endpoints.sqs})",
                "",
                "  Point boto3 / the AWS CLI at it:",
                f"    export AWS_ENDPOINT_URL={endpoints.default}",
                f"    export AWS_ENDPOINT_URL_SQS={endpoints.sqs}",
                "    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
                f"AWS_DEFAULT_REGION={embedded.REGION}",
                f"    aws dynamodb scan --table-name {embedded.name('transactions')}",
            ]
        ),
        file=out,
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a service manager's stop
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    print("\nStopping: draining the pollers, then the embedded AWS ...", file=out, flush=True)
    return 0


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse(argv)
    # Metrics are off locally (EMF would print a blob per call); Powertools says so per call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.monotonic()
    try:
        print("Starting the embedded AWS, the gateway and the pollers ...", file=out, flush=True)
        with LocalRuntime(config(args)) as runtime:
            print(f"Up in {time.monotonic() - began:.1f} s.", file=out, flush=True)
            print(f"Dashboard: {runtime.gateway.url}/_dashboard", file=out, flush=True)
            code = serve(runtime, out) if args.mode == "serve" else demo(runtime, args, out)
        print("Stopped.", file=out, flush=True)
        return code
    except LocalError as error:
        print(f"txn_local: error [{error.code}]: {error.message}", file=out)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=out)
        return 130


if __name__ == "__main__":
    sys.exit(main())
