"""Strategies schemathesis needs for Plaudit's custom GraphQL scalars.

Arguments such as createFeedbackTask(schema: JSON!) and submitTaskFeedback(values:
JSON!) are required JSON, which schemathesis cannot generate on its own; this
registers a strategy for any JSON value (as GraphQL literals), for every fuzz test in
this folder."""

from __future__ import annotations

from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes


def _object(fields: dict[str, Any]) -> graphql.ObjectValueNode:
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
            for k, v in fields.items()
        ]
    )


_LEAVES = st.one_of(
    st.text(max_size=20).map(nodes.String),
    st.integers(-1000, 1000).map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.booleans().map(nodes.Boolean),
    st.just(graphql.NullValueNode()),
)
JSON_VALUES = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(nodes.List),
        st.dictionaries(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), children, max_size=4
        ).map(_object),
    ),
    max_leaves=10,
)
schemathesis.graphql.scalar("JSON", JSON_VALUES)
