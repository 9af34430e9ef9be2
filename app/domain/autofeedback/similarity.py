"""Cheap text similarity: TF-IDF vectors compared by cosine.

A small pure-Python TF-IDF rather than scikit-learn: the corpora here are a task's
labelled runs (a few thousand short texts at most, loaded once per job), which an
inverted index handles in milliseconds, and scikit-learn would bring numpy and scipy
(well over 100 MB) into a web service for this one use.

The weighting is scikit-learn's default, so results can be checked against it:
term frequency is the raw count, ``idf(t) = ln((1 + n) / (1 + df(t))) + 1`` (smoothed),
and each vector is L2-normalised, so the cosine is the dot product. Terms are
lower-cased word characters (``\\w+``, Unicode) of two or more characters. A query's
terms that no document has are ignored, as in scikit-learn.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

TOKEN = re.compile(r"\w\w+", re.UNICODE)
# Characters of a run's inputs and outputs looked at; the rest is ignored.
MAX_TEXT_CHARS = 20_000


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def text_of(value: Any) -> str:
    """The text of a run's inputs or outputs: strings as they are, other JSON values
    as JSON (keys sorted) so their keys and values are words too."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:MAX_TEXT_CHARS]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)[:MAX_TEXT_CHARS]


class TfidfIndex:
    """TF-IDF vectors of a fixed list of documents; ``similarities`` of a query to
    each, in document order."""

    def __init__(self, documents: Sequence[str]) -> None:
        self.size = len(documents)
        counts = [Counter(tokens(doc)) for doc in documents]
        df: Counter[str] = Counter()
        for count in counts:
            df.update(count.keys())
        self.idf = {term: math.log((1 + self.size) / (1 + n)) + 1 for term, n in df.items()}
        # term -> [(document, weight)], the weights of each document L2-normalised
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for i, count in enumerate(counts):
            vector = self._weigh(count)
            for term, weight in vector.items():
                self._postings.setdefault(term, []).append((i, weight))

    def _weigh(self, count: Counter[str]) -> dict[str, float]:
        vector = {t: n * self.idf[t] for t, n in count.items() if t in self.idf}
        norm = math.sqrt(sum(w * w for w in vector.values()))
        return {t: w / norm for t, w in vector.items()} if norm else {}

    def vector(self, text: str) -> dict[str, float]:
        """The query's TF-IDF vector over this index's vocabulary."""
        return self._weigh(Counter(tokens(text)))

    def similarities(self, text: str) -> list[float]:
        """Cosine similarity of ``text`` to every document (0 when nothing is shared)."""
        scores = [0.0] * self.size
        for term, weight in self.vector(text).items():
            for doc, doc_weight in self._postings.get(term, ()):
                scores[doc] += weight * doc_weight
        return scores
