"""The contract checks hold the real code against the real stack programs, run under mocks
(the dev system fixture comes from tests/conftest.py, once a session)."""
