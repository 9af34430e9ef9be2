"""Every index Plaudit uses, declared once and ensured at start-up.

``ensure_indexes`` creates, and drops only the indexes Plaudit itself created
in earlier versions and no longer uses (``SUPERSEDED``, by name): an index added
by an operator by hand survives a deploy. It also drops the collections of derived
data earlier versions kept in another layout (``RETIRED``; ``plaudit rollups
rebuild`` computes their successors).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure


@dataclass(frozen=True)
class Index:
    collection: str
    keys: list[tuple[str, int]]
    options: dict[str, Any] = field(default_factory=dict)


LIVE = {"deleted": False}

INDEXES: list[Index] = [
    Index("projects", [("name", 1)], {"unique": True}),
    Index("api_keys", [("hash", 1)], {"unique": True}),
    Index("api_keys", [("project_id", 1), ("created_at", -1)]),
    # A Langfuse key pair's public half, for its browser scores (public key alone).
    Index(
        "api_keys",
        [("public_key", 1)],
        {"name": "public_key", "partialFilterExpression": {"public_key": {"$type": "string"}}},
    ),
    Index("runs", [("project_id", 1), ("start_time", -1), ("_id", -1)]),
    Index("runs", [("project_id", 1), ("session_id", 1), ("start_time", -1)]),
    Index("runs", [("project_id", 1), ("user_id", 1), ("start_time", -1)]),
    Index("runs", [("project_id", 1), ("tags", 1), ("start_time", -1)]),
    # A trace's runs in order (LangSmith's trace filter, read_run's child runs).
    Index("runs", [("project_id", 1), ("trace_id", 1), ("start_time", -1), ("_id", -1)]),
    # LangSmith's project (a tracing project), and a run's children (parent_run_id
    # null: the trace roots). See app/domain/run_queries.py.
    Index("runs", [("project_id", 1), ("tracing_project_id", 1), ("start_time", -1), ("_id", -1)]),
    Index("runs", [("project_id", 1), ("parent_run_id", 1), ("start_time", -1), ("_id", -1)]),
    # A run by its OTel span id alone (Langfuse's GET /api/public/observations/{id}).
    Index("runs", [("project_id", 1), ("metadata.otel%2Espan_id", 1)]),
    Index("tracing_projects", [("project_id", 1), ("name", 1)], {"unique": True}),
    Index("tracing_projects", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    # An experiment's runs point to examples; experiments to their dataset.
    Index("runs", [("project_id", 1), ("reference_example_id", 1)]),
    Index("tracing_projects", [("project_id", 1), ("reference_dataset_id", 1)]),
    # Datasets and their versioned examples (app/store/datasets.py): the current
    # examples (until null) and those as of a version, one example's revisions,
    # and the runs a dataset built from feedback already holds.
    Index("datasets", [("project_id", 1), ("name", 1)], {"unique": True}),
    Index("datasets", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    # Comparative experiments and their pairwise scores, a group (one example and
    # evaluator) at a time.
    Index("comparative_experiments", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("comparative_experiments", [("project_id", 1), ("experiment_ids", 1)]),
    Index("comparative_scores", [("comparative_experiment_id", 1), ("group_id", 1), ("key", 1)]),
    Index("comparative_scores", [("project_id", 1), ("run_id", 1)]),
    Index("dataset_versions", [("dataset_id", 1), ("at", -1)]),
    Index("dataset_versions", [("dataset_id", 1), ("version", -1)]),
    Index("examples", [("dataset_id", 1), ("until", 1), ("created_at", 1), ("_id", 1)]),
    Index("examples", [("dataset_id", 1), ("created_at", 1), ("_id", 1)]),
    Index("examples", [("project_id", 1), ("example_id", 1), ("until", 1)]),
    Index("examples", [("dataset_id", 1), ("example_id", 1), ("until", 1)]),
    Index("examples", [("dataset_id", 1), ("source_run_id", 1)]),
    # A run's feedback, and one person's live record by its natural key (every vote
    # change reads it). The embedded store uses a compound index only when the
    # filter's equality fields are exactly its leading fields (in any order), or
    # those plus one range/$in field next: this order serves {project, deleted,
    # run}, {project, deleted, run: {$in}}, the natural key, and it with retracted.
    Index(
        "feedback",
        [
            ("project_id", 1),
            ("deleted", 1),
            ("run_id", 1),
            ("key", 1),
            ("actor", 1),
            ("retracted", 1),
        ],
    ),
    Index("feedback", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    # Feedback whose run has not arrived (app/domain/pending_feedback.py): a
    # project's, newest first; a project's on runs that have just arrived; and
    # every project's by age, for expiry. Partial: the other records (nearly all)
    # cost these indexes nothing.
    Index(
        "feedback",
        [("project_id", 1), ("deleted", 1), ("pending", 1), ("created_at", -1), ("_id", -1)],
        {"name": "pending_by_project", "partialFilterExpression": {"pending": True}},
    ),
    Index(
        "feedback",
        [("project_id", 1), ("deleted", 1), ("pending", 1), ("run_id", 1)],
        {"name": "pending_by_run", "partialFilterExpression": {"pending": True}},
    ),
    Index(
        "feedback",
        [("pending", 1), ("deleted", 1), ("created_at", 1)],
        {"name": "pending_by_age", "partialFilterExpression": {"pending": True}},
    ),
    Index("feedback", [("project_id", 1), ("key", 1), ("score", 1), ("run_id", 1)]),
    # The natural key: one live record per (run, key, person or identity).
    Index(
        "feedback",
        [("project_id", 1), ("run_id", 1), ("key", 1), ("actor", 1)],
        {
            "unique": True,
            "name": "natural_key",
            "partialFilterExpression": {"actor": {"$type": "string"}, **LIVE},
        },
    ),
    # Analytics (app/domain/analytics/): raw statistics, recounts and comment samples,
    # for one key and for several. Every field a query matches on is in the index:
    # the embedded store uses an index only then (app/store/feedback_analytics.py).
    Index(
        "feedback",
        [("project_id", 1), ("key", 1), ("deleted", 1), ("retracted", 1), ("created_at", -1)],
    ),
    Index("feedback", [("project_id", 1), ("deleted", 1), ("retracted", 1), ("created_at", -1)]),
    # Tombstones (deleted feedback) are removed once their time is up; a live
    # record has no purge_at. Erasure and retention (app/store/lifecycle.py) find a
    # person's records and a period's.
    Index("feedback", [("purge_at", 1)], {"expireAfterSeconds": 0}),
    Index("feedback", [("project_id", 1), ("user_id", 1)]),
    Index("signals", [("project_id", 1), ("user_id", 1)]),
    Index("task_submissions", [("project_id", 1), ("created_at", 1)]),
    Index("erasure_receipts", [("project_id", 1), ("at", -1), ("_id", -1)]),
    Index(
        "feedback_rollups",
        [("project_id", 1), ("key", 1), ("g", 1), ("t", 1)],
        {"unique": True, "name": "rollup_id"},
    ),
    Index("feedback_rollups", [("project_id", 1), ("g", 1), ("t", 1)]),
    # Saving recounted min/max only if the rollup has not changed (its version):
    # the embedded store scans the collection for a filter with a field its
    # index lacks.
    Index("feedback_rollups", [("project_id", 1), ("key", 1), ("g", 1), ("t", 1), ("v", 1)]),
    # Worst runs read a key's tallies over a window (app/store/run_tallies.py).
    Index(
        "run_tallies",
        [("project_id", 1), ("key", 1), ("g", 1), ("t", 1), ("s", 1)],
        {"unique": True, "name": "run_tally_id"},
    ),
    Index("run_tallies", [("project_id", 1), ("g", 1), ("t", 1)]),
    # Saving recounted times only if the tally has not changed (its version).
    Index("run_tallies", [("project_id", 1), ("key", 1), ("g", 1), ("t", 1), ("s", 1), ("v", 1)]),
    # Run days (app/store/run_days.py): one per project, key and run; worst runs
    # read a key's runs by their lifetime count on either side.
    Index(
        "run_days",
        [("project_id", 1), ("key", 1), ("run_id", 1)],
        {"unique": True, "name": "run_days_id"},
    ),
    # Ascending: the embedded store gets range bounds wrong on a descending field.
    Index("run_days", [("project_id", 1), ("key", 1), ("lo", 1), ("last", 1)]),
    Index("run_days", [("project_id", 1), ("key", 1), ("hi", 1), ("last", 1)]),
    # Saving recounted times only if the document has not changed (its version).
    Index("run_days", [("project_id", 1), ("key", 1), ("run_id", 1), ("v", 1)]),
    # Grouped rollups (app/store/feedback_group_buckets.py): one document per key,
    # grouping and bucket; read (and their slots) per key, or for all keys (and
    # dropped by retention, and read for an erased user's groups). Few on purpose:
    # the embedded store's cost of writing a bucket grows with each index.
    Index(
        "feedback_group_buckets",
        [("project_id", 1), ("key", 1), ("d", 1), ("g", 1), ("t", 1)],
        {"unique": True, "name": "group_bucket_id"},
    ),
    Index("feedback_group_buckets", [("project_id", 1), ("d", 1), ("g", 1), ("t", 1)]),
    # Webhooks (app/domain/webhooks/): the delivery queue and its log.
    Index("webhooks", [("project_id", 1), ("created_at", 1)]),
    Index("webhook_deliveries", [("status", 1), ("next_at", 1)]),
    # Delivered and failed deliveries are kept PLAUDIT_WEBHOOK_RETENTION_DAYS.
    Index("webhook_deliveries", [("expire_at", 1)], {"expireAfterSeconds": 0}),
    Index("webhook_deliveries", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index(
        "webhook_deliveries",
        [("project_id", 1), ("webhook_id", 1), ("created_at", -1), ("_id", -1)],
    ),
    Index("feedback_keys", [("project_id", 1), ("key", 1)], {"unique": True}),
    # Presigned feedback tokens: removed once expired (expiry is also checked on use).
    Index("feedback_tokens", [("expires_at", 1)], {"expireAfterSeconds": 0}),
    Index("feedback_tokens", [("project_id", 1), ("run_id", 1), ("created_at", -1), ("_id", -1)]),
    # A LangSmith-style token by the id in its URL (its credential). Sparse, not
    # partial: the embedded store uses a sparse index for an equality match.
    Index("feedback_tokens", [("url_id", 1)], {"unique": True, "sparse": True}),
    # The feedback id a token's record gets (LangSmith's feedback_id): one token each.
    Index("feedback_tokens", [("feedback_id", 1)], {"unique": True, "sparse": True}),
    # CORS preflight: is an origin configured on some project or live token?
    Index("feedback_tokens", [("allowed_origins", 1)]),
    Index("projects", [("allowed_origins", 1)]),
    # Public-route rate-limit windows, removed once they end.
    Index("rate_limits", [("expireAt", 1)], {"expireAfterSeconds": 0}),
    # Feedback tasks, review queues, preferences, implicit signals.
    Index("feedback_tasks", [("project_id", 1), ("name", 1)], {"unique": True}),
    Index("feedback_tasks", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("feedback_task_versions", [("task_id", 1), ("version", 1)], {"unique": True}),
    Index(
        "task_submissions",
        [("task_id", 1), ("run_id", 1), ("reviewer", 1)],
        {"unique": True},
    ),
    Index("task_submissions", [("project_id", 1), ("task_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("task_submissions", [("project_id", 1), ("task_id", 1), ("run_id", 1)]),
    Index("review_states", [("task_id", 1), ("run_id", 1)], {"unique": True}),
    Index("review_states", [("project_id", 1), ("task_id", 1), ("lease_holder", 1)]),
    # A reviewer's progress: their submissions to a task since a time.
    Index(
        "task_submissions",
        [("project_id", 1), ("task_id", 1), ("reviewer", 1), ("created_at", 1)],
    ),
    # Reviewer links: removed once expired (expiry is also checked on every request).
    Index("reviewer_links", [("expires_at", 1)], {"expireAfterSeconds": 0}),
    Index("reviewer_links", [("project_id", 1), ("task_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("preferences", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("preferences", [("project_id", 1), ("key", 1), ("created_at", 1)]),
    # Pairwise review: the pairs one reviewer has already compared on a key.
    Index("preferences", [("project_id", 1), ("key", 1), ("user_id", 1), ("preferred_run_id", 1)]),
    # Win rates between experiments (app/domain/comparative_experiments.py).
    Index(
        "preferences",
        [("project_id", 1), ("preferred_experiment_id", 1), ("other_experiment_id", 1)],
    ),
    Index("preferences", [("project_id", 1), ("comparative_experiment_id", 1), ("created_at", -1)]),
    Index("signals", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("signals", [("project_id", 1), ("run_id", 1)]),
    Index("signals", [("project_id", 1), ("kind", 1), ("created_at", 1)]),
    # Automatic feedback: jobs (listed per project; taken by status and lease), one
    # claim per (project, target, run), one result per (job, run); key judges.
    Index("autofeedback_jobs", [("project_id", 1), ("created_at", -1), ("_id", -1)]),
    Index("autofeedback_jobs", [("status", 1), ("created_at", 1)]),
    Index(
        "autofeedback_claims",
        [("project_id", 1), ("target", 1), ("run_id", 1)],
        {"unique": True},
    ),
    Index("autofeedback_claims", [("job_id", 1)]),
    Index("autofeedback_results", [("job_id", 1), ("run_id", 1)], {"unique": True}),
    Index("autofeedback_results", [("job_id", 1), ("state", 1), ("at", -1)]),
    Index("key_judges", [("project_id", 1), ("key", 1)], {"unique": True}),
    # Online evaluation (app/domain/evaluation/): rules (listed per project, the
    # active ones read by every worker), their versions, and the evaluation queue:
    # one evaluation per (rule, version, run); taken, counted, limited and listed
    # per rule by status (and due time); scored runs read by their start time.
    Index("evaluation_rules", [("project_id", 1), ("name", 1)], {"unique": True}),
    Index("evaluation_rules", [("status", 1)]),
    Index("evaluation_rule_versions", [("rule_id", 1), ("version", 1)], {"unique": True}),
    Index("evaluations", [("rule_id", 1), ("version", 1), ("run_id", 1)], {"unique": True}),
    Index("evaluations", [("rule_id", 1), ("status", 1), ("next_at", 1)]),
    Index("evaluations", [("rule_id", 1), ("status", 1), ("run_at", -1)]),
]


# Indexes earlier versions created, each replaced by one in INDEXES; every one
# costs a write per document written until dropped.
SUPERSEDED: list[tuple[str, str]] = [
    # By (project_id, deleted, run_id, key, actor, retracted).
    ("feedback", "project_id_1_run_id_1_key_1"),
    # By (project_id, trace_id, start_time, _id).
    ("runs", "project_id_1_trace_id_1"),
]

# Collections of derived data earlier versions wrote, replaced by another layout.
RETIRED: list[str] = [
    # Grouped rollups, a document per value: now one per bucket (feedback_group_buckets).
    "feedback_group_rollups",
]


async def ensure_indexes(
    db: AsyncDatabase[dict[str, Any]], indexes: list[Index] | None = None
) -> None:
    by_collection: dict[str, list[IndexModel]] = {}
    for index in indexes if indexes is not None else INDEXES:
        by_collection.setdefault(index.collection, []).append(
            IndexModel(index.keys, **index.options)
        )
    for name, models in by_collection.items():
        await db[name].create_indexes(models)
    if indexes is None:
        for collection, index_name in SUPERSEDED:
            if index_name in await db[collection].index_information():
                # Another process starting at the same moment may drop it first.
                with contextlib.suppress(OperationFailure):
                    await db[collection].drop_index(index_name)
        existing = set(await db.list_collection_names())
        for retired in RETIRED:
            if retired in existing:
                await db.drop_collection(retired)
