"""Where state lives, how secrets are encrypted, and what each layer's stack is called.

The backend and the secrets provider are configured in ONE place for every layer and stack:
``[tool.txn-ops]`` in the root ``pyproject.toml``. ``PULUMI_BACKEND_URL`` (Pulumi's own variable,
which the plain CLI honours too) and ``TXN_SECRETS_PROVIDER`` override it for one shell, e.g. a
sandbox account. Each layer's organization and region come from its own Pulumi config
(``Pulumi.yaml`` defaults, ``Pulumi.<stack>.yaml`` values), exactly as the stack programs read
them, so a stack reference and the orchestration agree on ``<org>/<project>/<stack>``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

from txn_infra.config import CommonConfig, Environment
from txn_ops.errors import OpsError
from txn_spec import contract

REPO_ROOT = Path(__file__).resolve().parents[2]
STACKS: tuple[str, ...] = get_args(Environment)
DEFAULT_ORG = "organization"  # what a self-managed backend (S3, local) calls its only org
POLICY_PACK_DIR = "policies"
GUIDE = "docs/deploy.md"


@dataclass(frozen=True)
class Settings:
    """The repository's deploy settings, resolved once per command."""

    root: Path
    backend_url: str | None
    backend_source: str
    secrets_provider: str | None
    secrets_source: str
    # stack -> deploy role ARN template ({layer}, {region}); empty: the caller's credentials
    deploy_roles: Mapping[str, str] = field(default_factory=dict)
    deploy_roles_source: str = "not set"

    @property
    def policy_pack(self) -> Path | None:
        """The CrossGuard pack attached to every preview and update, when the repo has one."""
        folder = self.root / POLICY_PACK_DIR
        return folder if (folder / "PulumiPolicy.yaml").is_file() else None

    def require_backend(self) -> str:
        if not self.backend_url:
            raise OpsError(
                "backend-missing",
                "no state backend configured: set backend-url under [tool.txn-ops] in "
                "pyproject.toml (e.g. s3://<bucket>?region=us-east-2) or export "
                f"PULUMI_BACKEND_URL; see {GUIDE}",
            )
        return self.backend_url

    def stack_secrets_provider(self) -> str | None:
        """The provider new stacks are created with (None: the backend's default)."""
        if self.secrets_provider in (None, "", "default"):
            return None
        return self.secrets_provider


def load(root: Path = REPO_ROOT, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    table = _tool_table(root)
    backend, backend_source = _pick(env, "PULUMI_BACKEND_URL", table, "backend-url")
    secrets, secrets_source = _pick(env, "TXN_SECRETS_PROVIDER", table, "secrets-provider")
    roles: dict[str, str] = {k: v for k, v in table.get("deploy-role-arn", {}).items() if v}
    roles_source = "pyproject.toml [tool.txn-ops.deploy-role-arn]" if roles else "not set"
    if env.get("TXN_DEPLOY_ROLE_ARN"):
        roles = dict.fromkeys(STACKS, env["TXN_DEPLOY_ROLE_ARN"])
        roles_source = "$TXN_DEPLOY_ROLE_ARN"
    for template in roles.values():
        if "{layer}" not in template:
            raise OpsError(
                "settings-invalid",
                f"deploy role ARN {template!r} ({roles_source}) has no {{layer}}: each layer "
                "deploys as its own role, e.g. "
                "arn:aws:iam::<account>:role/txn-{region}-{layer}-deploy",
            )
    return Settings(root, backend, backend_source, secrets, secrets_source, roles, roles_source)


def _tool_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise OpsError("settings-invalid", f"{path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("txn-ops", {})
    for key in ("backend-url", "secrets-provider"):
        if not isinstance(table.get(key, ""), str):
            raise OpsError("settings-invalid", f"[tool.txn-ops] {key} must be a string")
    roles = table.get("deploy-role-arn", {})
    if not isinstance(roles, dict) or not set(roles) <= set(STACKS):
        raise OpsError(
            "settings-invalid",
            f"[tool.txn-ops.deploy-role-arn] maps a stack ({', '.join(STACKS)}) to a role ARN "
            "template with {layer}",
        )
    return table


def _pick(
    env: Mapping[str, str], var: str, table: Mapping[str, Any], key: str
) -> tuple[str | None, str]:
    if env.get(var):
        return env[var], f"${var}"
    if table.get(key):
        return table[key], f"pyproject.toml [tool.txn-ops] {key}"
    return None, "not set"


def check_stack(stack: str) -> str:
    if stack not in STACKS:
        raise OpsError("stack-unknown", f"unknown stack {stack!r}; stacks are {', '.join(STACKS)}")
    return stack


def program_dir(root: Path, layer: contract.Layer) -> Path:
    return root / layer.folder


def has_program(root: Path, layer: contract.Layer) -> bool:
    folder = program_dir(root, layer)
    return (folder / "Pulumi.yaml").is_file() and (folder / "__main__.py").is_file()


def stack_file(root: Path, layer: contract.Layer, stack: str) -> dict[str, Any]:
    path = program_dir(root, layer) / f"Pulumi.{stack}.yaml"
    return _yaml(path)


def config_value(root: Path, layer: contract.Layer, stack: str, key: str) -> Any:
    """A config value as Pulumi resolves it: the stack file, else the Pulumi.yaml default.

    ``key`` is ``name`` for the layer's own namespace or ``ns:name`` for another (``aws:region``).
    """
    full = key if ":" in key else f"{layer.project}:{key}"
    stack_config = stack_file(root, layer, stack).get("config") or {}
    if full in stack_config:
        return stack_config[full]
    project_config = _yaml(program_dir(root, layer) / "Pulumi.yaml").get("config") or {}
    declared = project_config.get(key) or project_config.get(full)
    if isinstance(declared, dict):
        return declared.get("default", declared.get("value"))
    return declared


def check_secrets_provider(settings: Settings, layer: contract.Layer, stack: str) -> None:
    """Refuse a stack whose secrets use another provider than the one configured for all."""
    existing = stack_file(settings.root, layer, stack).get("secretsprovider")
    wanted = settings.stack_secrets_provider() or "default"
    if existing and existing != wanted:
        raise OpsError(
            "secrets-provider-mismatch",
            f"{layer.folder}/Pulumi.{stack}.yaml uses secrets provider {existing}, but every "
            f"stack is configured for {wanted} ({settings.secrets_source}); move it with "
            f"`pulumi stack change-secrets-provider {wanted}` in {layer.folder}",
        )


def organization(root: Path, layer: contract.Layer, stack: str) -> str:
    return str(config_value(root, layer, stack, "org") or DEFAULT_ORG)


def app(root: Path, layer: contract.Layer, stack: str) -> str:
    """The first part of the layer's physical names (``txn``), defaulting as the programs do."""
    return str(config_value(root, layer, stack, "app") or CommonConfig.model_fields["app"].default)


def region(root: Path, layer: contract.Layer, stack: str) -> str | None:
    value = config_value(root, layer, stack, "aws:region")
    return str(value) if value else None


def stack_name(root: Path, layer: contract.Layer, stack: str) -> str:
    """The fully qualified name that stack references use: ``<org>/<project>/<stack>``."""
    return f"{organization(root, layer, stack)}/{layer.project}/{stack}"


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as exc:
        raise OpsError("settings-invalid", f"{path} is not valid YAML: {exc}") from None
    return data if isinstance(data, dict) else {}
