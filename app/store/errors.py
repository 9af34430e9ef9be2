"""What the database raises, named for the code above the store: the domain and the
edges catch these names and never import the driver."""

from __future__ import annotations

from pymongo.errors import ConnectionFailure, DuplicateKeyError, ServerSelectionTimeoutError
from pymongo.errors import PyMongoError as DatabaseError

# The database could not be reached (as opposed to refusing a command).
UNREACHABLE: tuple[type[DatabaseError], ...] = (ConnectionFailure, ServerSelectionTimeoutError)

__all__ = ["UNREACHABLE", "DatabaseError", "DuplicateKeyError"]
