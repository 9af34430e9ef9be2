"""What LangSmith's run filter language means over Plaudit's runs: a filter (its
syntax in filter_syntax.py) becomes a Condition, a test of a run (run_filters.py
adds /runs/query's other arguments and chooses the index to walk).

Functions: ``and or not`` (any number of arguments; ``not`` one), ``eq neq gt gte
lt lte in has search``. Fields, and what each compares:

- ``id trace_id parent_run_id session_id`` (the tracing project): ids; ``eq neq in``.
- ``name run_type status thread_id user_id model``: text; ``eq neq in search``.
- ``error``: text or null; ``eq neq in search``, and ``eq(error, true)`` for "failed".
- ``start_time end_time``: ISO 8601 times; ``latency`` (seconds), ``total_tokens
  prompt_tokens completion_tokens``: numbers; ``eq neq gt gte lt lte in``.
- ``tags``: ``has eq neq in`` (membership).
- ``is_root``: ``eq neq`` with true or false.
- ``metadata``: ``has(metadata, '{"k": "v"}')`` (every pair present) or
  ``has(metadata, "k")`` (the key present); ``metadata_key``/``metadata_value``:
  in one ``and``, one ``eq(metadata_key, k)`` and ``metadata_value`` comparisons
  compare that key's value; alone, any key or any value.
- ``feedback_key``/``feedback_score``: in one ``and``, ``eq(feedback_key, k)`` and
  score comparisons: the run has live feedback on ``k`` with such a score
  (booleans count as 1 and 0). Alone, ``feedback_key`` is any feedback on ``k``.
- ``search(text)``: the text anywhere in name, error, tags, inputs, outputs or
  metadata, ignoring case.

Anything else is refused, naming it.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.compat.langsmith import run_mapping
from app.compat.langsmith.filter_syntax import Arg, Call, Literal, Name, Value, Values
from app.compat.langsmith.filter_syntax import syntax_error as error_at
from app.domain import validation as v
from app.domain.run_search import MAX_IDS
from app.errors import BadRequest
from app.store.runs import Run

COMPARISONS = ("eq", "neq", "gt", "gte", "lt", "lte")
FUNCTIONS = ("and", "or", "not", *COMPARISONS, "in", "has", "search")
# LangSmith fields Plaudit does not keep.
NOT_KEPT = (
    "execution_order",
    "total_cost",
    "prompt_cost",
    "completion_cost",
    "first_token_time",
    "reference_example_id",
    "reference_dataset_id",
    "feedback_value",
    "app_path",
    "trace_first_received_at",
)


# ---- Conditions: each a test of a run, and what the walk may use of it.


class Condition:
    def test(self, run: Run) -> bool:
        raise NotImplementedError

    def parts(self) -> Iterator[Condition]:
        """The conditions every matching run meets (the items of an and())."""
        yield self

    def children(self) -> list[Condition]:
        return []

    def reads_inputs(self) -> bool:
        return any(c.reads_inputs() for c in self.children())


@dataclass
class AllOf(Condition):
    items: list[Condition]

    def test(self, run: Run) -> bool:
        return all(c.test(run) for c in self.items)

    def parts(self) -> Iterator[Condition]:
        for item in self.items:
            yield from item.parts()

    def children(self) -> list[Condition]:
        return list(self.items)


@dataclass
class AnyOf(Condition):
    items: list[Condition]

    def test(self, run: Run) -> bool:
        return any(c.test(run) for c in self.items)

    def children(self) -> list[Condition]:
        return list(self.items)


@dataclass
class Negated(Condition):
    item: Condition

    def test(self, run: Run) -> bool:
        return not self.item.test(run)

    def children(self) -> list[Condition]:
        return [self.item]


@dataclass
class Compare(Condition):
    """``field op value`` (``in``: one of ``value``, a list)."""

    field: str
    op: str
    value: Any
    get: Callable[[Run], Any]
    check: Callable[[Any, str, Any], bool]

    def test(self, run: Run) -> bool:
        return self.check(self.get(run), self.op, self.value)


@dataclass
class Predicate(Condition):
    test_run: Callable[[Run], bool]
    needs_inputs: bool = False

    def test(self, run: Run) -> bool:
        return self.test_run(run)

    def reads_inputs(self) -> bool:
        return self.needs_inputs


@dataclass
class HasFeedback(Condition):
    """Live feedback on ``key`` with a score meeting every ``(op, number)``; the
    matching run ids are looked up before the search (``resolve``)."""

    key: str
    scores: list[tuple[str, float]]
    run_ids: set[str] | None = field(default=None)

    def test(self, run: Run) -> bool:
        assert self.run_ids is not None, "resolve() first"
        return run.id in self.run_ids


# ---- Comparing values


def _ordered(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return False
    compare: Callable[[Any, Any], bool] = {
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }[op]
    return compare(left, right)


def compare_scalar(actual: Any, op: str, wanted: Any) -> bool:
    if op == "in":
        return any(actual == w for w in wanted)
    if op == "eq":
        return bool(actual == wanted)
    if op == "neq":
        return bool(actual != wanted)
    return _ordered(op, actual, wanted)


def _members(actual: list[str], op: str, wanted: Any) -> bool:
    if op == "in":
        return any(w in actual for w in wanted)
    return (wanted in actual) == (op in ("eq", "has"))


def compare_error(actual: str | None, op: str, wanted: Any) -> bool:
    if op == "in":
        return any(compare_error(actual, "eq", w) for w in wanted)
    same = (actual is not None) == wanted if isinstance(wanted, bool) else actual == wanted
    return same if op == "eq" else not same


def _contains(haystack: Any, needle: str) -> bool:
    """``needle`` (case-folded) in any text of a JSON value, keys included."""
    if isinstance(haystack, str):
        return needle in haystack.casefold()
    if isinstance(haystack, dict):
        return any(_contains(k, needle) or _contains(x, needle) for k, x in haystack.items())
    if isinstance(haystack, list):
        return any(_contains(x, needle) for x in haystack)
    return False


def _metadata(run: Run) -> dict[str, Any]:
    raw = run.metadata
    return (
        {k: x for k, x in raw.items() if k != run_mapping.RUN_TYPE} if isinstance(raw, dict) else {}
    )


def _latency(run: Run) -> float | None:
    return run.latency_ms / 1000 if run.latency_ms is not None else None


# ---- Fields


@dataclass(frozen=True)
class Field:
    kind: str  # id | text | error | time | number | tags | bool
    get: Callable[[Run], Any]
    ops: tuple[str, ...]


ID_OPS = ("eq", "neq", "in")
TEXT_OPS = ("eq", "neq", "in", "search")
ORDERED_OPS = (*COMPARISONS, "in")
FIELDS: dict[str, Field] = {
    "id": Field("id", lambda r: r.id, ID_OPS),
    "trace_id": Field("id", lambda r: r.trace_id or r.id, ID_OPS),
    "parent_run_id": Field("id", lambda r: r.parent_run_id, ID_OPS),
    "session_id": Field("id", lambda r: r.tracing_project_id, ID_OPS),
    "name": Field("text", lambda r: r.name or "", TEXT_OPS),
    "run_type": Field("text", run_mapping.run_type, TEXT_OPS),
    "status": Field("text", run_mapping.status, TEXT_OPS),
    "thread_id": Field("text", lambda r: r.session_id, TEXT_OPS),
    "user_id": Field("text", lambda r: r.user_id, TEXT_OPS),
    "model": Field("text", lambda r: r.model, TEXT_OPS),
    "error": Field("error", lambda r: r.error, TEXT_OPS),
    "start_time": Field("time", lambda r: r.start_time, ORDERED_OPS),
    "end_time": Field("time", lambda r: r.end_time, ORDERED_OPS),
    "latency": Field("number", _latency, ORDERED_OPS),
    "total_tokens": Field("number", lambda r: r.total_tokens, ORDERED_OPS),
    "prompt_tokens": Field("number", lambda r: r.prompt_tokens, ORDERED_OPS),
    "completion_tokens": Field("number", lambda r: r.completion_tokens, ORDERED_OPS),
    "tags": Field("tags", lambda r: r.tags, ("has", "eq", "neq", "in")),
    "is_root": Field("bool", lambda r: r.parent_run_id is None, ("eq", "neq")),
}
PAIRED = ("metadata", "metadata_key", "metadata_value", "feedback_key", "feedback_score")


def _known_fields() -> str:
    return ", ".join(sorted((*FIELDS, *PAIRED)))


def _time(value: Literal, at: int) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise error_at(f"expected an ISO 8601 time, got {value!r}", at)


def _typed(spec: Field, name: str, value: Literal, at: int) -> Any:
    """A literal as the field's values are: refused when it cannot be one."""
    if spec.kind == "id":
        if value is None and name == "parent_run_id":
            return None
        if isinstance(value, str):
            try:
                return v.check_uuid(value, name)
            except BadRequest:
                pass
        raise error_at(f"{name} is compared with a run id (a UUID), got {value!r}", at)
    if spec.kind == "time":
        return _time(value, at)
    if spec.kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise error_at(f"{name} is compared with a number, got {value!r}", at)
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        raise error_at(f"{name} is compared with true or false, got {value!r}", at)
    if spec.kind == "error" and (value is None or isinstance(value, bool | str)):
        return value
    if isinstance(value, str) or (value is None and spec.kind == "text"):
        return value
    raise error_at(f"{name} is compared with text, got {value!r}", at)


# ---- Reading the tree


def _field_name(arg: Arg, call: Call) -> tuple[str, int]:
    if not isinstance(arg, Name):
        raise error_at(f"{call.name}() takes a field first", call.at)
    name = arg.name
    if name in NOT_KEPT:
        raise error_at(f"Plaudit does not keep the field {name!r}", arg.at)
    if name not in FIELDS and name not in PAIRED:
        raise error_at(f"unknown field {name!r}", arg.at, f"Plaudit filters on {_known_fields()}")
    return name, arg.at


def _literal(arg: Arg, call: Call) -> Literal:
    if isinstance(arg, Value):
        return arg.value
    if isinstance(arg, Name):
        raise error_at(f"expected a value, found the name {arg.name!r} (quote text)", arg.at)
    raise error_at(f"{call.name}() takes one value here", call.at)


def _values(arg: Arg, call: Call) -> tuple[Literal, ...]:
    if not isinstance(arg, Values):
        raise error_at("in() takes a list of values: in(field, [a, b])", call.at)
    if len(arg.values) > MAX_IDS:
        raise error_at(f"in() takes at most {MAX_IDS} values", call.at)
    return arg.values


def _arity(call: Call, count: int) -> None:
    if len(call.args) != count:
        raise error_at(f"{call.name}() takes {count} argument(s), got {len(call.args)}", call.at)


