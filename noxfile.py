"""Sessions for the transaction platform. Run them through ``./noxw`` (it creates .venv).

``./noxw -l`` lists them; ``./noxw`` alone runs the defaults (tests, lint and typecheck).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
# "3.13" of txn_spec.lambda_runtime.PYTHON_RUNTIME ("python3.13"), read without importing the
# project into nox's own interpreter.
PYTHON_RUNTIME_VERSION = re.search(
    r'PYTHON_RUNTIME = "python(\d+\.\d+)"',
    (ROOT / "src" / "txn_spec" / "lambda_runtime.py").read_text(),
).group(1)
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# Every session runs in the one shared .venv that ./noxw maintains (the stacks' Pulumi.yaml
# files point at it too), so nox creates no virtualenvs of its own.
nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True


def python(session: nox.Session) -> str:
    """The shared virtualenv's interpreter; tells the user how to create it when missing."""
    if not VENV_PYTHON.exists():
        session.error("no .venv here: run the sessions through ./noxw, which creates it")
    return str(VENV_PYTHON)


def run_module(session: nox.Session, module: str, *args: str) -> None:
    session.run(python(session), "-m", module, *args, external=True)


BROWSERS = ("chromium", "chromium-browser", "google-chrome")  # as tests/e2e/browser.py finds it
E2E = ROOT / "tests" / "e2e"


def needs_browser(args: list[str]) -> bool:
    """Whether pytest ``args`` may collect the browser test: no path given, or a path that
    holds or lies in tests/e2e."""
    paths = [(ROOT / a.split("::")[0]).resolve() for a in args if not a.startswith("-")]
    paths = [p for p in paths if p.exists()]
    return not paths or any(p.is_relative_to(E2E) or E2E.is_relative_to(p) for p in paths)


def ensure_chromium(session: nox.Session) -> None:
    """The dashboard's browser test drives Chromium from the machine's packages (no browser
    download): install it once where we may (root with apt), else say how."""
    if not needs_browser(session.posargs) or any(shutil.which(b) for b in BROWSERS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.error("the browser test needs Chromium: sudo apt-get install chromium")
    session.log("installing Chromium for the browser test (apt-get, once)")
    session.run("apt-get", "update", "-qq", external=True)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "chromium",
        external=True,
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite: stacks under mocks, functions, local runtime end to end."""
    ensure_chromium(session)
    # One worker per core (-n auto; two here and in CI): the stack and e2e tests are independent.
    run_module(session, "pytest", "-n", "auto", *session.posargs)


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Re-resolve uv.lock from pyproject.toml (./noxw does it) and show the pins that matter."""
    run_module(session, "txn_ops.pins")


@nox.session
def lint(session: nox.Session) -> None:
    """Check lint and formatting with ruff, and the GitHub workflow's security with zizmor."""
    run_module(session, "ruff", "check", ".")
    run_module(session, "ruff", "format", "--check", ".")
    # zizmor ships as a binary beside the interpreter; --offline: no GitHub API calls; pedantic:
    # its strictest audits too (each permission explained, superseded pull-request runs cancelled)
    zizmor = str(VENV_PYTHON.parent / "zizmor")
    session.run(
        zizmor,
        "--offline",
        "--no-progress",
        "--persona=pedantic",
        str(ROOT / ".github"),
        external=True,
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the Lambda code and the spec package with mypy, strict, for 3.11 and 3.13."""
    # What is checked and how: [tool.mypy] in pyproject.toml; paths given here replace its files.
    run_module(session, "mypy", *session.posargs)
    # The functions run on the Lambda runtime's Python (txn_spec.lambda_runtime), which this
    # machine's registries do not offer as an interpreter: check them against its standard
    # library's stubs instead (a removed module or changed signature fails here).
    run_module(session, "mypy", "--python-version", PYTHON_RUNTIME_VERSION, *session.posargs)


@nox.session(default=False)
def fmt(session: nox.Session) -> None:
    """Fix lint where safe and format the code with ruff."""
    run_module(session, "ruff", "check", "--fix", ".")
    run_module(session, "ruff", "format", ".")


@nox.session(default=False)
def synth(session: nox.Session) -> None:
    """Offline preview: run all layers under mocks, evaluate the policy pack, write evidence."""
    run_module(session, "txn_policies.synth", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Handler CPU per transaction, AWS calls per transaction, local end-to-end TPS/latency/loss."""
    run_module(session, "txn_perf.bench", *session.posargs)


# Deploys: thin wrappers over ``python -m txn_ops`` (docs/deploy.md). Each takes --stack dev|prod
# and optional layer names; --plan prints the order without the Pulumi CLI or AWS credentials.


@nox.session(default=False)
def preview(session: nox.Session) -> None:
    """Preview layers in deploy order with the policy pack: -- --stack dev [layer ...]."""
    run_module(session, "txn_ops", "preview", *session.posargs)


@nox.session(default=False)
def deploy(session: nox.Session) -> None:
    """Deploy layers upstream first, then report downstream drift: -- --stack dev [layer ...]."""
    run_module(session, "txn_ops", "deploy", *session.posargs)


@nox.session(default=False)
def destroy(session: nox.Session) -> None:
    """Destroy layers downstream first: -- --stack dev --yes [layer ...]."""
    run_module(session, "txn_ops", "destroy", *session.posargs)


@nox.session(default=False)
def outputs(session: nox.Session) -> None:
    """Print the outputs of layers' stacks: -- --stack dev [layer ...] [--json]."""
    run_module(session, "txn_ops", "outputs", *session.posargs)


@nox.session(default=False)
def merchants(session: nox.Session) -> None:
    """Merchants and their API keys (ADR 0024): -- load FILE --stack dev --key NAME;
    bind|unbind --stack dev --key NAME (--merchant ID ... | --all); review --stack dev [--json]."""
    run_module(session, "txn_ops", "merchants", *session.posargs)


@nox.session(default=False)
def affected(session: nox.Session) -> None:
    """List the layers a change touches: -- --base origin/main [--format names|json]."""
    run_module(session, "txn_ops", "affected", *session.posargs)


@nox.session(default=False)
def capacity(session: nox.Session) -> None:
    """Capacity per component, bottleneck and cost per million transactions of a stack."""
    run_module(session, "txn_perf.capacity", *(session.posargs or ["--stack", "prod"]))


@nox.session(default=False)
def local(session: nox.Session) -> None:
    """Run the whole pipeline locally: the demo, or `-- serve` to keep it running."""
    run_module(session, "txn_local", *session.posargs)


@nox.session(default=False)
def resilience(session: nox.Session) -> None:
    """Fault scenarios and a 20,000-transaction soak on the local runtime: ledger, leaks."""
    run_module(session, "txn_resilience", *session.posargs)


@nox.session(name="fraud-eval", default=False)
def fraud_eval(session: nox.Session) -> None:
    """Fraud detection on labelled traffic: recall per pattern, false positives, PNG (issue 17)."""
    run_module(session, "txn_perf.fraud_eval", *session.posargs)
