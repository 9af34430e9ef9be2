"""Example selection and the AutoFeedbackICL prompt, on data built through the API:
runs with inputs and outputs, and people's submissions to a feedback task."""

from __future__ import annotations

import json
import uuid

from starlette.applications import Starlette

from app.domain.autofeedback.prompt import EXAMPLE_CHARS, PROMPT_VERSION, build_messages
from app.domain.autofeedback.selection import ExamplePool, label_pairs
from app.domain.autofeedback.targets import Example, TaskTarget, load_target
from app.domain.feedback import Change
from app.domain.tasks.service import submit_task_feedback
from app.store.runs import Run
from tests.autofeedback.dataset import (
    INSTRUCTIONS,
    LABELS,
    RUNS,
    SCHEMA,
    TASK_NAME,
    DataSet,
    build,
)
from tests.conftest import GraphQLClient, Keys, services
from tests.task_helpers import ingest


async def pool_for(app: Starlette, keys: Keys, ds: DataSet) -> tuple[TaskTarget, ExamplePool]:
    stores = services(app).stores
    target = await load_target(stores, keys.project_id, task_id=ds.task_id, key=None)
    assert isinstance(target, TaskTarget)
    examples = await target.examples(stores, 100)
    return target, ExamplePool(examples, target.fields)


async def run(app: Starlette, keys: Keys, run_id: str) -> Run:
    record = await services(app).stores.runs.get(keys.project_id, run_id)
    assert record is not None
    return record


def names(ds: DataSet, examples: list[Example]) -> list[str]:
    return [ds.name_of(e.run.id) for e in examples]


async def test_the_pool_is_people_labels_that_fit_the_schema(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    ds = await build(gql)
    # An automatic label is not an example.
    await submit_task_feedback(
        services(app).stores,
        keys.project_id,
        ds.task_id,
        ds.ids["refund-new"],
        {"Helpful": True, "Score": 5},
        Change(by="test", via="test"),
        user_id="model:judge-1",
        source_type="model",
        source_info={"method": "llm"},
    )
    target, pool = await pool_for(app, keys, ds)
    assert len(pool) == sum(len(v) for v in LABELS.values()) == 9
    assert ds.ids["refund-new"] not in {e.run.id for e in pool.examples}
    by_run = {(ds.name_of(e.run.id), json.dumps(e.values, sort_keys=True)) for e in pool.examples}
    expected = {
        (name, json.dumps(values, sort_keys=True))
        for name, labels in LABELS.items()
        for _, values in labels
    }
    assert by_run == expected
    # The pool keeps only the runs' text, not their whole documents.
    assert all(isinstance(e.run.inputs, str) and e.run.metadata is None for e in pool.examples)
    # Newest first.
    times = [e.created_at for e in pool.examples]
    assert times == sorted(times, reverse=True)
    # Calibration fields: Notes (free text) is left out.
    assert [(f.name, f.measure) for f in target.fields] == [
        ("Helpful", "exact"),
        ("Score", "numeric"),
        ("Tone", "exact"),
    ]

    # A label given under an old schema that the current one refuses is no example.
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["Score"]["maximum"] = 4
    await gql.ok(
        "mutation($id: ID!, $s: JSON) { updateFeedbackTask(id: $id, schema: $s) { version } }",
        {"id": ds.task_id, "s": schema},
    )
    _, pool = await pool_for(app, keys, ds)
    assert len(pool) == 8
    assert all(e.values["Score"] <= 4 for e in pool.examples)


async def test_selection_prefers_similar_runs_and_covers_every_value(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    ds = await build(gql)
    _, pool = await pool_for(app, keys, ds)
    target = await run(app, keys, ds.ids["refund-new"])

    # k = 1: the run whose input is most like "Refund for my damaged order".
    assert names(ds, pool.select(target, 1)) == ["refund-1"]
    # k = 2: both refund runs (each covers values the other lacks), most similar last.
    assert names(ds, pool.select(target, 2)) == ["refund-2", "refund-1"]

    # k = 5: after the refund runs, each pick adds a value not shown yet, so every
    # value people used appears: Helpful false, Scores 1, 2, 3 and Tone rude too
    # (refund-1 has two labels, and one example per run shows one of them).
    picked = pool.select(target, 5)
    assert len({e.run.id for e in picked}) == 5
    shown = set().union(*(label_pairs(e.values, pool.fields) for e in picked))
    elsewhere = set().union(
        *(
            label_pairs(e.values, pool.fields)
            for e in pool.examples
            if e.run.id != ds.ids["refund-1"]
        )
    )
    assert elsewhere <= shown
    assert {("Helpful", "false"), ("Score", "1"), ("Score", "2"), ("Tone", '"rude"')} <= shown
    assert names(ds, picked)[-2:] == ["refund-2", "refund-1"]

    # Pure similarity would take the second shipping run for k = 3 when labelling a
    # shipping run; stratification takes the run that shows new values instead.
    shipping = await run(app, keys, ds.ids["shipping-new"])
    three = names(ds, pool.select(shipping, 3))
    assert three[-2:] == ["shipping-2", "shipping-1"]
    assert three[0] in ("password-1", "refund-1", "refund-2")  # shows Score 1, 4 or 5

    # One example per run, never the run being labelled, at most what there is.
    labelled = await run(app, keys, ds.ids["refund-1"])
    everything_else = pool.select(labelled, 50)
    assert len(everything_else) == 7
    assert ds.ids["refund-1"] not in {e.run.id for e in everything_else}


async def test_the_prompt_has_instructions_schema_examples_and_the_run(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    ds = await build(gql)
    target, pool = await pool_for(app, keys, ds)
    run_to_label = await run(app, keys, ds.ids["password-new"])
    examples = pool.select(run_to_label, 3)
    messages = build_messages(target, examples, run_to_label)

    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    system = messages[0]["content"]
    assert INSTRUCTIONS in system
    assert f'the feedback task "{TASK_NAME}"' in system
    assert json.dumps(SCHEMA, indent=2) in system
    assert "JSON" in system
    for i, example in enumerate(examples):
        shown = messages[1 + 2 * i]["content"]
        question, answer = RUNS[ds.name_of(example.run.id)]
        assert f'{{"question": "{question}"}}' in shown
        assert f'{{"answer": "{answer}"}}' in shown
        assert json.loads(messages[2 + 2 * i]["content"]) == example.values
    last = messages[-1]["content"]
    assert last.startswith("Run to label:")
    assert "Password reset email missing" in last
    assert "Check spam for the password email" in last
    assert PROMPT_VERSION == "icl-1"


async def test_long_runs_are_clipped_in_examples(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    ds = await build(gql)
    (long_id,) = await ingest(
        gql,
        {
            "id": str(uuid.uuid4()),
            "inputs": {"question": "refund " * 1000},
            "outputs": {"answer": "ok"},
            "tags": ["support"],
        },
    )
    await gql.ok(
        "mutation($t: ID!, $r: ID!) { submitTaskFeedback(taskId: $t, runId: $r, "
        'values: {Helpful: true, Score: 3}, userId: "ann") { reviewCount } }',
        {"t": ds.task_id, "r": long_id},
    )
    target, pool = await pool_for(app, keys, ds)
    example = next(e for e in pool.examples if e.run.id == long_id)
    messages = build_messages(target, [example], await run(app, keys, ds.ids["refund-new"]))
    shown = messages[1]["content"]
    assert "more characters]" in shown
    assert len(shown) < EXAMPLE_CHARS + 200
