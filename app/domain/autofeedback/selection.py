"""Choosing the k examples a prompt shows, from the labels people gave.

Stratified across the values seen, preferring runs whose input is most like the
target run's (TF-IDF cosine, see ``similarity``):

1. Each example covers the (field, value) pairs of its label, over the fields
   calibration compares (numbers, booleans, enums; free text is left out).
2. Repeatedly take the most similar example that covers a pair not yet shown; once
   every pair seen is shown (or none left can add one), the most similar of the rest.
3. One example per run, never the target run itself. Ties in similarity (a run
   labelled by several people offers each of their labels) go to the example
   showing more values not yet shown, then to the newer label.

So a prompt shows each value people have used (as far as k allows), each time by
the example closest to the run being labelled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.domain.autofeedback.similarity import TfidfIndex, text_of
from app.domain.autofeedback.targets import Example
from app.domain.tasks.schemas import FieldKind
from app.store.runs import Run


def input_text(run: Run) -> str:
    return text_of(run.inputs)


def label_pairs(values: dict[str, Any], fields: Sequence[FieldKind]) -> set[tuple[str, str]]:
    """The (field, value) pairs a label shows; values as canonical JSON, so ``true``
    and ``1`` differ."""
    pairs = set()
    for f in fields:
        value = values.get(f.name)
        if value is not None:
            pairs.add((f.name, json.dumps(value, sort_keys=True)))
    return pairs


class ExamplePool:
    """People's labels (newest first), indexed by their runs' inputs."""

    def __init__(self, examples: Sequence[Example], fields: Sequence[FieldKind]) -> None:
        self.examples = list(examples)
        self.fields = list(fields)
        self.index = TfidfIndex([input_text(e.run) for e in self.examples])
        self._pairs = [label_pairs(e.values, self.fields) for e in self.examples]

    def __len__(self) -> int:
        return len(self.examples)

    def select(self, run: Run, k: int) -> list[Example]:
        """Up to ``k`` examples for labelling ``run``, least similar first (the most
        similar closest to the run in the prompt)."""
        similarity = self.index.similarities(input_text(run))
        order = sorted(range(len(self.examples)), key=lambda i: (-similarity[i], i))
        uncovered = set().union(*self._pairs) if self._pairs else set()
        seen_runs = {run.id}
        picked: list[int] = []
        while len(picked) < k:
            candidates = [i for i in order if self.examples[i].run.id not in seen_runs]
            if not candidates:
                break
            covering = [i for i in candidates if self._pairs[i] & uncovered]
            best = min(
                covering or candidates,
                key=lambda i: (-similarity[i], -len(self._pairs[i] & uncovered), i),
            )
            picked.append(best)
            uncovered -= self._pairs[best]
            seen_runs.add(self.examples[best].run.id)
        picked.sort(key=lambda i: (similarity[i], -i))
        return [self.examples[i] for i in picked]
