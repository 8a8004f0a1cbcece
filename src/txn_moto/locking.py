"""One lock around some of a moto backend's methods: the local server's threads then run them
one at a time, as the real service applies each call atomically."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from typing import Any


def one_at_a_time(backend: type, names: Iterable[str], lock: threading.RLock) -> None:
    """Replace each method of ``backend`` named in ``names`` by one that holds ``lock``."""
    for name in names:
        method = getattr(backend, name)

        @functools.wraps(method)
        def call(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with lock:
                return _method(self, *args, **kwargs)

        setattr(backend, name, call)
