"""Plan and run preview, deploy, destroy and outputs across the layers, in the contract's order.

The orchestration is written against :class:`~txn_ops.workspace.Workspace`, a small protocol
over one layer's stack: read its state, preview, update, destroy.
:mod:`txn_ops.pulumi_workspace` implements it
with the Pulumi Automation API; the tests implement it with an in-memory fake, so every rule
here (order, selection, refusals, drift) is tested without the CLI or AWS.

Rules:
- deploy runs upstream first; a layer's upstream layers outside the selection must already be
  deployed with every output the contract declares, checked before anything runs;
- destroy runs downstream first and refuses (:mod:`txn_ops.teardown`) while a layer downstream
  of the selection is still deployed, or while a chosen layer keeps deletion protection on in
  its config or its deployed state; right after ``compute`` (and before ``data``, ``security``
  and ``network``) it waits for the Lambda network interfaces left in the VPC: Lambda deletes
  them with the functions' execution roles, which ``security`` owns, and they hold
  ``network``'s subnets and groups;
- right before ``compute`` deploys, the account's Lambda concurrency quota must hold the reserved
  concurrency the shapes declare (:mod:`txn_ops.quotas`), or the deploy stops with one line;
- right before ``data`` deploys, CloudTrail is checked for a trail recording the card-data tables'
  data events (:mod:`txn_ops.trail`): it only warns, the deploy goes on;
- after a deploy, every layer downstream of a changed layer that was not part of the run is
  previewed, and the report says which of them now need an update (Pulumi does not cascade
  stack references by itself);
- the policy pack, when the repository has one, is attached to every preview and update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from txn_ops import blast, quotas, teardown, trail
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_ops.report import Console, Report, Row
from txn_ops.workspace import StackState, StepFailed, Workspace, plan_file
from txn_spec import contract

COMMANDS = ("preview", "deploy", "destroy", "outputs")

# Waits until the Lambda network interfaces in a VPC are gone: (vpc_id, region) -> None.
EniWait = Callable[[str, str], None]
# Raises OpsError unless the account can reserve the given concurrency by function name:
# (reservations, region) -> None.
ConcurrencyCheck = Callable[[Mapping[str, int], str | None], None]


WAIT_ENIS = "wait-enis"
CHECK_QUOTA = "check-quota"
CHECK_TRAIL = "check-trail"
# What Lambda needs to delete its network interfaces: the execution roles (security) and the
# subnets and security groups they sit in (network). A destroy that removes either waits first.
_ENIS_NEED = frozenset({contract.SECURITY.name, contract.NETWORK.name})


@dataclass(frozen=True)
class Step:
    action: str  # preview | up | destroy | wait-enis | check-quota | check-trail
    layer: contract.Layer

    @property
    def runs_pulumi(self) -> bool:
        """A Pulumi operation on the layer's stack, rather than a wait or a check around one."""
        return self.action not in (WAIT_ENIS, CHECK_QUOTA, CHECK_TRAIL)


def select(names: Sequence[str]) -> list[str]:
    """The chosen layers in deploy order; no names means every layer."""
    try:
        return contract.deploy_order(list(names) if names else None)
    except contract.ContractError as exc:
        raise OpsError("layer-unknown", str(exc)) from None


def plan(command: str, names: Sequence[str]) -> list[Step]:
    """What ``command`` runs for the chosen layers, in the order it runs it."""
    layers = [contract.layer(n) for n in select(names)]
    if command == "preview":
        return [Step("preview", layer) for layer in layers]
    if command == "deploy":
        steps: list[Step] = []
        for layer in layers:
            if layer is contract.COMPUTE:
                steps.append(Step(CHECK_QUOTA, layer))
            if layer is contract.DATA:
                steps.append(Step(CHECK_TRAIL, layer))
            steps.append(Step("up", layer))
        return steps
    if command == "outputs":
        return [Step("outputs", layer) for layer in layers]
    if command == "destroy":
        return _destroy_plan(layers)
    raise OpsError("command-unknown", f"unknown command {command!r}; use {', '.join(COMMANDS)}")


