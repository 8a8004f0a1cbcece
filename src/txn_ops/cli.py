"""``python -m txn_ops``: preview, deploy, destroy, outputs and affected (the nox sessions).

    python -m txn_ops deploy --stack dev data        # one layer (its upstream must be deployed)
    python -m txn_ops deploy --stack dev             # every layer, upstream first
    python -m txn_ops destroy --stack dev --plan     # the order, without running anything
    python -m txn_ops affected --base origin/main    # layers a change touches
    python -m txn_ops merchants load fixtures/merchants.json --stack dev --key provider

Every failure the user can fix prints one line, ``txn-ops: error: <code>: <what to do>``, and
exits 2; a failed layer exits 1 after the summary table.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from txn_ops import affected, blast, deploy, merchants, owners, quotas, roles, teardown, trail
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_ops.report import Console
from txn_ops.workspace import Workspace
from txn_spec import contract

EXIT_FAILED = 1
EXIT_USAGE = 2

WorkspaceFactory = Callable[[cfg.Settings, argparse.Namespace], Workspace]
Preflight = Callable[[cfg.Settings], None]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="txn-ops", description=__doc__.split("\n")[0])
    top.add_argument("--root", type=Path, default=cfg.REPO_ROOT, help=argparse.SUPPRESS)
    sub = top.add_subparsers(dest="command", required=True)
    helps = {
        "preview": "preview layers in deploy order (policy pack attached)",
        "deploy": "deploy layers in deploy order, then preview their downstream layers for drift",
        "destroy": "destroy layers in reverse deploy order",
        "outputs": "print the outputs of layers' stacks",
    }
    for command in deploy.COMMANDS:
        p = sub.add_parser(command, help=helps[command])
        p.add_argument("layers", nargs="*", metavar="layer", help="layers (default: all)")
        p.add_argument("--stack", required=True, choices=cfg.STACKS, help="stack to act on")
        p.add_argument("--plan", action="store_true", help="print what would run, run nothing")
        if command in ("preview", "deploy"):
            p.add_argument("--refresh", action="store_true", help="refresh state from AWS first")
            p.add_argument(
                "--plans",
                # absolute: the Pulumi CLI runs in stacks/<layer> and opens the plan from there
                type=lambda value: Path(value).resolve(),
                metavar="DIR",
                help="preview: save each layer's update plan in DIR; deploy: apply exactly "
                "those plans (an update that would differ from its preview fails)",
            )
        if command == "destroy":
            p.add_argument("--yes", action="store_true", help="confirm the destroy")
            p.add_argument(
                "--eni-timeout",
                type=float,
                default=45,
                metavar="MIN",
                help="minutes to wait for Lambda network interfaces after compute (45)",
            )
        if command == "outputs":
            p.add_argument("--json", action="store_true", help="print JSON")
            p.add_argument("--show-secrets", action="store_true", help="print secret values")
    a = sub.add_parser("affected", help="list the layers a git change touches")
    source = a.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", help="git ref to compare with (merge base), e.g. origin/main")
    source.add_argument("--files", nargs="+", help="changed files instead of a git diff")
    a.add_argument("--head", default="HEAD", help="git ref of the change (default HEAD)")
    a.add_argument("--format", choices=("text", "names", "json"), default="text")
    a.add_argument(
        "--changed-only", action="store_true", help="leave out downstream layers (preview only)"
    )
    m = sub.add_parser("merchants", help="write merchant items, bind them to API keys (ADR 0024)")
    actions = m.add_subparsers(dest="action", required=True)
    for action, what in (
        ("load", "write the merchants of a JSON file, checked first, bound to --key"),
        ("bind", "add API keys to existing merchants"),
        ("unbind", "remove API keys from existing merchants"),
        ("review", "list each API key's merchants, the merchants of none, stale bindings"),
    ):
        p = actions.add_parser(action, help=what)
        if action == "load":
            p.add_argument("file", type=Path, help="a JSON list of merchant items")
        p.add_argument("--stack", required=True, choices=cfg.STACKS, help="stack to act on")
        if action == "review":
            p.add_argument("--json", action="store_true", help="print JSON")
            continue
        p.add_argument(
            "--key",
            action="append",
            default=[],
            required=action != "load",
            metavar="NAME",
            help="an API key by its name in txn-edge:apiKeys (repeatable)",
        )
        if action != "load":
            chosen = p.add_mutually_exclusive_group(required=True)
            chosen.add_argument("--merchant", nargs="+", metavar="ID", help="these merchants")
            chosen.add_argument("--all", action="store_true", help="every merchant of the table")
    return top


def main(
    argv: Sequence[str] | None = None,
    workspace_factory: WorkspaceFactory | None = None,
    preflight: Preflight | None = None,
    emit: Callable[[str], None] = print,
    concurrency_check: deploy.ConcurrencyCheck | None = None,
    sts: roles.StsFactory | None = None,
    reads: Callable[[], blast.Reads] | None = None,
    trail_check: trail.TrailCheck | None = None,
    merchant_clients: merchants.ClientFactory | None = None,
) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "affected":
            return _affected(args, emit)
        if args.command == "merchants":
            return _merchants(args, emit, merchant_clients)
        settings = cfg.load(args.root.resolve())
        if args.plan:
            for line in render_plan(args.command, args.layers, args.stack, settings):
                emit(line)
            return 0
        if args.command == "destroy" and not args.yes:
            chosen = deploy.select(args.layers)
            raise OpsError(
                "confirm",
                f"destroy deletes every resource of {', '.join(chosen)} in stack {args.stack}: "
                "add --yes to go ahead (--plan shows the order)",
            )
        deploy.select(args.layers)  # unknown layers fail before any check touches the cloud
        (preflight or (lambda s: _real_preflight(s, args.stack)))(settings)
        # Every chosen layer's role is assumed before anything runs: no half deploys. Outputs
        # too: a team's own credentials may not read the state bucket or decrypt its secrets.
        # `outputs --json` is read by scripts: its stdout holds the JSON alone
        said = _to_stderr if args.command == "outputs" and args.json else emit
        args.credentials = roles.LayerCredentials(
            settings, args.stack, said, sts=sts or roles.real_sts
        )
        args.credentials.check(deploy.select(args.layers))
        if args.command == "destroy" and _waits_for_enis(args.layers):
            args.credentials(contract.NETWORK)  # the wait lists interfaces as network's role
        factory = workspace_factory or _real_workspace
        orchestrator = deploy.Orchestrator(
            factory(settings, args),
            settings,
            args.stack,
            console=Console(emit),
            eni_wait=_eni_wait(args, emit) if args.command == "destroy" else None,
            concurrency_check=(concurrency_check or _concurrency_check(args))
            if args.command == "deploy"
            else None,
            # What the programs read, from this repository's programs (not another --root's).
            reads=reads
            or (
                functools.cache(lambda: blast.program_reads(args.stack))
                if settings.root == cfg.REPO_ROOT
                else None
            ),
            plans=getattr(args, "plans", None) if args.command == "deploy" else None,
            trail_check=(trail_check or _trail_check(args)) if args.command == "deploy" else None,
        )
        if args.command == "outputs":
            return _outputs(orchestrator, args, emit)
        report = orchestrator.run(args.command, args.layers)
        return EXIT_FAILED if report.failed else 0
    except OpsError as exc:
        print(f"txn-ops: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("txn-ops: interrupted; a Pulumi update may still hold a stack lock", file=sys.stderr)
        return 130


def render_plan(
    command: str, names: Sequence[str], stack: str, settings: cfg.Settings
) -> list[str]:
    """What ``command`` would run, in order; reads only the repository."""
    root = settings.root
    steps = deploy.plan(command, names)
    layers = [s.layer.name for s in steps if s.runs_pulumi]
    direction = "downstream first" if command == "destroy" else "upstream first"
    count = f"{len(layers)} layer{'s' if len(layers) != 1 else ''}"
    lines = [f"Plan: {command} stack {stack}, {count}, {direction} (contract DAG)"]
    if command == "deploy" and any(not s.layer.upstream for s in steps):
        lines.append(_account_bootstrap_note(root, stack))
    width = max(len(cfg.stack_name(root, s.layer, stack)) for s in steps)
    for i, step in enumerate(steps, 1):
        layer = step.layer
        if step.action == deploy.WAIT_ENIS:
            lines.append(
                f"  {i}. {'wait':<8} {layer.name:<14} until Lambda has released its network "
                "interfaces in network's VPC (it needs the execution roles in security for that)"
            )
            continue
        if step.action == deploy.CHECK_QUOTA:
            reserved = quotas.reservations(cfg.app(root, layer, stack), stack)
            lines.append(
                f"  {i}. {'check':<8} {layer.name:<14} {quotas.QUOTA_NAME} ({quotas.QUOTA_CODE}) "
                f"in {cfg.region(root, layer, stack)} holds what compute reserves "
                f"({quotas.describe(reserved) or 'nothing'}), other functions' reservations and "
                f"{quotas.MIN_UNRESERVED} unreserved"
            )
            continue
        if step.action == deploy.CHECK_TRAIL:
            lines.append(f"  {i}. {'check':<8} {layer.name:<14} {trail.describe(root, stack)}")
            continue
        fqn = cfg.stack_name(root, layer, stack)
        ups = ", ".join(layer.upstream) or "-"
        missing = "" if cfg.has_program(root, layer) else "  [program missing]"
        lines.append(
            f"  {i}. {step.action:<8} {layer.name:<14} {fqn:<{width}}  {layer.folder:<21} "
            f"reads: {ups}{missing}"
        )
        lines.append(f"     {'':<8} as {roles.describe(settings, layer, stack)}")
    chosen = set(layers)
    if command in ("preview", "deploy"):
        outside = sorted(
            {u for n in layers for u in contract.layer(n).upstream} - chosen,
            key=list(contract.LAYERS).index,
        )
        if outside:
            lines.append(f"Checked first: deployed in {stack}: {', '.join(outside)}")
        pack = settings.policy_pack
        lines.append(
            f"Policy pack: {pack.relative_to(root)}/ on every preview and update"
            if pack
            else "Policy pack: none (policies/PulumiPolicy.yaml not found)"
        )
    if command == "deploy":
        drift = deploy.drift_candidates(layers)
        lines.append(
            "Then: preview for drift, if their upstream changed: "
            + (", ".join(drift) if drift else "nothing (no downstream layer outside the run)")
        )
    if command == "destroy":
        below = sorted(
            {d for n in layers for d in contract.downstream(n)} - chosen,
            key=list(contract.LAYERS).index,
        )
        if below:
            lines.append(f"Checked first: not deployed in {stack}: {', '.join(below)}")
        protected = teardown.protected_layers(root, layers, stack)
        lines.append(
            f"Refused before anything runs: deletionProtection on in {stack} for "
            f"{', '.join(protected)} (turn it off and deploy them first)"
            if protected
            else f"Checked first: deletionProtection off in {stack} for every chosen layer"
        )
    lines.append(f"Deploy roles: {settings.deploy_roles_source}")
    lines.append(
        f"Backend: {settings.backend_url or 'NOT SET'} ({settings.backend_source}); secrets: "
        f"{settings.secrets_provider or 'backend default'} ({settings.secrets_source})"
    )
    return lines


def _account_bootstrap_note(root: Path, stack: str) -> str:
    """Step 0 of a deploy from the bottom of the DAG: the account bootstrap, outside the DAG,
    which the administrators run once per account and region with their own credentials."""
    region = cfg.region(root, contract.NETWORK, stack) or "<region>"
    return (
        f"  0. {'note':<8} {contract.ACCOUNT.name:<14} once per account and region, by the "
        f"administrators (deploy does not run it): cd {contract.ACCOUNT.folder} && "
        f"pulumi up -s {region}"
    )


def _affected(args: argparse.Namespace, emit: Callable[[str], None]) -> int:
    root = args.root.resolve()
    if args.files:
        files, header = list(args.files), f"Layers touched by {len(args.files)} files:"
    else:
        files = affected.changed_files(args.base, args.head, root)
        header = f"Layers touched by {args.base}...{args.head} ({len(files)} files):"
    selection = affected.select(files, root)
    try:
        asked = owners.to_ask(files, root)
        no_owners = ""
    except OpsError as exc:  # a repository without CODEOWNERS still gets its layers
        asked, no_owners = {}, str(exc)
    if args.format == "names":
        emit(" ".join(affected.names(selection, args.changed_only)))
    elif args.format == "json":
        emit(
            json.dumps(
                {
                    "layers": list(affected.names(selection, args.changed_only)),
                    "changed": selection.changed_layers,
                    "downstream": [] if args.changed_only else selection.downstream_layers,
                    "reasons": selection.changed,
                    "reads": selection.downstream,
                    "ignored": selection.ignored,
                    "owners": asked,
                },
                indent=2,
            )
        )
    else:
        for line in affected.describe(selection, header):
            emit(line)
        if no_owners:
            emit(f"Owners to ask: unknown ({no_owners})")
        if asked:
            emit("Owners to ask (.github/CODEOWNERS):")
        for owner, paths in asked.items():
            more = f" (+{len(paths) - 3} more)" if len(paths) > 3 else ""
            emit(f"  {owner:<32} {', '.join(paths[:3])}{more}")
    return 0


def _merchants(
    args: argparse.Namespace,
    emit: Callable[[str], None],
    clients: merchants.ClientFactory | None,
) -> int:
    as_json = args.action == "review" and args.json  # the JSON alone on stdout, for scripts
    table = merchants.Merchants(
        args.root.resolve(), args.stack, _to_stderr if as_json else emit, clients
    )
    if args.action == "review":
        report = table.review()
        if as_json:
            emit(json.dumps(report, indent=2))
    elif args.action == "load":
        table.load(args.file, args.key)
    else:
        table.bind(args.key, [] if args.all else args.merchant, remove=args.action == "unbind")
    return 0


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _outputs(
    orchestrator: deploy.Orchestrator, args: argparse.Namespace, emit: Callable[[str], None]
) -> int:
    states = orchestrator.outputs(args.layers)
    shown: dict[str, Any] = {}
    for name, state in states.items():
        if state is None:
            shown[name] = None
            continue
        secret = state.secret_outputs | contract.layer(name).secret_outputs
        shown[name] = {
            key: ("[secret]" if key in secret and not args.show_secrets else value)
            for key, value in sorted(state.outputs.items())
        }
    if args.json:
        emit(json.dumps(shown, indent=2, default=str))
        return 0
    for name, values in shown.items():
        fqn = cfg.stack_name(orchestrator.settings.root, contract.layer(name), args.stack)
        emit(f"{name} ({fqn})")
        if values is None:
            emit("  (no stack)")
            continue
        for key, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            emit(f"  {key:<34} {text}")
    return 0


def _real_preflight(settings: cfg.Settings, stack: str) -> None:
    from txn_ops.pulumi_workspace import preflight

    preflight(settings, stack=stack)


def _real_workspace(settings: cfg.Settings, args: argparse.Namespace) -> Workspace:
    from txn_ops.pulumi_workspace import AutomationWorkspace

    return AutomationWorkspace(
        settings,
        refresh=getattr(args, "refresh", False),
        plans_dir=getattr(args, "plans", None),
        credentials=getattr(args, "credentials", None),
    )


def _concurrency_check(args: argparse.Namespace) -> deploy.ConcurrencyCheck:
    """Lambda's account settings, read as compute's deploy role (a CI job has no other)."""

    def check(reserved: Mapping[str, int], region: str | None) -> None:
        client = roles.client("lambda", region, args.credentials(contract.COMPUTE))
        quotas.check_reserved_concurrency(reserved, region, client=client)

    return check


def _trail_check(args: argparse.Namespace) -> trail.TrailCheck:
    """CloudTrail's trails, read as data's deploy role (the account stack grants it the reads)."""

    def check(tables: Sequence[str], region: str | None) -> list[trail.Finding]:
        credentials = args.credentials(contract.DATA)
        return trail.check_audit_trail(
            tables,
            region,
            client=roles.client("cloudtrail", region, credentials),
            sts=roles.client("sts", region, credentials),
        )

    return check


def _waits_for_enis(names: Sequence[str]) -> bool:
    return any(step.action == deploy.WAIT_ENIS for step in deploy.plan("destroy", names))


def _eni_wait(args: argparse.Namespace, emit: Callable[[str], None]) -> deploy.EniWait:
    """Network's interfaces, listed as network's deploy role (ec2:DescribeNetworkInterfaces)."""
    from txn_ops.enis import wait_for_lambda_enis

    def wait(vpc_id: str, region: str) -> None:
        wait_for_lambda_enis(
            vpc_id,
            region,
            timeout_seconds=args.eni_timeout * 60,
            emit=emit,
            ec2=lambda: roles.client("ec2", region, args.credentials(contract.NETWORK)),
        )

    return wait
