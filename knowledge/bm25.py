"""Okapi BM25 over an inverted index: a query only touches the postings of its own terms, so
scoring stays fast on a corpus of many thousand passages without a numeric library."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


class BM25Index:
    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        self.lengths = [len(doc) for doc in documents]
        self.average_length = (sum(self.lengths) / self.size) if self.size else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, doc in enumerate(documents):
            for term, count in Counter(doc).items():
                self.postings.setdefault(term, []).append((index, count))
        self.idf = {term: self._idf(len(posts)) for term, posts in self.postings.items()}

    def _idf(self, document_frequency: int) -> float:
        # The "+1" form stays positive for terms found in most passages.
        return math.log(1 + (self.size - document_frequency + 0.5) / (document_frequency + 0.5))

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        """Document index → score, for documents sharing at least one term with the query."""
        found: dict[int, float] = {}
        k1, b, average = self.k1, self.b, self.average_length or 1.0
        for term, weight in Counter(query).items():
            posts = self.postings.get(term)
            if not posts:
                continue
            idf = self.idf[term] * weight
            for index, count in posts:
                norm = k1 * (1 - b + b * self.lengths[index] / average)
                found[index] = found.get(index, 0.0) + idf * count * (k1 + 1) / (count + norm)
        return found
