"""The real :class:`~txn_ops.workspace.Workspace`: the Automation API over each layer's folder.

Why the Automation API rather than shelling out to ``pulumi``: it returns structured results
(per-operation change counts, typed outputs with their secret flag, typed errors such as
``StackNotFoundError`` and ``ConcurrentUpdateError``), takes the policy pack and the secrets
provider as arguments, and streams the CLI's output line by line for progress. It still drives
the same CLI and the same ``stacks/<layer>`` programs a team runs by hand, so nothing differs
between ``nox -s deploy`` and ``pulumi up`` in a stack folder (see docs/decisions/0004).

:func:`preflight` turns the usual environment problems (no CLI, no backend, no login, no or
expired AWS credentials) into one :class:`~txn_ops.errors.OpsError` line before anything runs.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pulumi import automation as auto

from txn_infra.protected import PROTECTED_TYPES
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_ops.workspace import Changes, StackState, StepFailed, plan_file
from txn_spec import contract

INSTALL_HINT = "install it (https://www.pulumi.com/docs/iac/download-install/) and run again"
AWS_HINT = (
    "log in (aws sso login --profile <p> and export AWS_PROFILE=<p>) or export "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; see docs/deploy.md"
)

# Text in Pulumi's output that means an environment problem, not a program or AWS failure.
_AWS_CREDENTIAL_SIGNS = (
    "NoCredentialProviders",
    "no valid credential sources",
    "failed to refresh cached credentials",
    "ExpiredToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "security token included in the request is expired",
)
_LOGIN_SIGNS = ("PULUMI_ACCESS_TOKEN", "pulumi login", "401 Unauthorized", "not logged in")
# AWS (S3, KMS, IAM...) refused the role one action: which role, and what it may not do.
_DENIED_SIGNS = ("AccessDenied", "is not authorized to perform")
DENIED_HINT = (
    "the role this layer runs as may not do that: a preview role (txn-<region>-<layer>-preview) "
    "only reads, so it cannot create a missing stack (a deploy does) or --refresh; a deploy "
    "role holds its layer's grants (stacks/account/deploy-permissions.json; docs/deploy.md)"
)
_PASSPHRASE_SIGNS = ("PULUMI_CONFIG_PASSPHRASE", "incorrect passphrase")
# A mandatory policy's violation as the CLI prints it: "- [mandatory]  <policy>  (<resource>)"
# in its Policies summary, "mandatory: [<policy>] ..." in a resource's diagnostics. An advisory
# one ("[advisory]") fails nothing, so a failure beside it is reported for what it is.
_MANDATORY = re.compile(r"\[mandatory\]|^\s*mandatory: |mandatory policy violation", re.M | re.I)


def classify(text: str, layer: str, backend: str | None) -> Exception:
    """The error to raise for a failed Pulumi command, from what it printed."""
    if any(sign in text for sign in _AWS_CREDENTIAL_SIGNS):
        return OpsError(
            "aws-credentials",
            f"AWS refused or found no credentials while running {layer}: " + AWS_HINT,
        )
    if any(sign in text for sign in _LOGIN_SIGNS):
        return OpsError(
            "pulumi-login",
            f"not logged in to the state backend {backend}: run "
            f"`pulumi login {backend}` (Pulumi Cloud: or export PULUMI_ACCESS_TOKEN)",
        )
    if any(sign in text for sign in _PASSPHRASE_SIGNS):
        return OpsError(
            "secrets-passphrase",
            "the stack's secrets use a passphrase: export "
            "PULUMI_CONFIG_PASSPHRASE (or _FILE), or move the stack to the configured KMS "
            "provider with `pulumi stack change-secrets-provider`",
        )
    if _MANDATORY.search(text):
        return StepFailed(f"{layer}: the policy pack reported mandatory violations (above)")
    if any(sign in text for sign in _DENIED_SIGNS):
        return StepFailed(f"{layer}: {_first_error(text)} ({DENIED_HINT})")
    return StepFailed(f"{layer}: {_first_error(text)}")


def _first_error(text: str) -> str:
    # A CommandError's text labels the first line of each stream: " stderr: error: ...".
    lines = [line.strip().removeprefix("stderr:").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.lower().startswith("error:"):
            return line[len("error:") :].strip()
    return lines[-1] if lines else "the Pulumi command failed (see its output above)"


def preflight(
    settings: cfg.Settings, environ: Mapping[str, str] | None = None, stack: str | None = None
) -> None:
    """Fail in one line, before anything runs, on what the user must fix first. With deploy
    roles for the stack, AWS and the backend are checked when each layer's role is assumed
    (txn_ops.roles), not with the caller's credentials, which a CI job may not have."""
    env = os.environ if environ is None else environ
    if shutil.which("pulumi", path=env.get("PATH")) is None:
        raise OpsError("pulumi-cli-missing", f"the Pulumi CLI is not on PATH: {INSTALL_HINT}")
    backend = settings.require_backend()
    if settings.secrets_provider == "passphrase" and not (
        env.get("PULUMI_CONFIG_PASSPHRASE") or env.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        raise OpsError(
            "secrets-passphrase",
            "the passphrase secrets provider needs PULUMI_CONFIG_PASSPHRASE (or _FILE)",
        )
    if stack and settings.deploy_roles.get(stack):
        return
    check_aws_credentials()
    workspace = auto.LocalWorkspace(env_vars=_env(settings))
    try:
        workspace.who_am_i()
    except auto.CommandError as exc:
        error = classify(str(exc), "the backend check", backend)
        if isinstance(error, OpsError):
            raise error from None
        raise OpsError(
            "backend-unreachable",
            f"cannot use the state backend {backend} ({_first_error(str(exc))}); create it or "
            "fix backend-url, see docs/deploy.md",
        ) from None


def check_aws_credentials() -> str:
    """The caller's account id; an OpsError when credentials are missing or rejected."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    session = boto3.Session()
    if session.get_credentials() is None:
        raise OpsError("aws-credentials-missing", f"no AWS credentials found: {AWS_HINT}")
    try:
        sts = session.client(
            "sts",
            region_name=session.region_name or "us-east-2",
            config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}),
        )
        return str(sts.get_caller_identity()["Account"])
    except NoCredentialsError:
        raise OpsError("aws-credentials-missing", f"no AWS credentials found: {AWS_HINT}") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise OpsError(
            "aws-credentials-invalid", f"AWS rejected the credentials ({code}): {AWS_HINT}"
        ) from None
    except BotoCoreError as exc:
        raise OpsError("aws-unreachable", f"cannot reach AWS STS ({exc})") from None


def _changes(op_map: Mapping[object, int] | None) -> Changes:
    """Change counts keyed by the operation's plain name (``OpType`` hashes by member name)."""
    counts: dict[str, int] = {}
    for op, n in (op_map or {}).items():
        key = str(getattr(op, "value", op))
        counts[key] = counts.get(key, 0) + int(n)
    return Changes(counts)


STACK_TYPE = "pulumi:pulumi:Stack"


def stack_output_changes(events: Sequence[auto.EngineEvent]) -> frozenset[str] | None:
    """The stack outputs a preview may change, from the engine's outputs event of the stack
    resource: keys whose new value differs from the old (an unknown value, computed only at
    update, differs too). None when the preview reported no such event."""
    for event in events:
        outputs = event.res_outputs_event
        if outputs is None or outputs.metadata.type != STACK_TYPE:
            continue
        old = (outputs.metadata.old.outputs if outputs.metadata.old else None) or {}
        new = (outputs.metadata.new.outputs if outputs.metadata.new else None) or {}
        return frozenset(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return None


LOSING_OPS = frozenset({auto.OpType.REPLACE, auto.OpType.DELETE})


def stateful_losses(events: Sequence[auto.EngineEvent]) -> tuple[str, ...]:
    """The resources of the protected types a preview would replace or delete (one REPLACE step
    per replacement, beside its create- and delete-replacement steps)."""
    found: list[str] = []
    for event in events:
        pre = event.resource_pre_event
        if pre is None or pre.metadata.op not in LOSING_OPS:
            continue
        if pre.metadata.type in PROTECTED_TYPES:
            name = pre.metadata.urn.rsplit("::", 1)[-1]
            found.append(f"{pre.metadata.type} {name} ({pre.metadata.op.value})")
    return tuple(found)


def _env(settings: cfg.Settings) -> dict[str, str]:
    # A checkout whose Pulumi.<stack>.yaml lacks `secretsprovider:` (every CI run) keeps the
    # provider the stack's state names instead of the backend's default passphrase.
    env = {"PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true"}
    if settings.backend_url:
        env["PULUMI_BACKEND_URL"] = settings.backend_url
    return env


class AutomationWorkspace:
    """Each layer's ``stacks/<layer>`` folder as a Pulumi LocalWorkspace on one backend."""

    def __init__(
        self,
        settings: cfg.Settings,
        echo: Callable[[str], None] = print,
        refresh: bool = False,
        plans_dir: Path | None = None,
        credentials: Callable[[contract.Layer], dict[str, str]] | None = None,
    ) -> None:
        """``plans_dir``: where ``preview`` saves each layer's update plan (``<layer>.json``) and
        where ``up`` reads it, so an update does exactly what a reviewer saw in the preview
        (Pulumi's update plans: ``pulumi preview --save-plan`` / ``pulumi up --plan``)."""
        self.settings = settings
        self.echo = echo
        self.refresh = refresh
        self.plans_dir = plans_dir
        # A layer's own deploy-role credentials (txn_ops.roles), or none: the caller's; to read
        # a stack, a role of the run that may read it.
        self.credentials = credentials
        self.reader = getattr(credentials, "reader", credentials)

    def plan_path(self, layer: contract.Layer) -> Path | None:
        return plan_file(self.plans_dir, layer) if self.plans_dir else None

    def _workspace(self, layer: contract.Layer, read_only: bool) -> auto.LocalWorkspace:
        role = self.reader if read_only else self.credentials
        return auto.LocalWorkspace(
            work_dir=str(cfg.program_dir(self.settings.root, layer)),
            env_vars={**_env(self.settings), **(role(layer) if role else {})},
            secrets_provider=self.settings.stack_secrets_provider(),
        )

    def _stack(
        self, layer: contract.Layer, stack: str, create: bool, read_only: bool = False
    ) -> auto.Stack | None:
        name = cfg.stack_name(self.settings.root, layer, stack)
        workspace = self._workspace(layer, read_only)
        try:
            return self._call(layer, lambda: auto.Stack.select(name, workspace))
        except auto.StackNotFoundError:
            if not create:
                return None
            self.echo(f"    creating stack {name}")
            return self._call(layer, lambda: auto.Stack.create(name, workspace))

    def _call(self, layer: contract.Layer, operation: Callable):
        try:
            return operation()
        except auto.StackNotFoundError:
            raise  # the caller's to handle: create the stack, or report it absent
        except auto.ConcurrentUpdateError:
            raise StepFailed(
                f"{layer.name}: another update holds the stack's lock; wait for it, or run "
                "`pulumi cancel` in its folder if it died"
            ) from None
        except auto.CommandError as exc:
            raise classify(str(exc), layer.name, self.settings.backend_url) from None

    def _printer(self, layer: contract.Layer) -> Callable[[str], None]:
        prefix = f"    {layer.name} | "
        return lambda line: self.echo(prefix + line.rstrip("\n"))

    def state(self, layer: contract.Layer, stack: str) -> StackState | None:
        """Read outside any one step (the upstream checks, drift), so a failure is one line."""
        try:
            selected = self._stack(layer, stack, create=False, read_only=True)
            if selected is None:
                return None
            outputs = self._call(layer, selected.outputs)
            # The stack's own deployment, not `pulumi stack ls`, which lists every project.
            deployment = self._call(layer, selected.export_stack).deployment or {}
        except StepFailed as exc:
            raise OpsError(
                "state-unreadable",
                f"cannot read the state of {cfg.stack_name(self.settings.root, layer, stack)} "
                f"({exc}): check the backend and, with deploy roles, the account stack's "
                "state grants (docs/deploy.md)",
            ) from None
        resources = deployment.get("resources") or []
        return StackState(
            resource_count=len(resources),
            outputs={key: out.value for key, out in outputs.items()},
            secret_outputs=frozenset(key for key, out in outputs.items() if out.secret),
            protected=frozenset(
                f"{r.get('type')} {str(r.get('urn', '')).rsplit('::', 1)[-1]}"
                for r in resources
                if r.get("protect") or (r.get("outputs") or {}).get("deletionProtectionEnabled")
            ),
        )

    def preview(self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]) -> Changes:
        selected = self._stack(layer, stack, create=True)
        assert selected is not None
        events: list[auto.EngineEvent] = []
        result = self._call(
            layer,
            lambda: selected.preview(
                policy_packs=[str(p) for p in policy_packs] or None,
                refresh=self.refresh or None,
                plan=str(plan) if (plan := self._plan_to_save(layer)) else None,
                on_output=self._printer(layer),
                on_event=events.append,
                color="never",
            ),
        )
        changes = _changes(result.change_summary)
        return Changes(changes.counts, stack_output_changes(events), stateful_losses(events))

    def up(self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]) -> Changes:
        selected = self._stack(layer, stack, create=True)
        assert selected is not None
        result = self._call(
            layer,
            lambda: selected.up(
                policy_packs=[str(p) for p in policy_packs] or None,
                refresh=self.refresh or None,
                plan=str(plan) if (plan := self._plan_to_follow(layer)) else None,
                on_output=self._printer(layer),
                color="never",
                message=f"txn-ops deploy {layer.name}",
            ),
        )
        return _changes(result.summary.resource_changes)

    def _plan_to_save(self, layer: contract.Layer) -> Path | None:
        path = self.plan_path(layer)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _plan_to_follow(self, layer: contract.Layer) -> Path | None:
        path = self.plan_path(layer)
        if path is not None and not path.is_file():
            raise StepFailed(
                f"{layer.name}: no saved plan {path}; preview with --plans {self.plans_dir} "
                "first, so the update does what the reviewers saw"
            )
        return path

    def destroy(self, layer: contract.Layer, stack: str) -> Changes:
        selected = self._stack(layer, stack, create=False)
        if selected is None:
            return Changes()
        result = self._call(
            layer,
            lambda: selected.destroy(
                on_output=self._printer(layer),
                color="never",
                message=f"txn-ops destroy {layer.name}",
            ),
        )
        return _changes(result.summary.resource_changes)
