"""Deploy settings: one backend and secrets provider for every layer, org and region per layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract

from .conftest import write_layer


def test_backend_and_secrets_provider_come_from_pyproject(repo: Path) -> None:
    settings = cfg.load(repo, environ={})

    assert settings.backend_url == "s3://state-bucket?region=us-east-2"
    assert settings.stack_secrets_provider() == (
        "awskms://alias/txn-pulumi-secrets?region=us-east-2"
    )
    assert settings.backend_source == "pyproject.toml [tool.txn-ops] backend-url"


def test_environment_overrides_the_repository_settings(repo: Path) -> None:
    settings = cfg.load(
        repo,
        environ={"PULUMI_BACKEND_URL": "s3://sandbox", "TXN_SECRETS_PROVIDER": "default"},
    )

    assert settings.backend_url == "s3://sandbox"
    assert settings.backend_source == "$PULUMI_BACKEND_URL"
    assert settings.stack_secrets_provider() is None  # the backend's own default


def test_a_missing_backend_says_where_to_set_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.txn-ops]\nbackend-url = ""\n')

    with pytest.raises(OpsError) as caught:
        cfg.load(tmp_path, environ={}).require_backend()

    assert caught.value.code == "backend-missing"
    assert "[tool.txn-ops]" in caught.value.message
    assert "PULUMI_BACKEND_URL" in caught.value.message


def test_a_setting_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.txn-ops]\nbackend-url = 3\n")

    with pytest.raises(OpsError) as caught:
        cfg.load(tmp_path, environ={})

    assert caught.value.code == "settings-invalid"


def test_stack_names_use_the_default_organization_of_a_self_managed_backend(repo: Path) -> None:
    assert cfg.stack_name(repo, contract.DATA, "dev") == "organization/txn-data/dev"


def test_a_layer_org_in_the_stack_file_wins(tmp_path: Path) -> None:
    write_layer(tmp_path, "data", org="acme")

    assert cfg.stack_name(tmp_path, contract.DATA, "dev") == "acme/txn-data/dev"
    assert cfg.region(tmp_path, contract.DATA, "dev") == "us-east-2"


def test_the_repository_network_stack_files_resolve(tmp_path: Path) -> None:
    assert cfg.stack_name(cfg.REPO_ROOT, contract.NETWORK, "prod") == (
        "organization/txn-network/prod"
    )
    assert cfg.region(cfg.REPO_ROOT, contract.NETWORK, "prod") == "us-east-2"


def test_the_repository_configures_a_kms_secrets_provider() -> None:
    settings = cfg.load(cfg.REPO_ROOT, environ={})

    assert (settings.secrets_provider or "").startswith("awskms://alias/")
