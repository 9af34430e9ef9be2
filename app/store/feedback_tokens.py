"""Presigned feedback tokens: the server-side record behind each signed token.

The record's ``_id`` is the token's ``jti``: a handle, shown to readers, never a
credential. A LangSmith-style token also has a ``url_id``, the random id in its URL,
which alone authorises a submission and so is shown only to the keys that create
tokens. Expiry, uses and revocation live here;
a TTL index on ``expires_at`` deletes records once they have expired (expiry is
still checked on every use: the TTL monitor runs only once a minute).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cachetools import TTLCache
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from app.errors import Conflict
from app.store.group_commit import GroupReads
from app.store.pagination import Page, fetch_page


@dataclass(frozen=True)
class FeedbackToken:
    id: str  # the jti
    project_id: str
    run_id: str
    key: str
    expires_at: datetime
    uses: int
    max_uses: int | None
    revoked_at: datetime | None
    allowed_origins: list[str]
    end_user_id: str | None
    # The question the widget and email page ask (else the key's description).
    prompt: str | None
    # LangSmith-style tokens: the id in the URL, their credential; None otherwise.
    url_id: str | None
    # The id the token's feedback record gets when it is created (LangSmith's
    # feedback_id); None: a new random id.
    feedback_id: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FeedbackToken:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            run_id=doc["run_id"],
            key=doc["key"],
            expires_at=doc["expires_at"],
            uses=doc.get("uses", 0),
            max_uses=doc.get("max_uses"),
            revoked_at=doc.get("revoked_at"),
            allowed_origins=doc.get("allowed_origins") or [],
            end_user_id=doc.get("end_user_id"),
            prompt=doc.get("prompt"),
            url_id=doc.get("url_id") or _legacy_url_id(doc),
            feedback_id=doc.get("feedback_id"),
            created_by=doc.get("created_by", ""),
            created_at=doc["created_at"],
        )


def _legacy_url_id(doc: dict[str, Any]) -> str | None:
    """Tokens issued before ``url_id`` existed took their ``_id`` as the URL id
    (``usable_by_id``). They keep working until they expire (PLAUDIT_TOKEN_MAX_TTL
    at most); then this can go."""
    return str(doc["_id"]) if doc.get("usable_by_id") and "url_id" not in doc else None


class FeedbackTokenStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], cache_seconds: float = 5.0) -> None:
        self.collection = db["feedback_tokens"]
        self.reads = GroupReads(self.collection)
        # Tokens without a use limit are checked from a short-lived cache on the
        # widget's hot path: revoking one takes effect at once in this process and
        # within the TTL in others (as for API keys). Limited tokens always take
        # their use atomically in the database.
        self._cache: TTLCache[str, FeedbackToken | None] = TTLCache(
            maxsize=100_000, ttl=cache_seconds
        )

    def recently_seen(self, token_id: str) -> bool:
        """Whether this process read the token in the last few seconds (the cache)."""
        return token_id in self._cache

    async def get_cached(self, token_id: str) -> FeedbackToken | None:
        try:
            return self._cache[token_id]
        except KeyError:
            found = await self.get(token_id)
            self._cache[token_id] = found
            return found

    async def insert_many(self, docs: list[dict[str, Any]]) -> list[FeedbackToken]:
        """Conflict when a token's feedback id is another token's already."""
        if docs:
            try:
                await self.collection.insert_many(docs, ordered=True)
            except BulkWriteError as exc:
                clash = (exc.details.get("writeErrors") or [{}])[0]
                where = str(clash.get("keyPattern") or clash.get("errmsg"))
                if clash.get("code") == 11000 and "feedback_id" in where:
                    feedback_id = docs[clash["index"]].get("feedback_id")
                    raise Conflict(
                        f"feedback id {feedback_id} is already another token's",
                        field="feedbackId",
                    ) from None
                raise
        return [FeedbackToken.from_doc(d) for d in docs]

    async def get(self, token_id: str) -> FeedbackToken | None:
        # Grouped with the other reads of the moment: every first vote reads its token.
        doc = await self.reads.find_one(token_id)
        return FeedbackToken.from_doc(doc) if doc else None

    async def get_by_url_id(self, url_id: str) -> FeedbackToken | None:
        """The LangSmith-style token whose URL carries this id."""
        doc = await self.collection.find_one({"url_id": url_id})
        if doc is None:
            legacy = await self.collection.find_one({"_id": url_id, "usable_by_id": True})
            doc = legacy if legacy is not None and "url_id" not in legacy else None
        return FeedbackToken.from_doc(doc) if doc else None

    async def get_in_project(self, project_id: str, token_id: str) -> FeedbackToken | None:
        doc = await self.collection.find_one({"_id": token_id, "project_id": project_id})
        return FeedbackToken.from_doc(doc) if doc else None

    async def take_use(self, token: FeedbackToken, now: datetime) -> FeedbackToken | None:
        """Take one use of a token that has a use limit, atomically; None when it
        cannot be used (revoked, expired or used up).

        One conditional ``$inc`` on ``_id``: its filter checks the stored record,
        so ``token`` may be a cached copy (a use limit never changes). (Not
        findAndModify: the embedded store runs that as a scan of every token.)"""
        assert token.max_uses is not None
        taken = await self.collection.update_one(
            {
                "_id": token.id,
                "revoked_at": None,
                "expires_at": {"$gt": now},
                "uses": {"$lt": token.max_uses},
            },
            {"$inc": {"uses": 1}},
        )
        # Another request may take a use meanwhile: ``uses`` is at least this.
        return replace(token, uses=token.uses + 1) if taken.matched_count == 1 else None

    async def give_back(self, token_id: str) -> None:
        """Return a use taken for a submission that was then refused."""
        await self.collection.update_one(
            {"_id": token_id, "max_uses": {"$ne": None}, "uses": {"$gt": 0}},
            {"$inc": {"uses": -1}},
        )

    async def revoke(self, project_id: str, token_id: str, now: datetime) -> FeedbackToken | None:
        self._cache.pop(token_id, None)
        query = {"_id": token_id, "project_id": project_id}
        unrevoked = {**query, "revoked_at": None}
        await self.collection.update_one(unrevoked, {"$set": {"revoked_at": now}})
        doc = await self.collection.find_one(query)
        return FeedbackToken.from_doc(doc) if doc else None

    async def page_for_run(
        self, project_id: str, run_id: str, first: int | None, after: str | None
    ) -> Page[FeedbackToken]:
        return await fetch_page(
            self.collection,
            {"project_id": project_id, "run_id": run_id},
            first=first,
            after=after,
            time_field="created_at",
            build=FeedbackToken.from_doc,
        )

    async def list_for_run(
        self, project_id: str, run_id: str, limit: int, offset: int
    ) -> list[FeedbackToken]:
        docs = await self.collection.find(
            {"project_id": project_id, "run_id": run_id},
            sort=[("created_at", -1), ("_id", -1)],
            skip=offset,
            limit=limit,
        ).to_list()
        return [FeedbackToken.from_doc(d) for d in docs]

    async def origin_is_listed(self, origin: str, now: datetime) -> bool:
        """Whether a live token lists this origin (for CORS preflight)."""
        doc = await self.collection.find_one(
            {"allowed_origins": origin, "expires_at": {"$gt": now}, "revoked_at": None},
            {"_id": 1},
        )
        return doc is not None
