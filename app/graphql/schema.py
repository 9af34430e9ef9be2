"""The GraphQL schema: built by one function, exported as ``schema``."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import strawberry
from graphql import GraphQLError, parse
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from app.graphql.errors import PublicErrors, log_errors
from app.graphql.mutations import Mutation
from app.graphql.queries import Query
from app.graphql.scalars import SCALARS
from app.graphql.subscriptions import Subscription

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000

# The depth and alias limits are validation rules. Each limiter builds its rule
# class when constructed, so a limiter made per request would give every request
# a new rule set and defeat the validation cache (measured: 16 ms of CPU per
# request). Build the rule classes once; add them per request.
LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)
# Parsed and validated documents, shared by every request (bounded: a client
# sending endless distinct queries cannot grow memory).
CACHED_DOCUMENTS = 256
_parse = lru_cache(maxsize=CACHED_DOCUMENTS)(parse)
_validate = lru_cache(maxsize=CACHED_DOCUMENTS)(validate_document)


class CachedLimitedPipeline(SchemaExtension):
    """What Strawberry's MaxTokensLimiter, AddValidationRules, ParserCache and
    ValidationCache do, in one extension: each extension's hooks cost every
    request (about 9% of a createFeedback's CPU for five). A document over the
    token limit is refused while parsing; the depth and alias rules run with
    validation; a document seen before is neither parsed nor validated again."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + LIMIT_RULES
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


class PlauditSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are answered, not logged; bugs are logged with a traceback.
        log_errors(errors)


def build_schema() -> strawberry.Schema:
    return PlauditSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            CachedLimitedPipeline,
            PublicErrors,
        ],
    )


schema = build_schema()
