from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from app.store.pagination import Page

T = TypeVar("T")
S = TypeVar("S")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: Page[S], build: Callable[[S], T]) -> Connection[T]:
        return cls(
            edges=[
                Edge(cursor=cursor, node=build(item))
                for cursor, item in zip(page.cursors, page.items, strict=True)
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )
