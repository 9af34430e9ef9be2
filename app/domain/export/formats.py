"""The export formats, each an async generator of JSON-ready records.

- ``feedback``: every live feedback record joined with its run.
- ``sft``: ``{messages | prompt, completion, meta}`` from corrections (feedback with
  a ``correction``) and edits (the text a user ended with).
- ``dpo``: ``{prompt, chosen, rejected, meta}`` from preferences (not ties), from
  edits (final chosen over draft), and from runs with identical inputs where one got
  positive and another negative feedback on the same key (see ``polarity``).
- ``regressions``: runs with negative feedback, ordered and labelled by error mode.

``key`` narrows the keyed sources (feedback, corrections, preferences); edits carry
no key and are not narrowed by it. ``since`` applies to when the feedback,
preference or signal was recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.domain.analytics.rules import KeyRule, load_rules
from app.domain.export.options import ExportOptions
from app.domain.export.polarity import polarity_expression
from app.domain.export.shape import (
    chat_messages,
    feedback_json,
    iso,
    prompt,
    run_json,
    text_or_value,
)
from app.errors import BadRequest
from app.store import Stores
from app.store.export_queries import ErrorModeSource, PromptGroup, ScoredRun
from app.store.runs import Run

Record = dict[str, Any]


@dataclass(frozen=True)
class Export:
    format: str
    # How many records there will be, when that is cheap to know (for progress bars).
    total: int | None
    records: Callable[[], AsyncIterator[Record]]


async def prepare_export(stores: Stores, project_id: str, options: ExportOptions) -> Export:
    """Check what needs the database (the error-mode field) and return the export;
    its records are read only when iterated."""
    fmt = options.format
    if fmt == "feedback":
        total = await stores.exports.count_feedback(project_id, options.key, options.since)
        return Export(fmt, total, lambda: feedback_records(stores, project_id, options))
    if fmt == "sft":
        return Export(fmt, None, lambda: sft_records(stores, project_id, options))
    keys = await load_rules(stores, project_id, None)
    if fmt == "dpo":
        return Export(fmt, None, lambda: dpo_records(stores, project_id, options, keys))
    source = await _error_mode_source(stores, project_id, options.group_by, keys)
    return Export(fmt, None, lambda: regression_records(stores, project_id, options, keys, source))


async def feedback_records(
    stores: Stores, project_id: str, options: ExportOptions
) -> AsyncIterator[Record]:
    async for fb, run in stores.exports.feedback_with_runs(project_id, options.key, options.since):
        yield {"feedback": feedback_json(fb), "run": run_json(run) if run else None}


def _sft(run: Run, completion: Any, meta: Record) -> Record:
    messages = chat_messages(run.inputs)
    head: Record = (
        {"messages": messages} if messages is not None else {"prompt": prompt(run.inputs)}
    )
    return {**head, "completion": text_or_value(completion), "meta": meta}


async def sft_records(
    stores: Stores, project_id: str, options: ExportOptions
) -> AsyncIterator[Record]:
    if "corrections" in options.sources:
        corrections = stores.exports.feedback_with_runs(
            project_id, options.key, options.since, corrections_only=True
        )
        async for fb, run in corrections:
            if run is None:
                continue
            meta = {
                "source": "correction",
                "run_id": run.id,
                "feedback_id": fb.id,
                "key": fb.key,
                "user_id": fb.user_id,
                "created_at": iso(fb.created_at),
            }
            yield _sft(run, fb.correction, meta)
    if "edits" in options.sources:
        async for signal, run in stores.exports.edits_with_runs(project_id, options.since):
            if run is None:
                continue
            meta = {
                "source": "edit",
                "run_id": run.id,
                "signal_id": signal.id,
                "user_id": signal.user_id,
                "created_at": iso(signal.created_at),
            }
            yield _sft(run, signal.edited_output, meta)


def diagonal_pairs(
    positive: list[ScoredRun], negative: list[ScoredRun], higher_is_better: bool, cap: int
) -> Iterator[tuple[ScoredRun, ScoredRun]]:
    """(chosen, rejected) pairs, best first: positives from best to worst, negatives
    from worst to best, walked by diagonals (0,0), (0,1), (1,0), (0,2), (1,1)... so the
    pairs spread over the runs; at most ``cap`` of them."""
    sign = 1 if higher_is_better else -1
    pos = sorted(positive, key=lambda r: (-sign * r.mean, r.run_id))
    neg = sorted(negative, key=lambda r: (sign * r.mean, r.run_id))
    emitted = 0
    for d in range(len(pos) + len(neg) - 1):
        for i in range(max(0, d - len(neg) + 1), min(len(pos), d + 1)):
            if emitted == cap:
                return
            emitted += 1
            yield pos[i], neg[d - i]


async def _feedback_pairs(
    stores: Stores, project_id: str, group: PromptGroup, rule: KeyRule | None, cap: int
) -> AsyncIterator[Record]:
    better = rule.higher_is_better if rule is not None else True
    pairs = list(diagonal_pairs(group.positive, group.negative, better, cap))
    ids = [r.run_id for pair in pairs for r in pair]
    runs = await stores.exports.runs(project_id, ids)
    for chosen, rejected in pairs:
        if chosen.run_id not in runs or rejected.run_id not in runs:
            continue
        yield {
            "prompt": prompt(group.inputs),
            "chosen": text_or_value(runs[chosen.run_id].outputs),
            "rejected": text_or_value(runs[rejected.run_id].outputs),
            "meta": {
                "source": "feedback",
                "key": group.key,
                "chosen_run_id": chosen.run_id,
                "rejected_run_id": rejected.run_id,
                "chosen_score": chosen.mean,
                "rejected_score": rejected.mean,
            },
        }


async def dpo_records(
    stores: Stores, project_id: str, options: ExportOptions, keys: dict[str, KeyRule]
) -> AsyncIterator[Record]:
    exports = stores.exports
    if "preferences" in options.sources:
        async for pref, chosen, rejected in exports.preferences_with_runs(
            project_id, options.key, options.since
        ):
            if chosen is None or rejected is None:
                continue
            yield {
                "prompt": prompt(chosen.inputs),
                "chosen": text_or_value(chosen.outputs),
                "rejected": text_or_value(rejected.outputs),
                "meta": {
                    "source": "preference",
                    "preference_id": pref.id,
                    "key": pref.key,
                    "chosen_run_id": chosen.id,
                    "rejected_run_id": rejected.id,
                    "same_inputs": chosen.inputs == rejected.inputs,
                    "user_id": pref.user_id,
                    "comment": pref.comment,
                    "created_at": iso(pref.created_at),
                },
            }
    if "edits" in options.sources:
        async for signal, run in exports.edits_with_runs(project_id, options.since):
            final, draft = text_or_value(signal.edited_output), text_or_value(signal.draft_output)
            if run is None or draft is None or final == draft:
                continue
            yield {
                "prompt": prompt(run.inputs),
                "chosen": final,
                "rejected": draft,
                "meta": {
                    "source": "edit",
                    "run_id": run.id,
                    "signal_id": signal.id,
                    "user_id": signal.user_id,
                    "created_at": iso(signal.created_at),
                },
            }
    if "feedback" in options.sources:
        groups = exports.prompt_groups(
            project_id, options.key, options.since, polarity_expression(keys)
        )
        async for group in groups:
            pairs = _feedback_pairs(
                stores, project_id, group, keys.get(group.key), options.max_pairs_per_prompt
            )
            async for record in pairs:
                yield record


async def _error_mode_source(
    stores: Stores, project_id: str, group_by: str | None, keys: dict[str, KeyRule]
) -> ErrorModeSource | None:
    """``group_by`` is ``<task name>.<field>`` of a feedback task's schema, or a
    feedback key (its value, or score when it has none)."""
    if group_by is None:
        return None
    for i, char in enumerate(group_by):
        if char != ".":
            continue
        task = await stores.feedback_tasks.by_name(project_id, group_by[:i])
        field = group_by[i + 1 :]
        if task is not None and field in (task.schema.get("properties") or {}):
            return ErrorModeSource(task_id=task.id, field=field)
    if group_by in keys or await stores.exports.has_feedback_key(project_id, group_by):
        return ErrorModeSource(feedback_key=group_by)
    raise BadRequest(
        f"group_by {group_by!r} is neither a feedback key of this project nor "
        "'<task name>.<field>' of one of its feedback tasks",
        field="group_by",
    )


async def regression_records(
    stores: Stores,
    project_id: str,
    options: ExportOptions,
    keys: dict[str, KeyRule],
    source: ErrorModeSource | None,
) -> AsyncIterator[Record]:
    negative_runs = stores.exports.negative_runs(
        project_id, options.key, options.since, polarity_expression(keys), source
    )
    async for item in negative_runs:
        run = item.run
        yield {
            "error_mode": item.error_mode,
            "run_id": run.id,
            "prompt": prompt(run.inputs),
            "inputs": run.inputs,
            "outputs": run.outputs,
            "negative": [
                {"key": n.key, "mean_score": n.mean, "comments": n.comments} for n in item.negative
            ],
            "meta": {
                "group_by": options.group_by,
                "name": run.name,
                "model": run.model,
                "tags": run.tags,
                "start_time": iso(run.start_time),
            },
        }
