"""LangSmith's run filter language, read into a syntax tree.

    filter   := call ("," call)*            a list at the top is an and()
    call     := NAME "(" [arg ("," arg)*] ")"
    arg      := call | NAME | literal | "[" [literal ("," literal)*] "]"
    literal  := STRING | NUMBER | true | false | null

Strings are quoted with ``"`` or ``'`` (``\\`` escapes the next character, with
``\\n``, ``\\t`` and ``\\uXXXX`` as in JSON); names are letters, digits, ``_`` and
``.``. What the names mean is run_conditions.py's business. Errors say
what was expected and where (a 1-based character position)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import BadRequest

MAX_FILTER_CHARS = 10_000
MAX_DEPTH = 32

Literal = str | int | float | bool | None


@dataclass(frozen=True)
class Name:
    """A bare name: a field (``tags``), or ``true``/``false``/``null``."""

    name: str
    at: int


@dataclass(frozen=True)
class Value:
    value: Literal
    at: int


@dataclass(frozen=True)
class Values:
    values: tuple[Literal, ...]
    at: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...]
    at: int


Arg = Call | Name | Value | Values

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<punct>[(),\[\]])
    | (?P<quote>["'])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_KEYWORDS: dict[str, Literal] = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | punct | string | end
    text: str
    value: Literal
    at: int  # 0-based offset


def syntax_error(message: str, at: int, hint: str = "") -> BadRequest:
    """``filter: <message> at character <n>[; <hint>]``."""
    text = f"filter: {message} at character {at + 1}" + (f"; {hint}" if hint else "")
    return BadRequest(text, field="filter")


def _string(text: str, start: int) -> tuple[str, int]:
    """The string literal opened at ``start``; returns it and the offset after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            code = text[i + 1]
            if code == "u":
                digits = text[i + 2 : i + 6]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise syntax_error("\\u needs four hex digits", i)
                out.append(chr(int(digits, 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(code, code))
            i += 2
            continue
        out.append(char)
        i += 1
    raise syntax_error("unterminated string", start)


def tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if match is None:
            raise syntax_error(f"unexpected {text[i]!r}", i)
        kind = match.lastgroup
        assert kind is not None
        if kind == "quote":
            value, end = _string(text, i)
            found.append(_Token("string", text[i:end], value, i))
            i = end
            continue
        piece = match.group()
        if kind == "number":
            number: int | float = float(piece) if any(c in piece for c in ".eE") else int(piece)
            found.append(_Token(kind, piece, number, i))
        elif kind != "space":
            found.append(_Token(kind, piece, piece, i))
        i = match.end()
    found.append(_Token("end", "", None, len(text)))
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.i = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self, text: str) -> _Token:
        token = self.token
        if token.text != text or token.kind not in ("punct",):
            shown = repr(token.text) if token.kind != "end" else "the end"
            raise syntax_error(f"expected {text!r}, found {shown}", token.at)
        self.i += 1
        return token

    def filter(self) -> Call:
        first = self.call(0)
        calls = [first]
        while self.token.text == "," and self.token.kind == "punct":
            self.i += 1
            calls.append(self.call(0))
        if self.token.kind != "end":
            raise syntax_error(f"unexpected {self.token.text!r}", self.token.at)
        return first if len(calls) == 1 else Call("and", tuple(calls), first.at)

    def call(self, depth: int) -> Call:
        token = self.token
        if token.kind != "name":
            shown = repr(token.text) if token.kind != "end" else "the end"
            raise syntax_error(f"expected a function such as eq(...), found {shown}", token.at)
        if depth > MAX_DEPTH:
            raise syntax_error(f"nested more than {MAX_DEPTH} calls deep", token.at)
        self.i += 1
        self.take("(")
        args: list[Arg] = []
        if self.token.text != ")":
            args.append(self.arg(depth))
            while self.token.text == "," and self.token.kind == "punct":
                self.i += 1
                args.append(self.arg(depth))
        self.take(")")
        return Call(token.text.lower(), tuple(args), token.at)

    def arg(self, depth: int) -> Arg:
        token = self.token
        if token.kind == "name":
            following = self.tokens[self.i + 1]
            if following.kind == "punct" and following.text == "(":
                return self.call(depth + 1)
            self.i += 1
            keyword = token.text.lower()
            if keyword in _KEYWORDS:
                return Value(_KEYWORDS[keyword], token.at)
            return Name(token.text, token.at)
        if token.kind in ("string", "number"):
            self.i += 1
            return Value(token.value, token.at)
        if token.kind == "punct" and token.text == "[":
            return self.values()
        shown = repr(token.text) if token.kind != "end" else "the end"
        raise syntax_error(f"expected a field, a value or a call, found {shown}", token.at)

    def values(self) -> Values:
        start = self.take("[")
        found: list[Literal] = []
        while self.token.text != "]" or self.token.kind != "punct":
            if found:
                self.take(",")
            token = self.token
            if token.kind in ("string", "number"):
                found.append(token.value)
            elif token.kind == "name" and token.text.lower() in _KEYWORDS:
                found.append(_KEYWORDS[token.text.lower()])
            else:
                shown = repr(token.text) if token.kind != "end" else "the end"
                raise syntax_error(f"expected a value in the list, found {shown}", token.at)
            self.i += 1
        self.take("]")
        return Values(tuple(found), start.at)


def parse(text: str) -> Call:
    """The filter's syntax tree; BadRequest naming the problem and where."""
    if len(text) > MAX_FILTER_CHARS:
        raise BadRequest(f"filter: longer than {MAX_FILTER_CHARS} characters", field="filter")
    if not text.strip():
        raise BadRequest("filter: empty", field="filter")
    return _Parser(text).filter()
