"""The GraphQL schema: built by one function, exported as ``schema``."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
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
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


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
            lambda: AddValidationRules(LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            PublicErrors,
        ],
    )


schema = build_schema()
