"""Near-duplicate pages: the same text scanned twice, typeset again, or with another header, found across the
whole dataset by MinHash-LSH over the page text (datasketch).

A page's text is lower-cased, punctuation, symbols and spaces made single spaces, and cut into character
`shingle_chars`-grams (characters, not words: Thai, Khmer and Lao write no spaces between words). A page whose
signature an earlier page's matches at an estimated Jaccard similarity of at least `threshold` joins that
page's cluster: `near_duplicate_of` names the cluster's earliest page, `near_duplicate_cluster` is that page's
id (a page's own id when it is the first), so `WHERE near_duplicate_of IS NULL` keeps one page a cluster.
The signatures are stored in the page rows (`text_minhash`), so the next run starts from the whole dataset.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from configs.model import NearDuplicateOptions
from ocr_models.scripts import char_category

SCHEME = "affine32"  # datasketch's permutation scheme: 32-bit hash values, what text_minhash stores


def normal_text(text: str) -> str:
    """Lower case, with every run of punctuation, symbols and spaces one space (letters and marks kept)."""
    lowered = text.lower()
    spaces = {ord(char): " " for char in set(lowered) if char_category(char)[0] in "PSZC"}  # a hundred distinct ones
    return " ".join(lowered.translate(spaces).split())



@functools.lru_cache(maxsize=4)
def shared_permutations(num_perm: int) -> Any:
    """The MinHash permutations every signature of `num_perm` values uses (seed 1): made once a process."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=1, scheme=SCHEME).permutations


def signature(text: str | None, options: NearDuplicateOptions) -> np.ndarray | None:
    """The MinHash of a text; None when it is too short to compare (`min_chars`)."""
    from datasketch import MinHash

    normal = normal_text(text or "")
    if len(normal) < options.min_chars:
        return None
    size = options.shingle_chars
    minhash = MinHash(num_perm=options.num_perm, permutations=shared_permutations(options.num_perm), scheme=SCHEME)
    minhash.update_batch({normal[i:i + size].encode() for i in range(len(normal) - size + 1)})
    return minhash.hashvalues.astype(np.uint32)


WEIGHTS = (0.2, 0.8)  # of false positives and false negatives, in choosing the bands


@functools.lru_cache(maxsize=8)
def bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """The LSH's bands and rows per band, as datasketch chooses them (by numerical integration, 0.2-0.6 s:
    made once a process, not once for every unit's index)."""
    from datasketch import MinHashLSH

    chosen = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=WEIGHTS)
    return chosen.b, chosen.r


class NearDuplicates:
    """Signatures of pages, in the order they were written, and the cluster each belongs to."""

    def __init__(self, options: NearDuplicateOptions, permutations: Any = None) -> None:
        from datasketch import MinHash, MinHashLSH

        self.options = options
        self._minhash = MinHash
        self.permutations = permutations if permutations is not None else shared_permutations(options.num_perm)
        # LSH only proposes candidates (each is checked against the threshold below), so its bands favour
        # recall: with datasketch's even weights, 2 of 51 real second scans at an estimated 0.55-0.62 were never
        # proposed; weighted 0.2/0.8, all above the threshold were, and no different page joined a cluster
        self.lsh = MinHashLSH(threshold=options.threshold, num_perm=options.num_perm, weights=WEIGHTS,
                              params=bands(options.threshold, options.num_perm))
        self.signatures: dict[str, np.ndarray] = {}
        self.cluster: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def sibling(self) -> NearDuplicates:
        """An empty index of the same kind: a unit's pages until the unit commits."""
        return NearDuplicates(self.options, self.permutations)

    def signature(self, text: str | None) -> np.ndarray | None:
        return signature(text, self.options)

    def add(self, page_id: str, cluster: str, signature: np.ndarray) -> None:
        if page_id in self.signatures:
            return
        self.lsh.insert(page_id, self._sketch(signature))
        self.signatures[page_id], self.cluster[page_id] = signature, cluster
        self.order[page_id] = len(self.order)

    def _sketch(self, signature: np.ndarray) -> Any:
        return self._minhash(num_perm=self.options.num_perm, hashvalues=signature, permutations=self.permutations,
                             scheme=SCHEME)

    def match(self, signature: np.ndarray) -> str | None:
        """The cluster (its earliest page's id) of the earliest page whose text this one nearly repeats."""
        candidates = self.lsh.query(self._sketch(signature))
        close = [page for page in candidates  # LSH proposes; the signatures' own estimate decides
                 if float(np.mean(self.signatures[page] == signature)) >= self.options.threshold]
        return self.cluster[min(close, key=self.order.__getitem__)] if close else None

    def merge(self, other: NearDuplicates) -> None:
        """Add another index's pages after this one's, in their order."""
        for page_id in sorted(other.order, key=other.order.__getitem__):
            self.add(page_id, other.cluster[page_id], other.signatures[page_id])
