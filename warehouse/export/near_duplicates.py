"""Near-duplicate detection against evaluation problems: MinHash signatures with LSH banding find the
candidates, and an exact score decides.

Shingles are a text's words, numbers and arithmetic operators (lowercased, punctuation dropped), so a
reworded or reordered problem keeps most of them. The score is containment: the share of the evaluation problem's
shingles found in the row's text, so a prompt template around the problem does not dilute it, each
shingle weighed by its rarity in the evaluation set (IDF), so the words a template repeats in every
problem count little. A
match also needs every number of the evaluation problem in the row: templated problems that differ
only in their numbers (the usual case in math sets) are different problems.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

THRESHOLD = 0.6  # containment at or above which a row is a near-duplicate (bench/decontamination.py)
PERMUTATIONS = 128  # default; NearIndex(num_perm=…) (decontamination.num_perm in a run config)
BAND_ROWS = 2  # bands of 2 rows (64 at 128): a pair at Jaccard 0.3 is a candidate with probability 0.998
_PRIME = (1 << 61) - 1
_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?|[-+*/^=<>]")  # operators count: 4 - 1 is not 1 + 4
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def shingles(text: str) -> set[str]:
    """A text's words, numbers and operators (word pairs lost most of their overlap under rewording)."""
    return set(_TOKEN.findall(text.lower()))


def numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(text))


def _permutations(count: int = PERMUTATIONS, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)  # below 2^31 so a * hash + b stays inside 64 bits
    return (rng.integers(1, 1 << 31, count, dtype=np.uint64), rng.integers(0, 1 << 31, count, dtype=np.uint64))


_A, _B = _permutations()


def signature(grams: set[str], a: np.ndarray = _A, b: np.ndarray = _B) -> np.ndarray:
    """The MinHash signature of a shingle set (one value per permutation ``a * hash + b``)."""
    if not grams:
        return np.full(len(a), _PRIME, dtype=np.uint64)
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") for g in grams], dtype=np.uint64
    )
    return (((hashes[:, None] * a[None, :]) + b[None, :]) % np.uint64(_PRIME)).min(axis=0)


def bands(sig: np.ndarray) -> list[bytes]:
    return [
        i.to_bytes(2, "little") + sig[i * BAND_ROWS : (i + 1) * BAND_ROWS].tobytes()
        for i in range(len(sig) // BAND_ROWS)
    ]


@dataclass
class NearIndex:
    """The evaluation problems of one set, indexed by LSH band."""

    threshold: float = THRESHOLD
    num_perm: int = PERMUTATIONS
    grams: list[set[str]] = field(default_factory=list)
    nums: list[set[str]] = field(default_factory=list)
    counted: list[Counter] = field(default_factory=list)  # each problem's numbers with their counts
    buckets: dict[bytes, list[int]] = field(default_factory=dict)
    df: Counter = field(default_factory=Counter)  # evaluation problems holding each shingle
    by_number: dict[str, list[int]] = field(default_factory=dict)  # a problem's numbers -> problems holding them

    def __post_init__(self) -> None:
        if self.num_perm < BAND_ROWS or self.num_perm % BAND_ROWS:
            raise ValueError(f"num_perm must be a positive multiple of {BAND_ROWS}, got {self.num_perm}")
        self._ab = (_A, _B) if self.num_perm == PERMUTATIONS else _permutations(self.num_perm)

    def add(self, text: str) -> None:
        grams = shingles(text)
        index = len(self.grams)
        self.grams.append(grams)
        self.df.update(grams)
        nums = numbers(text)
        self.nums.append(nums)
        self.counted.append(Counter(_NUMBER.findall(text)))
        for number in nums:
            self.by_number.setdefault(number, []).append(index)
        if grams:
            for key in bands(signature(grams, *self._ab)):
                self.buckets.setdefault(key, []).append(index)

    def best(self, text: str, both_ways: bool = False) -> tuple[int, float] | None:
        """(index, containment score) of the closest evaluation problem at or above the threshold. With
        ``both_ways`` (problem against problem, either may carry extra words) the score is the higher of the
        two containments, and the numbers, counted, must be the same: "Compute 1 + 12." does not repeat
        "Compute 12 + 12."."""
        grams = shingles(text)
        if not grams or not self.grams:
            return None
        candidates = {i for key in bands(signature(grams, *self._ab)) for i in self.buckets.get(key, ())}
        have = numbers(text)
        # a short problem in a long prompt has a low Jaccard and may miss every band: the problems sharing
        # the row's rarest number are candidates too (a match must hold all its numbers anyway)
        held = sorted((len(self.by_number[x]), x) for x in have if x in self.by_number)
        if held:
            candidates.update(self.by_number[held[0][1]])
        found = None
        for i in sorted(candidates):
            if not self.nums[i] <= have or both_ways and self.counted[i] != Counter(_NUMBER.findall(text)):
                continue
            common = self._weight(self.grams[i] & grams)
            score = common / self._weight(self.grams[i])
            if both_ways:
                score = max(score, common / self._weight(grams))
            if score >= self.threshold and (found is None or score > found[1]):
                found = (i, score)
        return found

    def _weight(self, grams: set[str]) -> float:
        """Shingles weighed by rarity in the evaluation set (IDF): names, objects and numbers count more
        than the words every problem of a template shares."""
        n = len(self.grams)
        return sum(math.log(1 + n / self.df.get(g, 1)) for g in grams)
