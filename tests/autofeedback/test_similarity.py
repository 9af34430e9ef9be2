"""TF-IDF similarity against numbers worked out by hand (scikit-learn's weighting:
idf = ln((1 + n) / (1 + df)) + 1, L2-normalised vectors)."""

from __future__ import annotations

import math

import pytest

from app.domain.autofeedback.similarity import TfidfIndex, text_of, tokens

IDF_ONE = math.log(3 / 2) + 1  # a term in one of two documents: 1.405465...
NORM = math.sqrt(1 + IDF_ONE**2)  # |(1, 1.405465)| = 1.724915...


def test_tokens_are_lower_case_words_of_two_or_more_characters() -> None:
    assert tokens("A Café, a BIG-deal: x 42!") == ["café", "big", "deal", "42"]


def test_text_of_json_values() -> None:
    assert text_of("plain") == "plain"
    assert text_of(None) == ""
    assert text_of({"b": 1, "a": "x"}) == '{"a": "x", "b": 1}'


def test_similarities_by_hand() -> None:
    index = TfidfIndex(["apple banana", "apple cherry"])
    assert index.idf == pytest.approx({"apple": 1.0, "banana": IDF_ONE, "cherry": IDF_ONE})
    # "banana" alone: unit vector on banana; doc 1 has banana weight 1.405465 / 1.724915.
    assert index.similarities("banana") == pytest.approx([IDF_ONE / NORM, 0.0])
    assert index.similarities("apple") == pytest.approx([1 / NORM, 1 / NORM])
    # The same words as doc 1: cosine 1 with it; with doc 2 only apple is shared.
    assert index.similarities("banana apple") == pytest.approx([1.0, 1 / NORM**2])
    # Words no document has are ignored; nothing shared is 0.
    assert index.similarities("durian") == [0.0, 0.0]
    assert index.similarities("banana durian durian") == pytest.approx([IDF_ONE / NORM, 0.0])


def test_term_counts_weigh_in() -> None:
    index = TfidfIndex(["apple banana", "apple cherry"])
    # Query "banana banana apple": (apple 1, banana 2 * 1.405465), normalised.
    query_norm = math.sqrt(1 + (2 * IDF_ONE) ** 2)
    expected_doc1 = (1 * 1 + 2 * IDF_ONE * IDF_ONE) / (query_norm * NORM)
    expected_doc2 = 1 / (query_norm * NORM)
    assert index.similarities("banana banana apple") == pytest.approx(
        [expected_doc1, expected_doc2]
    )


def test_empty_index() -> None:
    assert TfidfIndex([]).similarities("anything") == []
    assert TfidfIndex(["", "apple"]).similarities("apple") == pytest.approx([0.0, 1.0])
