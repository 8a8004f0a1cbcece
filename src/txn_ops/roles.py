"""Each layer deploys as its own role: which role, and short-lived credentials for it.

The roles are the account project's (``txn-<region>-<layer>-deploy``, ADR 0011). Which ARN a
stack's layers use is one setting, ``[tool.txn-ops.deploy-role-arn]`` (a template per stack with
``{layer}`` and ``{region}``), or ``TXN_DEPLOY_ROLE_ARN`` for one shell or CI job. Unset, every
layer runs with the caller's own credentials, as before, and the report says so.

Credentials come from STS: in a GitHub Actions job (its OIDC token request variables set) with
``AssumeRoleWithWebIdentity`` and the job's own token, which the roles' trust policies accept
for the repository's branch and environments only; anywhere else with ``AssumeRole`` from the
caller's credentials (a team member's SSO session), which the role's trust names per layer. A
layer whose role cannot be assumed stops the run before anything changes, in one line.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract

ROLE_ENV = "TXN_DEPLOY_ROLE_ARN"
GITHUB_TOKEN_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"  # noqa: S105 (a variable's name)
GITHUB_TOKEN_BEARER = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 (a variable's name)
AMBIENT = "the caller's own credentials (no deploy-role-arn set)"
# Role chaining (an SSO session assuming a role) caps a session at one hour (STS AssumeRole,
# DurationSeconds), and a full destroy with the ENI wait runs longer. A Pulumi operation gets
# its credentials once, when it starts: a role is assumed again for the next operation once
# fewer than RENEW_BEFORE are left, so each starts with at least that long (AssumeRole is cheap).
SESSION_SECONDS = 3600
RENEW_BEFORE = timedelta(minutes=50)

StsFactory = Callable[[str | None], Any]  # region -> an STS client


def role_arn(settings: cfg.Settings, layer: contract.Layer, stack: str) -> str | None:
    template = settings.deploy_roles.get(stack)
    if not template:
        return None
    region = cfg.region(settings.root, layer, stack) or ""
    return template.format(layer=layer.name, region=region)


def describe(settings: cfg.Settings, layer: contract.Layer, stack: str) -> str:
    return role_arn(settings, layer, stack) or AMBIENT


def _github_token(environ: Mapping[str, str]) -> str:
    """The job's OIDC token for STS (GitHub's documented request, audience sts.amazonaws.com)."""
    url = environ[GITHUB_TOKEN_URL] + "&audience=sts.amazonaws.com"
    request = urllib.request.Request(  # noqa: S310 (GitHub's own https endpoint)
        url, headers={"Authorization": f"bearer {environ[GITHUB_TOKEN_BEARER]}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return str(json.load(answer)["value"])


def real_sts(region: str | None) -> Any:
    import boto3

    return boto3.client("sts", region_name=region)


def client(service: str, region: str | None, env: Mapping[str, str]) -> Any:
    """A boto3 client with a layer's role credentials (``env`` as :class:`LayerCredentials`
    gives them to Pulumi); with none (no deploy-role-arn), the caller's own."""
    import boto3

    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


# RoleSessionName: 2 to 64 of [\w+=,.@-] (STS AssumeRole API reference)
SESSION_NAME_MAX = 64
_NOT_IN_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


