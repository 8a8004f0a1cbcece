"""The contract checks hold the real code against the real stack programs, run under mocks."""

from tests.stacks.conftest import system  # noqa: F401 - every layer for dev, once a session
