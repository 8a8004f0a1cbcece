"""The contract's DAG: deploy order, downstream layers, and refusal of unknown names."""

from __future__ import annotations

import pytest

from txn_spec import contract


def test_deploy_order_puts_every_layer_after_its_upstream_layers() -> None:
    order = contract.deploy_order()
    assert order == ["network", "security", "data", "compute", "edge", "observability"]
    for name in order:
        assert all(order.index(up) < order.index(name) for up in contract.layer(name).upstream)


def test_deploy_order_of_a_selection_keeps_dag_order() -> None:
    assert contract.deploy_order(["edge", "data"]) == ["data", "edge"]


def test_downstream_follows_indirect_readers() -> None:
    assert contract.downstream("data") == ["compute", "edge", "observability"]
    assert contract.downstream("observability") == []


def test_unknown_layer_is_refused_with_the_known_names() -> None:
    with pytest.raises(contract.ContractError, match=r"unknown layer 'storage'.*network"):
        contract.deploy_order(["storage"])


def test_secret_outputs_must_be_declared_outputs() -> None:
    with pytest.raises(ValueError, match="secret outputs must be outputs"):
        contract.Layer("x", (), frozenset({"a"}), frozenset({"b"}))


def test_project_and_folder_follow_the_layer_name() -> None:
    assert contract.EDGE.project == "txn-edge"
    assert contract.EDGE.folder == "stacks/edge"


def test_the_account_bootstrap_is_a_project_outside_the_dag() -> None:
    assert (contract.ACCOUNT.project, contract.ACCOUNT.folder) == ("txn-account", "stacks/account")
    assert "account" not in contract.deploy_order()
    with pytest.raises(contract.ContractError, match="unknown layer 'account'"):
        contract.layer("account")
