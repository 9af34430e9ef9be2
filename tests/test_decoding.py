"""app/decoding.py on its own: what it takes, what it refuses, and the message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.decoding import (
    MAX_NESTING,
    InvalidJson,
    NumberOutOfRange,
    check_json_value,
    check_query_string,
    decode_form,
    decode_json,
    parse_number,
)
from app.errors import BadRequest

# Text that trips naive scanners: brackets, quotes and backslashes in strings.
TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\/:,u0d8aé😀 '), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=20,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_valid_json_decodes_as_json_loads_does(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert decode_json(raw) == json.loads(raw)


@st.composite
def nested(draw: st.DrawFn) -> tuple[Any, int]:
    """A value nested around the limit: a spine of lists and objects, with strings
    full of brackets and escapes and shallow values beside it at some levels."""
    levels = draw(st.integers(MAX_NESTING - 3, MAX_NESTING + 3))
    kinds = draw(st.lists(st.booleans(), min_size=levels, max_size=levels))
    keys = draw(st.lists(TRICKY_TEXT, min_size=1, max_size=4))
    shallow = JSON_VALUES.filter(lambda v: depth(v) < 3)
    # Chains deeper than the scan peels off cheaply, so its exact count runs too.
    chains = st.integers(8, 12).map(lambda n: json.loads("[" * n + "]" * n))
    beside = draw(st.dictionaries(st.integers(0, levels - 1), shallow | chains, max_size=40))
    value: Any = draw(TRICKY_TEXT)
    for level, is_list in enumerate(kinds):
        items = [beside[level], value] if level in beside else [value]
        keyed = {keys[i % len(keys)] + str(i): v for i, v in enumerate(items)}
        value = items if is_list else keyed
    return value, depth(value)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(case=nested(), ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_nesting_is_refused_exactly_past_the_limit(
    case: tuple[Any, int], ascii_only: bool, indent: int | None
) -> None:
    value, levels = case
    raw = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    if levels <= MAX_NESTING:
        assert decode_json(raw) == value
    else:
        with pytest.raises(InvalidJson, match=f"nested more than {MAX_NESTING} levels"):
            decode_json(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b"[" * 4_000_000,  # never closed
        b"[" * 100 + b"{}," * 100_000 + b"[" * 100,
    ],
)
def test_deep_bodies_are_refused_without_parsing(raw: bytes) -> None:
    with pytest.raises(InvalidJson, match="nested more than 128 levels deep"):
        decode_json(raw)


def test_brackets_inside_strings_do_not_count() -> None:
    raw = json.dumps({"a": "[" * 5000, "b": '\\"[' * 500, "c": "{" * 300}).encode()
    assert decode_json(raw)["a"] == "[" * 5000


def test_invalid_utf8_names_the_byte() -> None:
    with pytest.raises(InvalidJson, match=r"the request body is not valid UTF-8 \(byte 14\)"):
        decode_json(b'{"query":"{ a \xff }"}')
    for raw in (b'"\xed\xa0\x80"', '{"a":1}'.encode("utf-16"), b'"\xc0\xaf"'):
        with pytest.raises(InvalidJson, match="not valid UTF-8"):
            decode_json(raw)


@pytest.mark.parametrize(
    ("raw", "field", "half"),
    [
        (b'{"token": "\\ud800"}', "token", "U+D800"),
        (b'{"a": {"comment": "x\\udc00y"}}', "a.comment", "U+DC00"),
        (b'{"a": ["\\ude00\\ud83d"]}', "a[0]", "U+DE00"),
        (b'{"a": "\\\\ud83d\\ude00"}', "a", "U+DE00"),  # the first half is text
        (b'{"a": "\\ud83d\\\\ude00"}', "a", "U+D83D"),  # the second half is text
        (b'{"\\udbff": 1}', "\\udbff", "U+DBFF"),  # a key, shown escaped
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(raw: bytes, field: str, half: str) -> None:
    with pytest.raises(InvalidJson) as refused:
        decode_json(raw)
    assert refused.value.details == {"field": field}
    assert f"{field} holds a lone UTF-16 surrogate ({half})" in refused.value.message
    refused.value.message.encode("utf-8")  # the message itself can be sent


def test_surrogate_pairs_and_escaped_backslashes_are_text() -> None:
    assert decode_json(b'["\\ud83d\\ude00", "\\uD83D\\uDE00", "\\\\ud800"]') == [
        "😀",
        "😀",
        "\\ud800",
    ]


@pytest.mark.parametrize("number", [2**63 - 1, -(2**63), 0, 10**18, 1e308, -1e308, 5e-324])
def test_numbers_that_fit_are_taken(number: int | float) -> None:
    assert decode_json(json.dumps({"n": [number]}).encode()) == {"n": [number]}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (str(2**63), str(2**63)),
        (str(-(2**63) - 1), str(-(2**63) - 1)),
        (str(2**64), str(2**64)),
        ("9" * 400, "a 400-digit integer"),
        ("9" * 5000, "a 5000-digit integer"),  # past Python's int-from-text limit
    ],
)
def test_integers_outside_64_bits_are_refused_naming_the_path(text: str, shown: str) -> None:
    with pytest.raises(NumberOutOfRange) as refused:
        decode_json(b'{"inputs": {"x": [1, ' + text.encode() + b"]}}")
    assert refused.value.details == {"field": "inputs.x[1]"}
    assert refused.value.message.startswith(f"inputs.x[1] is {shown}, outside the signed 64-bit")
    assert refused.value.http_status == 400 and refused.value.code == "NUMBER_OUT_OF_RANGE"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"[99999999999999999999, ", InvalidJson),  # cut short after the number
        (b"[99999999999999999999, NaN]", NumberOutOfRange),
        (b"[NaN, 99999999999999999999]", InvalidJson),
        (b'["\\ud800", 99999999999999999999]', InvalidJson),  # the first problem
    ],
)
def test_a_number_that_does_not_fit_and_something_else(raw: bytes, error: type[BadRequest]) -> None:
    with pytest.raises(error):
        decode_json(raw)


@pytest.mark.parametrize("text", ["1e400", "-1E+999", "1" + "0" * 400 + ".5"])
def test_floats_that_overflow_are_refused(text: str) -> None:
    with pytest.raises(NumberOutOfRange, match=r"score is .* too large for a 64-bit float"):
        decode_json(b'{"score": ' + text.encode() + b"}")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    with pytest.raises(InvalidJson, match=f"{text} is not a JSON value"):
        decode_json(b'{"score": ' + text.encode() + b"}")


def test_the_whole_body_can_be_the_problem() -> None:
    with pytest.raises(NumberOutOfRange, match=r"^the cursor is 18446744073709551616") as refused:
        decode_json(str(2**64), "the cursor")
    assert refused.value.details == {}


def test_graphql_literals_get_the_same_checks() -> None:
    assert check_json_value({"a": [1, 2.5, "x"]}, "the JSON value") == {"a": [1, 2.5, "x"]}
    with pytest.raises(NumberOutOfRange, match=r"^a\[1\]\.b is 2361183241434822606848"):
        check_json_value({"a": [1, {"b": 2**71}]}, "the JSON value")
    with pytest.raises(InvalidJson, match="nested more than 128"):
        check_json_value(json.loads("[" * 200 + "]" * 200), "the JSON value")
    with pytest.raises(NumberOutOfRange, match="too large for a 64-bit float"):
        check_json_value([float("inf")], "the JSON value")


@pytest.mark.parametrize(
    ("text", "number"), [("12", 12), (" -3 ", -3), ("1.5", 1.5), ("007", 7), ("1e3", 1000.0)]
)
def test_form_numbers(text: str, number: float) -> None:
    assert parse_number(text, "score") == number


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("9" * 300, NumberOutOfRange),
        (str(2**63), NumberOutOfRange),
        ("1e400", NumberOutOfRange),
        ("nan", BadRequest),
        ("inf", BadRequest),
        ("1_0", BadRequest),
        ("\u0661", BadRequest),  # float() takes an Arabic-Indic 1; a form score does not
    ],
)
def test_form_numbers_refused(text: str, error: type[BadRequest]) -> None:
    with pytest.raises(error):
        parse_number(text, "score")


def test_forms_and_query_strings_must_be_utf8() -> None:
    assert decode_form(b"comment=caf%C3%A9&score=1", 10) == {"comment": ["café"], "score": ["1"]}
    for body in (b"comment=%ED%A0%80", b"comment=%FF", b"comment=\xff"):
        with pytest.raises(BadRequest, match="the form is not valid UTF-8"):
            decode_form(body, 10)
    check_query_string(b"key=caf%C3%A9&since=2025-01-01")
    for raw in (b"key=%FF", b"key=%ED%A0%80", b"key=\xff"):
        with pytest.raises(BadRequest, match="the query string is not valid UTF-8"):
            check_query_string(raw)