def _search_text(call: Call, arg: Arg) -> str:
    text = _literal(arg, call)
    if not isinstance(text, str) or not text:
        raise error_at("search() looks for a non-empty text", call.at)
    return text.casefold()


def _full_text(needle: str) -> Predicate:
    def test(run: Run) -> bool:
        return any(
            _contains(part, needle)
            for part in (run.name, run.error, run.tags, run.inputs, run.outputs, _metadata(run))
        )

    return Predicate(test, needs_inputs=True)


def _has_metadata(call: Call, arg: Arg) -> Predicate:
    raw = _literal(arg, call)
    if not isinstance(raw, str):
        raise error_at("has(metadata, ...) takes a JSON object or a key, as text", call.at)
    try:
        wanted = json.loads(raw)
    except ValueError:
        wanted = None
    if isinstance(wanted, dict):
        pairs = wanted
        return Predicate(
            lambda run: all(
                k in _metadata(run) and _metadata(run)[k] == x for k, x in pairs.items()
            )
        )
    return Predicate(lambda run: raw in _metadata(run))


def _comparison(call: Call) -> Condition:
    if call.name == "search" and len(call.args) == 1:
        return _full_text(_search_text(call, call.args[0]))
    _arity(call, 2)
    name, _ = _field_name(call.args[0], call)
    if name == "metadata":
        if call.name != "has":
            raise error_at("metadata takes has(metadata, ...)", call.at)
        return _has_metadata(call, call.args[1])
    if name in ("metadata_key", "metadata_value", "feedback_key", "feedback_score"):
        return _paired(name, call)
    spec = FIELDS[name]
    if call.name not in spec.ops:
        raise error_at(
            f"{call.name}() does not apply to {name}", call.at, f"use {', '.join(spec.ops)}"
        )
    if call.name == "search":
        needle = _search_text(call, call.args[1])
        get = spec.get
        return Predicate(lambda run: _contains(get(run), needle))
    if call.name == "in":
        value: Any = [_typed(spec, name, x, call.at) for x in _values(call.args[1], call)]
    else:
        value = _typed(spec, name, _literal(call.args[1], call), call.args[1].at)
    checks: dict[str, Callable[[Any, str, Any], bool]] = {"tags": _members, "error": compare_error}
    return Compare(name, call.name, value, spec.get, checks.get(spec.kind, compare_scalar))


@dataclass
class _Pair(Condition):
    """One half of a metadata_key/metadata_value or feedback_key/feedback_score
    pair, until its and() puts the halves together."""

    name: str
    op: str
    value: Any
    at: int

    def test(self, run: Run) -> bool:
        raise AssertionError("paired in _pair_up")


