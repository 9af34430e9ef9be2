"""What a client sees of an error.

PlauditError messages reach the client with their stable ``code``; request errors
(syntax, validation, bad variables) get ``BAD_REQUEST``; a lost database is
:class:`app.errors.Unavailable` (its code, and its HTTP status and Retry-After on
the response); anything else is logged and masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from app.errors import PlauditError, Unavailable, error_headers
from app.store.errors import UNREACHABLE

log = logging.getLogger("plaudit.graphql")


def is_unexpected(error: GraphQLError) -> bool:
    """An error in a resolver that is not one of ours: a bug, to log and mask."""
    original = error.original_error
    return (
        error.path is not None
        and original is not None
        and not isinstance(original, (PlauditError, *UNREACHABLE))
    )


def log_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unexpected(error):
            log.error("unexpected error in GraphQL resolver", exc_info=error.original_error)
        elif isinstance(error.original_error, UNREACHABLE):
            log.warning("database unavailable: %s", error.original_error)


class PublicErrors(SchemaExtension):
    def _public(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, PlauditError):
            return GraphQLError(
                original.message,
                nodes=error.nodes,
                path=error.path,
                original_error=original,
                extensions=original.extensions,
            )
        if isinstance(original, UNREACHABLE):
            unavailable = Unavailable()
            self._mark(unavailable)
            return GraphQLError(
                unavailable.message,
                nodes=error.nodes,
                path=error.path,
                extensions=unavailable.extensions,
            )
        if error.path is None:
            # Syntax, validation and variable-coercion errors: the request is wrong.
            extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
            return GraphQLError(error.message, nodes=error.nodes, extensions=extensions)
        return GraphQLError(
            "Unexpected error.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )

    def _mark(self, exc: PlauditError) -> None:
        """Give the HTTP response the error's status and headers (Retry-After)."""
        context = self.execution_context.context
        response = getattr(context, "response", None)
        if response is not None and hasattr(response, "status_code"):
            response.status_code = exc.http_status
            response.headers.update(error_headers(exc))

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult) and result.errors:
            result.errors = [self._public(e) for e in result.errors]
