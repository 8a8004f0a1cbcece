"""The moto server's launch checks the moto release before it starts a child."""

from __future__ import annotations

import pytest

from txn_local.errors import LocalError
from txn_local.motoserver import MotoServer
from txn_moto import patches


def test_a_moto_release_the_patches_were_not_written_for_is_a_coded_local_error(monkeypatch):
    # GIVEN patches written for another moto release than the installed one
    monkeypatch.setattr(patches, "MOTO_VERSION", "0.0.0")
    server = MotoServer("127.0.0.1", 0, "version-test")
    # WHEN the runtime launches its moto server
    with pytest.raises(LocalError) as error:
        server.launch()
    # THEN it gets the coded error the CLI prints, not a child that never starts
    assert error.value.code == "moto_version"
    assert "patches moto 0.0.0" in error.value.message