def _paired(name: str, call: Call) -> Condition:
    if call.name not in (*COMPARISONS, "in"):
        raise error_at(f"{call.name}() does not apply to {name}", call.at)
    if call.name == "in":
        value: Any = list(_values(call.args[1], call))
    else:
        value = _literal(call.args[1], call)
    texts = value if call.name == "in" else [value]
    if name in ("metadata_key", "feedback_key") and (
        call.name not in ("eq", "neq", "in") or not all(isinstance(x, str) for x in texts)
    ):
        raise error_at(f"{name} is compared with eq, neq or in, and text", call.at)
    if name == "feedback_score":
        numbers = value if call.name == "in" else [value]
        if call.name == "in" or not all(isinstance(x, int | float) for x in numbers):
            raise error_at("feedback_score is compared with a number (eq, neq, gt...)", call.at)
    return _Pair(name, call.name, value, call.at)


def _metadata_test(key: str | None, op: str, value: Any) -> Predicate:
    """The value of ``key`` (any value, without a key) ``op`` ``value``."""

    def test(run: Run) -> bool:
        found = _metadata(run)
        if key is None:
            return any(compare_scalar(x, op, value) for x in found.values())
        return key in found and compare_scalar(found[key], op, value)

    return Predicate(test)


def _key_present(op: str, value: Any) -> Predicate:
    keys = value if op == "in" else [value]
    present = op != "neq"
    return Predicate(lambda run: any(k in _metadata(run) for k in keys) == present)


def _pair_up(items: list[Condition], at: int) -> list[Condition]:
    """In one and(): metadata_key with metadata_value, feedback_key with
    feedback_score."""
    pairs = [c for c in items if isinstance(c, _Pair)]
    rest = [c for c in items if not isinstance(c, _Pair)]
    by_name: dict[str, list[_Pair]] = {}
    for pair in pairs:
        by_name.setdefault(pair.name, []).append(pair)
    keys = [p for p in by_name.get("metadata_key", []) if p.op == "eq"]
    other_keys = [p for p in by_name.get("metadata_key", []) if p.op != "eq"]
    values = by_name.get("metadata_value", [])
    if len(keys) == 1 and values:
        rest += [_metadata_test(keys[0].value, p.op, p.value) for p in values]
    else:
        rest += [_key_present("eq", p.value) for p in keys]
        rest += [_metadata_test(None, p.op, p.value) for p in values]
    rest += [_key_present(p.op, p.value) for p in other_keys]
    feedback_keys = by_name.get("feedback_key", [])
    scores = by_name.get("feedback_score", [])
    if scores and (len(feedback_keys) != 1 or feedback_keys[0].op != "eq"):
        raise error_at(
            "feedback_score needs exactly one eq(feedback_key, ...) beside it in the same and()",
            scores[0].at,
        )
    for key in feedback_keys:
        if key.op == "neq":
            raise error_at("feedback_key takes eq or in", key.at)
        names = key.value if key.op == "in" else [key.value]
        found: list[Condition] = [
            HasFeedback(k, [(p.op, float(p.value)) for p in scores]) for k in names
        ]
        rest.append(found[0] if len(found) == 1 else AnyOf(found))
    return rest


def compile_filter(node: Arg) -> Condition:
    if not isinstance(node, Call):
        raise error_at("expected a function such as eq(...)", node.at)
    if node.name not in FUNCTIONS:
        raise error_at(
            f"unknown function {node.name!r}", node.at, f"Plaudit's are {', '.join(FUNCTIONS)}"
        )
    if node.name in ("and", "or", "not"):
        if not node.args or (node.name == "not" and len(node.args) != 1):
            needs = "one condition" if node.name == "not" else "conditions"
            raise error_at(f"{node.name}() takes {needs}", node.at)
        items = [compile_filter(arg) for arg in node.args]
        if node.name == "not":
            return Negated(whole(items, node.at))
        if node.name == "or":
            return AnyOf([whole([c], node.at) for c in items])
        return AllOf(_pair_up(items, node.at))
    return _comparison(node)


def whole(items: list[Condition], at: int) -> Condition:
    """Conditions outside an and(): a lone half of a pair stands on its own."""
    paired = _pair_up(items, at)
    return paired[0] if len(paired) == 1 else AllOf(paired)


def walk(condition: Condition) -> Iterator[Condition]:
    """The condition and every condition inside it."""
    yield condition
    for child in condition.children():
        yield from walk(child)
