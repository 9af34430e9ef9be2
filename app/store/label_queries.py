"""Reads automatic feedback needs from feedback tasks and feedback records: the
labels people gave (examples to learn from), and which runs already have labels."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.feedback import NO_HISTORY, Feedback
from app.store.task_submissions import TaskSubmission

NOT_MODEL = {"$ne": "model"}


class LabelQueries:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.submissions = db["task_submissions"]
        self.feedback = db["feedback"]

    async def human_submissions(
        self, project_id: str, task_id: str, limit: int
    ) -> list[TaskSubmission]:
        """A task's submissions by people (not automatic feedback), newest first."""
        docs = await self.submissions.find(
            {"project_id": project_id, "task_id": task_id, "source_type": NOT_MODEL},
            sort=[("created_at", -1), ("_id", -1)],
            limit=limit,
        ).to_list()
        return [TaskSubmission.from_doc(d) for d in docs]

    async def human_feedback(self, project_id: str, key: str, limit: int) -> list[Feedback]:
        """Live scored feedback on ``key`` from any source but a model, newest first."""
        docs = await self.feedback.find(
            {
                "project_id": project_id,
                "key": key,
                "deleted": False,
                "retracted": False,
                "score": {"$ne": None},
                "source_type": NOT_MODEL,
            },
            NO_HISTORY,
            sort=[("created_at", -1), ("_id", -1)],
            limit=limit,
        ).to_list()
        return [Feedback.from_doc(d) for d in docs]

    async def runs_with_submissions(
        self, project_id: str, task_id: str, run_ids: list[str]
    ) -> set[str]:
        """Which of ``run_ids`` have a submission to the task, from anyone."""
        docs = await self.submissions.find(
            {"project_id": project_id, "task_id": task_id, "run_id": {"$in": run_ids}},
            {"run_id": 1},
        ).to_list()
        return {d["run_id"] for d in docs}

    async def runs_with_feedback(self, project_id: str, key: str, run_ids: list[str]) -> set[str]:
        """Which of ``run_ids`` have live feedback on ``key``, from anyone."""
        docs = await self.feedback.find(
            {
                "project_id": project_id,
                "run_id": {"$in": run_ids},
                "key": key,
                "deleted": False,
                "retracted": False,
            },
            {"run_id": 1},
        ).to_list()
        return {d["run_id"] for d in docs}