def _destroy_plan(layers: Sequence[contract.Layer]) -> list[Step]:
    """Downstream first, with the wait for compute's network interfaces right after compute.

    Lambda deletes a function's interfaces some time after the function, using the function's
    execution role; without the role they stay, and with them the subnets and security groups.
    So the wait comes before anything compute reads is destroyed, and only when the run removes
    what the interfaces need. Destroying compute alone does not wait: AWS releases them in its
    own time, and a later destroy of security or network waits first.
    """
    steps = [Step("destroy", layer) for layer in reversed(layers)]
    if _ENIS_NEED.isdisjoint(layer.name for layer in layers):
        return steps
    below = set(contract.COMPUTE.upstream)
    at = next((i for i, s in enumerate(steps) if s.layer.name in below), len(steps))
    return [*steps[:at], Step(WAIT_ENIS, contract.COMPUTE), *steps[at:]]


def drift_candidates(names: Sequence[str]) -> list[str]:
    """Layers outside the selection that read a selected layer: previewed after a deploy."""
    chosen = set(select(names))
    found = {d for n in chosen for d in contract.downstream(n)} - chosen
    return [n for n in contract.deploy_order() if n in found]


class Orchestrator:
    """Runs a plan against a workspace, checking the DAG rules before and between steps."""

    def __init__(
        self,
        workspace: Workspace,
        settings: cfg.Settings,
        stack: str,
        console: Console | None = None,
        eni_wait: EniWait | None = None,
        concurrency_check: ConcurrencyCheck | None = None,
        reads: Callable[[], blast.Reads] | None = None,
        plans: Path | None = None,
        trail_check: trail.TrailCheck | None = None,
    ) -> None:
        """``reads``: what each program reads of its upstream layers (txn_ops.blast), asked for
        when a preview or deploy has downstream layers to name; None: every downstream layer.
        ``plans``: the directory of the update plans a deploy applies (--plans)."""
        self.ws = workspace
        self.plans = plans
        self.settings = settings
        self.stack = cfg.check_stack(stack)
        self.console = console or Console()
        self.eni_wait = eni_wait
        self.concurrency_check = concurrency_check
        self.trail_check = trail_check
        self._states: dict[str, StackState | None] = {}
        self._reads = reads
        self._outputs_before: dict[str, dict[str, Any]] = {}

    # -- state ---------------------------------------------------------------------------

    def state(self, name: str) -> StackState | None:
        if name not in self._states:
            self._states[name] = self.ws.state(contract.layer(name), self.stack)
        return self._states[name]

    def _forget(self, name: str) -> None:
        self._states.pop(name, None)

    def deployed(self, name: str) -> bool:
        state = self.state(name)
        return state is not None and state.deployed(contract.layer(name))

    def _policy_packs(self) -> list[Path]:
        pack = self.settings.policy_pack
        return [pack] if pack else []

    def _fqn(self, layer: contract.Layer) -> str:
        return cfg.stack_name(self.settings.root, layer, self.stack)

    # -- checks --------------------------------------------------------------------------

    def require_programs(self, names: Sequence[str]) -> None:
        missing = [n for n in names if not cfg.has_program(self.settings.root, contract.layer(n))]
        if missing:
            raise OpsError(
                "program-missing",
                f"no Pulumi program for {', '.join(missing)} (expected "
                f"{', '.join(contract.layer(n).folder for n in missing)} with Pulumi.yaml and "
                "__main__.py)",
            )

    def require_upstream(self, names: Sequence[str]) -> None:
        """Refuse when an upstream layer outside the selection is not deployed in this stack."""
        chosen = set(names)
        for name in names:
            for up in contract.layer(name).upstream:
                if up in chosen:
                    continue
                problem = self._not_deployed(up)
                if problem:
                    raise OpsError(
                        "upstream-missing",
                        f"layer {name} reads {up}, which {problem} in stack {self.stack}; "
                        f"deploy it first: ./noxw -s deploy -- --stack {self.stack} {up}",
                    )

    def _not_deployed(self, name: str) -> str | None:
        state = self.state(name)
        if state is None:
            return "has no stack"
        if state.resource_count == 0:
            return "has no resources"
        missing = state.missing_outputs(contract.layer(name))
        if missing:
            return f"lacks the contract outputs {', '.join(missing)} (deployed from older code)"
        return None

    # -- commands ------------------------------------------------------------------------

    def run(self, command: str, names: Sequence[str]) -> Report:
        chosen = select(names)
        if command not in ("preview", "deploy", "destroy"):
            raise OpsError("command-unknown", f"{command!r} does not run steps")
        steps = plan(command, chosen)
        report = Report(command, self.stack)
        if command in ("preview", "deploy"):
            self.require_programs(chosen)
            for name in chosen:
                cfg.check_secrets_provider(self.settings, contract.layer(name), self.stack)
            self.require_upstream(chosen)
        if command == "destroy":
            teardown.refuse_downstream(chosen, self.stack, self.state)
            teardown.refuse_protected(self.settings.root, chosen, self.stack, self.state)
        try:
            if command == "preview":
                self._preview_all(steps, report)
            elif command == "deploy":
                self._deploy_all(steps, report)
                self._drift(chosen, report)
            elif command == "destroy":
                self._destroy_all(steps, report)
        finally:
            self.console.table(report)
        return report

    def outputs(self, names: Sequence[str]) -> dict[str, StackState | None]:
        """Each chosen layer's state (None: no stack), in deploy order."""
        return {name: self.state(name) for name in select(names)}

    def _preview_all(self, steps: Sequence[Step], report: Report) -> None:
        packs = self._policy_packs()
        for i, step in enumerate(steps, 1):
            layer = step.layer
            waiting = [u for u in layer.upstream if self._not_deployed(u)]
            self.console.step(i, len(steps), "preview", layer.name, self._fqn(layer))
            if waiting:
                self.console.note(
                    f"skipped: reads {', '.join(waiting)}, not deployed yet in {self.stack} "
                    "(a preview needs its upstream outputs)"
                )
                report.rows.append(Row(layer.name, "preview", f"waits for {','.join(waiting)}"))
                continue
            with self._timed(report, layer.name, "preview") as row:
                changes = self.ws.preview(layer, self.stack, packs)
                row.result = "changes" if changes.changed else "no changes"
                row.changes = changes.describe()
                if changes.losses:
                    row.result = "LOSES DATA"
                    self.console.note(
                        f"WARNING: replaces or deletes what it holds: {'; '.join(changes.losses)}"
                        " (docs/deploy.md, 'Changes that replace'; refused where protected)"
                    )
            self._name_readers(layer.name, changes.outputs, [s.layer.name for s in steps])
        later = drift_candidates([s.layer.name for s in steps])
        if later:
            self.console.note(
                "after a deploy of these layers, the deploy previews their downstream "
                f"layers for drift: {', '.join(later)}"
            )

    def _deploy_all(self, steps: Sequence[Step], report: Report) -> None:
        packs = self._policy_packs()
        unplanned = self._unplanned(steps, self.plans) if self.plans else {}
        stopped = ""
        for i, step in enumerate(steps, 1):
            layer = step.layer
            if report.failed or stopped:
                report.rows.append(Row(layer.name, step.action, "skipped"))
                continue
            if layer.name in unplanned:
                stopped = layer.name
                report.rows.append(Row(layer.name, step.action, "no plan yet"))
                continue
            if step.action == CHECK_QUOTA:
                self.console.step(i, len(steps), "check", layer.name, quotas.QUOTA_NAME)
                self._check_concurrency(report)
                continue
            if step.action == CHECK_TRAIL:  # warns only: the deploy goes on whatever it finds
                self.console.step(i, len(steps), "check", layer.name, "CloudTrail data events")
                with self._timed(report, layer.name, CHECK_TRAIL) as row:
                    row.result, row.changes = trail.run_step(
                        self.trail_check, self.settings.root, self.stack, self.console.note
                    )
                continue
            problem = next(
                (f"{u} {p}" for u in layer.upstream if (p := self._not_deployed(u))), None
            )
            self.console.step(i, len(steps), "deploy", layer.name, self._fqn(layer))
            if problem:  # an upstream layer in this run did not end up deployed
                self.console.note(f"not deployed: upstream {problem}")
                report.rows.append(Row(layer.name, "up", "failed", "upstream " + problem))
                continue
            state = self.state(layer.name)
            self._outputs_before[layer.name] = dict(state.outputs) if state else {}
            with self._timed(report, layer.name, "up") as row:
                try:
                    changes = self.ws.up(layer, self.stack, packs)
                finally:
                    self._forget(layer.name)
                row.result = "updated" if changes.changed else "unchanged"
                row.changes = changes.describe()
        if stopped and not report.failed:
            waited = unplanned[stopped]
            why = f"its preview waited for {', '.join(waited)}" if waited else "none was saved"
            raise OpsError(
                "plans-incomplete",
                f"stopped before {stopped}, which has no saved plan ({why}); preview again with "
                "--plans and deploy the new plans (in CI: run the whole workflow again, see "
                f"{cfg.GUIDE} section 7)",
            )

    def _unplanned(self, steps: Sequence[Step], plans: Path) -> dict[str, list[str]]:
        """The layers without a saved plan, each with the upstream layers not deployed before
        this run (what its preview waited for, when that is why)."""
        missing: dict[str, list[str]] = {}
        for layer in dict.fromkeys(s.layer for s in steps):
            if not plan_file(plans, layer).is_file():
                missing[layer.name] = [u for u in layer.upstream if self._not_deployed(u)]
        return missing

    def _check_concurrency(self, report: Report) -> None:
        """Stop before compute when the account cannot reserve what compute's functions do."""
        root, layer = self.settings.root, contract.COMPUTE
        reserved = quotas.reservations(cfg.app(root, layer, self.stack), self.stack)
        region = cfg.region(root, layer, self.stack)
        if self.concurrency_check is None:
            self.console.note("skipped: no check of the account's Lambda concurrency here")
            report.rows.append(Row(layer.name, CHECK_QUOTA, "skipped"))
            return
        self.console.note(
            f"compute reserves {quotas.describe(reserved) or 'nothing'}: checking that "
            f"{quotas.QUOTA_NAME} ({quotas.QUOTA_CODE}) in {region} holds it and "
            f"{quotas.MIN_UNRESERVED} unreserved"
        )
        with self._timed(report, layer.name, CHECK_QUOTA) as row:
            self.concurrency_check(reserved, region)
            row.result = "ok"

    def _name_readers(
        self, name: str, outputs: frozenset[str] | None, chosen: Sequence[str]
    ) -> dict[str, list[str]] | None:
        """Print (and return) the layers outside ``chosen`` that read a changed output of
        ``name``; None when the outputs that change or what the programs read are not known."""
        if outputs is None or self._reads is None:
            return None
        outside = [d for d in contract.downstream(name) if d not in chosen]
        found = blast.readers(self._reads(), {name: outputs}, outside)
        if outputs:
            who = "; ".join(f"{c} ({', '.join(keys)})" for c, keys in found.items())
            self.console.note(
                f"outputs that change: {', '.join(sorted(outputs))}; read by: {who or 'no layer'}"
            )
        return found

    def _drift(self, chosen: Sequence[str], report: Report) -> None:
        changed = [r.layer for r in report.rows if r.action == "up" and r.result == "updated"]
        candidates = drift_candidates(changed) if changed else []
        candidates = [c for c in candidates if c not in chosen]
        if self._reads is not None and candidates:
            # Exactly the layers that read an output the deploy changed.
            named: set[str] = set()
            for name in changed:
                state = self.state(name)
                after = dict(state.outputs) if state else {}
                outputs = blast.changed_outputs(self._outputs_before.get(name, {}), after)
                named |= set(self._name_readers(name, frozenset(outputs), chosen) or {})
            candidates = [c for c in candidates if c in named]
        if not candidates:
            return
        packs = self._policy_packs()
        self.console.emit(
            f"==> previewing layers downstream of {', '.join(changed)} for drift: "
            f"{', '.join(candidates)}"
        )
        for name in candidates:
            rows = len(report.rows)
            try:
                self._drift_one(contract.layer(name), packs, report)
            except OpsError as exc:
                if exc.code != "deploy-role-unreachable":
                    raise
                # Not this team's layer (nor are its upstream stacks, the team's role cannot
                # read them): its owners preview it with their own role.
                del report.rows[rows:]
                report.rows.append(Row(name, "drift", "needs its owners"))
                report.needs_update.append(name)
                self.console.note(f"cannot preview {name} with the roles of this run: {exc}")

    def _drift_one(self, layer: contract.Layer, packs: list[Path], report: Report) -> None:
        state = self.state(layer.name)
        if state is None or state.resource_count == 0:
            report.rows.append(Row(layer.name, "drift", "not deployed"))
            return
        if any(self._not_deployed(u) for u in layer.upstream):
            report.rows.append(Row(layer.name, "drift", "upstream not deployed"))
            return
        self.console.emit(f"==> drift preview {layer.name} ({self._fqn(layer)})")
        self._drift_preview(layer, packs, report)

    def _drift_preview(self, layer: contract.Layer, packs: list[Path], report: Report) -> None:
        with self._timed(report, layer.name, "drift") as row:
            changes = self.ws.preview(layer, self.stack, packs)
            row.changes = changes.describe()
            row.result = "needs update" if changes.changed else "up to date"
            if changes.changed:
                report.needs_update.append(layer.name)

    def _destroy_all(self, steps: Sequence[Step], report: Report) -> None:
        for i, step in enumerate(steps, 1):
            layer = step.layer
            if report.failed:
                report.rows.append(Row(layer.name, step.action, "skipped"))
                continue
            if step.action == WAIT_ENIS:
                self.console.step(i, len(steps), "wait", layer.name, "Lambda network interfaces")
                self._wait_for_enis(report)
                continue
            self.console.step(i, len(steps), step.action, layer.name, self._fqn(layer))
            state = self.state(layer.name)
            if state is None:
                self.console.note("no stack: nothing to destroy")
                report.rows.append(Row(layer.name, "destroy", "absent"))
                continue
            with self._timed(report, layer.name, "destroy") as row:
                try:
                    changes = self.ws.destroy(layer, self.stack)
                finally:
                    self._forget(layer.name)
                row.result = "destroyed"
                row.changes = changes.describe()

    def _wait_for_enis(self, report: Report) -> None:
        """Wait for compute's interfaces in network's VPC (its id is a network output)."""
        name = contract.COMPUTE.name
        state = self.state(contract.NETWORK.name)
        vpc_id = (state.outputs.get("vpc_id") if state else None) or None
        region = cfg.region(self.settings.root, contract.NETWORK, self.stack)
        if not vpc_id or not region or self.eni_wait is None:
            self.console.note("skipped: no VPC in network's outputs, so no interfaces to wait for")
            report.rows.append(Row(name, WAIT_ENIS, "skipped"))
            return
        self.console.note(
            f"waiting for Lambda network interfaces in {vpc_id} to be released: AWS frees them "
            "up to ~40 minutes after the functions are deleted, with the functions' execution "
            "roles (security), and the subnets and security groups cannot be deleted before"
        )
        with self._timed(report, name, WAIT_ENIS) as row:
            self.eni_wait(str(vpc_id), region)
            row.result = "released"

    @contextmanager
    def _timed(self, report: Report, layer: str, action: str) -> Iterator[Row]:
        row = Row(layer, action, "running")
        report.rows.append(row)
        started = time.monotonic()
        try:
            yield row
        except StepFailed as exc:
            row.result = "failed"
            row.changes = str(exc)
            self.console.note(f"failed: {exc}")
        except OpsError as exc:
            row.result = "failed"
            row.changes = exc.code
            raise
        finally:
            row.seconds = time.monotonic() - started
