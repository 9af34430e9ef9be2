from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Where a piece of feedback came from.")
class SourceType(Enum):
    API = "api"
    MODEL = "model"
    APP = "app"
    WIDGET = "widget"
    EMAIL = "email"
    HUMAN = "human"


@strawberry.enum(description="What kind of score a feedback key takes.")
class FeedbackKeyKind(Enum):
    CONTINUOUS = "continuous"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    FREEFORM = "freeform"


@strawberry.enum(description="What an API key may do.")
class Role(Enum):
    READ = "read"
    INGEST = "ingest"
    ADMIN = "admin"
