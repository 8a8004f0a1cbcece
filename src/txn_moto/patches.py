"""Fixes to moto's speed and thread safety, for the local runtime's moto server processes.

The local runtime applies them in its moto child processes (``txn_local.motoserver``); tests
that run moto in-process call :func:`apply` themselves. They replace moto internals, so they
refuse any moto release but :data:`MOTO_VERSION` (:func:`check_version`).

The patches live by service: :mod:`txn_moto.sqs` and :mod:`txn_moto.dynamodb`; this module
checks the release, applies them all once and holds the ones for every service.

**Request dispatch.** For every request moto lists the handler class's methods with
``inspect.getmembers`` to check that the action exists; the list never changes, so the patch
computes it once per class. It also finds the request's action by matching the request against
the service's routes four times per request (setup, parameters, dispatch, answer); the patch
matches once per request.
"""

from __future__ import annotations

import functools
import importlib.metadata
from typing import Any

from txn_moto import dynamodb, sqs

# The moto release these patches were written and tested against: they replace moto internals,
# so any other release may break them silently. pyproject.toml pins the same release; a test
# holds the two together.
MOTO_VERSION = "5.2.6"


class MotoVersionError(Exception):
    """The installed moto is not the release these patches were written for."""


def check_version(installed: str | None = None) -> None:
    """Refuse to patch a moto release other than :data:`MOTO_VERSION`."""
    installed = installed or importlib.metadata.version("moto")
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"moto {installed} is installed but txn_moto patches moto {MOTO_VERSION}: "
            "run through ./noxw (it installs exactly uv.lock), or re-check "
            f"txn_moto against moto {installed} and update MOTO_VERSION in txn_moto/patches.py"
        )


@functools.cache  # once per process
def apply() -> None:
    check_version()
    sqs.apply()
    dynamodb.apply()
    _method_names_once()
    _action_once_per_request()


def _method_names_once() -> None:
    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)


def _action_once_per_request() -> None:
    """moto builds a response object per request and asks it for the request's action four
    times, each a match of the request against the service's routes; the first answer (and the
    route's URI parameters, which the match stores on the object) is kept on the object."""
    from moto.core.responses import BaseResponse

    original = BaseResponse._get_action

    @functools.wraps(original)
    def get_action(self: Any) -> str:
        try:
            action: str = self.__dict__["_txn_action"]
        except KeyError:
            action = self.__dict__["_txn_action"] = original(self)
        return action

    BaseResponse._get_action = get_action
