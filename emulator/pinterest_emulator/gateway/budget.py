"""A byte budget: how many bytes of request bodies the gateway holds in memory at once."""

from __future__ import annotations

import threading


class ByteBudget:
    """Bytes of request bodies held in memory at once: a reader waits until its body fits."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self._cond = threading.Condition()

    def acquire(self, size: int, blocking: bool = True) -> bool:
        """Reserve `size` bytes (at most the limit), waiting for room unless `blocking` is false."""
        size = min(size, self.limit)
        with self._cond:
            while self.used + size > self.limit:
                if not blocking:
                    return False
                self._cond.wait()
            self.used += size
            return True

    def release(self, size: int) -> None:
        """Give back what `acquire(size)` reserved."""
        with self._cond:
            self.used -= min(size, self.limit)
            self._cond.notify_all()
