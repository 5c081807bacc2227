"""Seeds of one training epoch, derived from (unit seed, epoch).

Every random stream of training (the shuffle, the augmentation, failout and dropout) restarts
each epoch from such a seed, so that a unit resumed at an epoch boundary draws exactly what an
uninterrupted run would have drawn.
"""

from __future__ import annotations

import numpy as np

SHUFFLE = 0
AUGMENT = 1
MODEL = 2  # then MODEL + i for the i-th random layer of the model


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A 31-bit seed for ``stream`` in ``epoch``; independent across streams and epochs."""
    entropy = [seed % 2**32, epoch, stream]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)
