"""Comparative (pairwise) experiments: two or more experiments compared on their
shared dataset, and the pairwise scores sent about them, which become preferences
(app/domain/comparative_experiments.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class ComparativeExperiment:
    id: str
    project_id: str
    name: str
    description: str | None
    experiment_ids: list[str]
    reference_dataset_id: str
    # LangSmith's ``extra`` (its metadata included), as sent.
    extra: Any
    created_at: datetime
    modified_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ComparativeExperiment:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc["name"],
            description=doc.get("description"),
            experiment_ids=list(doc["experiment_ids"]),
            reference_dataset_id=doc["reference_dataset_id"],
            extra=jsonsafe.unescape(doc.get("extra")),
            created_at=doc["created_at"],
            modified_at=doc["modified_at"],
        )


class ComparativeExperimentStore(ProjectRecords[ComparativeExperiment]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["comparative_experiments"], ComparativeExperiment.from_doc)

    async def insert(self, doc: dict[str, Any]) -> ComparativeExperiment:
        doc = {**doc, "extra": jsonsafe.escape(doc.get("extra"))}
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"comparative experiment {doc['_id']} already exists") from exc
        return ComparativeExperiment.from_doc(doc)

    async def of_experiment(self, project_id: str, experiment_id: str) -> list[str]:
        """The ids of the comparative experiments this experiment is in."""
        docs = await self.collection.find(
            {"project_id": project_id, "experiment_ids": experiment_id}, {"_id": 1}
        ).to_list()
        return [d["_id"] for d in docs]


@dataclass(frozen=True)
class PairwiseScore:
    """One run's score in one group (one example, one evaluator) of a comparative
    experiment: LangSmith's feedback with ``comparative_experiment_id``."""

    feedback_id: str
    run_id: str
    experiment_id: str
    score: float


class PairwiseScoreStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["comparative_scores"]

    async def put(
        self,
        project_id: str,
        comparative_experiment_id: str,
        group_id: str,
        key: str,
        score: PairwiseScore,
        at: datetime,
    ) -> list[PairwiseScore]:
        """Keep ``score`` (by its feedback id, so a resend changes nothing) and
        return every score of its group and key, this one included."""
        await self.collection.update_one(
            {"_id": score.feedback_id},
            {
                "$set": {
                    "project_id": project_id,
                    "comparative_experiment_id": comparative_experiment_id,
                    "group_id": group_id,
                    "key": key,
                    "run_id": score.run_id,
                    "experiment_id": score.experiment_id,
                    "score": score.score,
                    "created_at": at,
                }
            },
            upsert=True,
        )
        docs = await self.collection.find(
            {
                "comparative_experiment_id": comparative_experiment_id,
                "group_id": group_id,
                "key": key,
            }
        ).to_list()
        return [
            PairwiseScore(d["_id"], d["run_id"], d["experiment_id"], float(d["score"]))
            for d in docs
            if d["project_id"] == project_id
        ]
