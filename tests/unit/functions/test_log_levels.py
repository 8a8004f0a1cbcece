"""Powertools Logger under Lambda's advanced logging controls, as compute configures both.

Lambda sets ``AWS_LAMBDA_LOG_LEVEL`` from the function's application log level, and Powertools
lets it win over ``POWERTOOLS_LOG_LEVEL``. compute sets both from one config value, so the level
the code logs at is the level Lambda keeps: nothing is formatted only to be dropped.
"""

from __future__ import annotations

import json
import logging
import warnings

import pytest

from txn_adapters.telemetry import make_logger
from txn_infra.components.compute import _LAMBDA_LOG_LEVEL


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_powertools_logs_at_the_level_lambda_filters_at(
    level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", _LAMBDA_LOG_LEVEL[level])
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", level)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"alc-{level.lower()}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools warns when the two disagree
        logger = make_logger()
    assert logger.log_level == logging.getLevelName(level)


def test_a_powertools_line_is_json_with_the_level_key_lambda_filters_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "INFO")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "alc-json")
    logger = make_logger()
    logger.info("transaction refused", extra={"code": "unknown_merchant"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["level"] == "INFO"
    assert line["message"] == "transaction refused"
