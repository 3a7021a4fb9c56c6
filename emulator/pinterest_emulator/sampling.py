"""Which source index each event reads: the original emulator's sequence, or uniform over the whole table."""

from __future__ import annotations

import random
from collections.abc import Iterator

ORIGINAL_SEED = 100
# The original draws randint(0, 11000) and reads row n with `LIMIT n, 1`: indexes 11001.. are never drawn.
ORIGINAL_HIGHEST = 11000


def original_indexes(seed: int = ORIGINAL_SEED) -> Iterator[int]:
    """The original emulator's indexes: random.seed(100), then per post randrange(0, 2) (its sleep), randint."""
    rng = random.Random(seed)
    while True:
        rng.randrange(
            0, 2
        )  # the original sleeps this many seconds; drawn only to keep the sequence identical
        yield rng.randint(0, ORIGINAL_HIGHEST)


def uniform_indexes(rows: int, seed: int) -> Iterator[int]:
    """Indexes drawn uniformly over 0..rows-1."""
    rng = random.Random(seed)
    while True:
        yield rng.randrange(rows)
