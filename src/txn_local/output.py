"""Keep the functions' CloudWatch EMF lines out of the terminal.

In Lambda, Powertools Metrics prints one JSON line (``{"_aws": ...}``) per flush to stdout and
CloudWatch turns it into metrics. Locally there is no CloudWatch: ``POWERTOOLS_METRICS_DISABLED``
stops the normal flushes, but ``single_metric`` and the 100-value overflow flush print anyway.
:class:`DropEmf` wraps stdout and drops those lines, leaving everything else untouched.
"""

from __future__ import annotations

import threading
from typing import Any, TextIO

_EMF_PREFIX = '{"_aws"'


class DropEmf:
    """A stdout wrapper that swallows EMF lines (``print`` writes the text, then ``"\\n"``)."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._dropping = threading.local()

    def write(self, text: str) -> int:
        if text.startswith(_EMF_PREFIX):
            self._dropping.newline = not text.endswith("\n")
            return len(text)
        if text == "\n" and getattr(self._dropping, "newline", False):
            self._dropping.newline = False
            return 1
        self._dropping.newline = False
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