def caller_name(arn: str) -> str:
    """Who the caller is, from their identity's ARN, as a session name may hold it: an
    assumed role's session name (IAM Identity Center names it after the user), an IAM user's
    name; "" when the ARN names nobody in particular (the account root)."""
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    if kind not in ("assumed-role", "user") or not rest:
        return ""
    return _NOT_IN_SESSION_NAME.sub("-", rest.rsplit("/", 1)[-1])


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LayerCredentials:
    """Environment variables with each layer's role credentials, assumed when first asked for
    and again when they are about to expire."""

    def __init__(
        self,
        settings: cfg.Settings,
        stack: str,
        emit: Callable[[str], None] = print,
        environ: Mapping[str, str] | None = None,
        sts: StsFactory = real_sts,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings, self.stack, self.emit = settings, stack, emit
        self.environ = os.environ if environ is None else environ
        self.sts = sts
        self.now = now
        self._env: dict[str, dict[str, str]] = {}
        self._expires: dict[str, datetime] = {}
        self._caller: str | None = None  # the person's name for session names, once known
        self.chosen: list[str] = []

    def __call__(self, layer: contract.Layer) -> dict[str, str]:
        expires = self._expires.get(layer.name)
        if layer.name not in self._env or (expires and expires - self.now() < RENEW_BEFORE):
            self._env[layer.name] = self._assume(layer, renewing=layer.name in self._env)
        return self._env[layer.name]

    def check(self, names: Iterable[str]) -> None:
        """Assume every chosen layer's role before anything runs."""
        self.chosen = list(names)
        for name in self.chosen:
            self(contract.layer(name))

    def reader(self, layer: contract.Layer) -> dict[str, str]:
        """Credentials to read ``layer``'s stack: its own role when it is in the run, else the
        role of a layer in the run that reads it (each role may read its upstream stacks)."""
        if layer.name not in self.chosen:
            reading = [n for n in self.chosen if layer.name in contract.layer(n).upstream]
            if reading:
                return self(contract.layer(reading[0]))
        return self(layer)

    def _session_name(self, layer: contract.Layer, sts: Any, github: bool) -> str:
        """CloudTrail names every call made with the role by this session (PCI DSS 10.2.1,
        who did what): in CI the run and attempt; elsewhere the person, from their own
        session (an IAM Identity Center session is named after the user), so a call is theirs
        without joining it to the AssumeRole event."""
        name = f"txn-{layer.name}-{self.stack}"
        if github or "GITHUB_RUN_ID" in self.environ:
            run = self.environ.get("GITHUB_RUN_ID")
            attempt = self.environ.get("GITHUB_RUN_ATTEMPT", "1")
            return name + (f"-gh{run}-{attempt}" if run else "")
        if self._caller is None:
            self._caller = caller_name(sts.get_caller_identity()["Arn"])
        return f"{name}-{self._caller}"[:SESSION_NAME_MAX] if self._caller else name

    def _assume(self, layer: contract.Layer, renewing: bool) -> dict[str, str]:
        arn = role_arn(self.settings, layer, self.stack)
        if arn is None:
            return {}
        from botocore.exceptions import BotoCoreError, ClientError

        region = cfg.region(self.settings.root, layer, self.stack)
        github = GITHUB_TOKEN_URL in self.environ and GITHUB_TOKEN_BEARER in self.environ
        try:
            sts = self.sts(region)
            session = self._session_name(layer, sts, github)
            if github:
                answer = sts.assume_role_with_web_identity(
                    RoleArn=arn,
                    RoleSessionName=session,
                    WebIdentityToken=_github_token(self.environ),
                    DurationSeconds=SESSION_SECONDS,
                )
            else:
                answer = sts.assume_role(
                    RoleArn=arn, RoleSessionName=session, DurationSeconds=SESSION_SECONDS
                )
        except (ClientError, BotoCoreError, OSError, KeyError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else str(exc)
            how = "the job's GitHub OIDC token" if github else "your credentials"
            raise OpsError(
                "deploy-role-unreachable",
                f"layer {layer.name} deploys as {arn}, which {how} cannot assume ({code}): your "
                f"role needs both its ARN in deployers.{layer.name} of the account stack and an "
                "IAM policy of its own allowing sts:AssumeRole on that role (with IAM Identity "
                f"Center, an inline policy of the permission set); or unset {ROLE_ENV} / "
                "deploy-role-arn to use your own (docs/deploy.md)",
            ) from None
        self.emit(
            f"    {layer.name}: {'renewed credentials of' if renewing else 'running as'} {arn}"
            f" (session {session})"
        )
        creds = answer["Credentials"]
        self._expires[layer.name] = creds["Expiration"]
        return {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }
