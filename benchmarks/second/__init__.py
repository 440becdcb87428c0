"""A second, independent test set of handwritten digits and numbers (numpy and Pillow only).

    from second import singles, numbers      # with benchmarks/ on sys.path
    digits = singles(6)                       # list[Sample]: 30 per condition of SINGLES, label i % 10
    written = numbers(6)                      # list[Sample]: 20 per condition of NUMBERS, label "0418"

Written apart from benchmarks/synth: its own stroke skeletons (strokes.py), the handwriting fonts (fonts.py),
its own paper, ink and printed lines (paper.py) and photo geometry and light (photo.py); the conditions are in
single_conditions.py and number_conditions.py. Every image comes from its own generator, seeded by (seed, set,
condition, index), so it does not depend on the order of generation or on the number of processes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from multiprocessing import Pool

import numpy as np

from .number_conditions import NUMBERS, random_number
from .single_conditions import SINGLES

N_SINGLES = 30  # per condition
N_NUMBERS = 20  # per condition
PROCESSES = 2  # the set takes about a minute in one process, half that in two


@dataclass(frozen=True)
class Sample:
    condition: str  # a key of SINGLES or NUMBERS
    label: int | str  # the digit (singles) or the digits as a string, leading zeros kept (numbers)
    data: bytes  # the encoded image file (PNG or JPEG)
    name: str  # "singles/ruled/03_3.png": set, condition, index, label and the format's extension


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def make_single(seed: int, condition: str, index: int) -> Sample:
    """Sample `index` of a single-digit condition: the digit index % 10."""
    label = index % 10
    data, ext = SINGLES[condition](label, _rng(seed, "singles", condition, index))
    return Sample(condition, label, data, f"singles/{condition}/{index:02d}_{label}.{ext}")


def make_number(seed: int, condition: str, index: int) -> Sample:
    """Sample `index` of a number condition: its number drawn from a generator of its own."""
    label = random_number(_rng(seed, "label", condition, index))
    data, ext = NUMBERS[condition](label, _rng(seed, "numbers", condition, index))
    return Sample(condition, label, data, f"numbers/{condition}/{index:02d}_{label}.{ext}")


def singles(seed: int) -> list[Sample]:
    """N_SINGLES single digits per condition of SINGLES, in that order."""
    with Pool(PROCESSES) as pool:
        return pool.starmap(make_single, [(seed, c, i) for c in SINGLES for i in range(N_SINGLES)], chunksize=4)


def numbers(seed: int) -> list[Sample]:
    """N_NUMBERS numbers per condition of NUMBERS, in that order."""
    with Pool(PROCESSES) as pool:
        return pool.starmap(make_number, [(seed, c, i) for c in NUMBERS for i in range(N_NUMBERS)], chunksize=4)
