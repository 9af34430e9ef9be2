"""The filter language's parser on its own: what it reads, and where it says a
filter is wrong."""

from __future__ import annotations

import pytest

from app.compat.langsmith.filter_syntax import MAX_DEPTH, Call, Name, Value, Values, parse
from app.errors import BadRequest


def test_calls_names_and_literals() -> None:
    text = 'and(eq(name, "a \\"b\\" \\u00e9"), gt(latency, -1.5e1), '
    tree = parse(text + "in(tags, ['x', 2, true, null]))")
    assert tree.name == "and" and len(tree.args) == 3
    eq, gt, within = tree.args
    assert isinstance(eq, Call) and eq.args == (Name("name", 7), Value('a "b" é', 13))
    assert isinstance(gt, Call) and gt.args[1] == Value(-15.0, 44)
    assert isinstance(within, Call) and isinstance(within.args[1], Values)
    assert within.args[1].values == ("x", 2, True, None)


def test_a_top_level_list_is_an_and_and_names_are_case_insensitive() -> None:
    tree = parse('EQ(name, "a"), has(tags, "b")')
    assert tree.name == "and" and [c.name for c in tree.args if isinstance(c, Call)] == [
        "eq",
        "has",
    ]
    assert parse("eq(error, NULL)").args[1] == Value(None, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "filter: empty"),
        ("eq(name", "expected ')', found the end at character 8"),
        ("eq(name, 'a') x", "unexpected 'x' at character 15"),
        ("eq(name, @)", "unexpected '@' at character 10"),
        ('eq(name, "a)', "unterminated string at character 10"),
        ('eq(name, "\\u12")', "\\u needs four hex digits at character 11"),
        ("(eq)", "expected a function such as eq(...), found '(' at character 1"),
        ("in(tags, [a])", "expected a value in the list, found 'a' at character 11"),
        ("eq(,)", "expected a field, a value or a call, found ',' at character 4"),
        ("not(" * (MAX_DEPTH + 2) + "eq(a, 1)", f"nested more than {MAX_DEPTH} calls deep"),
        ("eq(name, '" + "x" * 10_000 + "')", "longer than 10000 characters"),
    ],
)
def test_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse(text)
    assert message in raised.value.message
    assert raised.value.details == {"field": "filter"}
