"""A dataset built from feedback ("thumbs-down with a correction"), through GraphQL
and the CLI: built twice, the second build adds only the new runs; the examples
are the source runs' inputs and their corrections. Then exported and imported as
JSON Lines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from app import clock
from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.helpers import give_feedback, make_run
from tests.test_export_cli import cli

BUILD = """mutation($name: String!, $selection: FeedbackSelectionInput!) {
  buildDatasetFromFeedback(datasetName: $name, selection: $selection) {
    added alreadyIn version dataset { id name version exampleCount }
  }
}"""
EXAMPLES = """query($name: String!, $v: Int) { dataset(name: $name) {
  examples(first: 100, asOfVersion: $v) {
    nodes { inputs outputs sourceRunId feedbackIds metadata version }
  }
} }"""
THUMBS_DOWN_CORRECTED = {"key": "thumbs", "maxScore": 0, "withCorrection": True}


async def disliked(gql: GraphQLClient, question: str, *, corrected: bool) -> dict[str, Any]:
    run_id = await make_run(gql, inputs={"question": question}, outputs={"answer": "wrong"})
    ids = [(await give_feedback(gql, runId=run_id, key="thumbs", score=0))["id"]]
    if corrected:
        fix = await give_feedback(
            gql, runId=run_id, key="fix", correction={"answer": f"right about {question}"}
        )
        ids.append(fix["id"])
    return {"run": run_id, "feedback": ids, "question": question}


async def examples(gql: GraphQLClient, version: int | None = None) -> list[dict[str, Any]]:
    data = await gql.ok(EXAMPLES, {"name": "regressions", "v": version})
    nodes: list[dict[str, Any]] = data["dataset"]["examples"]["nodes"]
    return nodes


def expected(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "inputs": {"question": source["question"]},
        "outputs": {"answer": f"right about {source['question']}"},
        "sourceRunId": source["run"],
        "feedbackIds": source["feedback"],
        "metadata": {"from_feedback": ["fix", "thumbs"]},
    }


def strip(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in n.items() if k != "version"} for n in nodes]


async def test_built_twice_the_second_adds_only_new_runs(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    first = await disliked(gql, "tides", corrected=True)
    await disliked(gql, "moon", corrected=False)  # no correction: not chosen
    liked = await make_run(gql, inputs={"question": "sun"})
    await give_feedback(gql, runId=liked, key="thumbs", score=1)
    await give_feedback(gql, runId=liked, key="fix", correction={"answer": "x"})

    built = (await gql.ok(BUILD, {"name": "regressions", "selection": THUMBS_DOWN_CORRECTED}))[
        "buildDatasetFromFeedback"
    ]
    assert (built["added"], built["alreadyIn"], built["version"]) == (1, 0, 1)
    assert built["dataset"]["exampleCount"] == 1
    assert strip(await examples(gql)) == [expected(first)]

    second = await disliked(gql, "stars", corrected=True)
    again = (await gql.ok(BUILD, {"name": "regressions", "selection": THUMBS_DOWN_CORRECTED}))[
        "buildDatasetFromFeedback"
    ]
    assert (again["added"], again["alreadyIn"], again["version"]) == (1, 1, 2)
    assert strip(await examples(gql)) == [expected(first), expected(second)]
    # Version 1 is still what the first build made.
    assert strip(await examples(gql, 1)) == [expected(first)]

    # Feedback given after "since" only: none of it is newer than an hour from now.
    later = (clock.now() + timedelta(hours=1)).isoformat()
    none = (
        await gql.ok(
            BUILD, {"name": "regressions", "selection": {**THUMBS_DOWN_CORRECTED, "since": later}}
        )
    )["buildDatasetFromFeedback"]
    assert (none["added"], none["version"]) == (0, None)

    # The CLI: nothing new, then one new run.
    args = ["datasets", "from-feedback", "regressions", "--project", "acme"]
    args += ["--key", "thumbs", "--max-score", "0", "--with-correction", "--days", "7"]
    result = await cli(settings, *args)
    assert result.exit_code == 0, result.output
    assert "added 0 examples, 2 chosen runs already in it; version 2" in result.stdout
    third = await disliked(gql, "comets", corrected=True)
    result = await cli(settings, *args)
    assert "added 1 examples, 2 chosen runs already in it; version 3" in result.stdout
    assert strip(await examples(gql)) == [expected(first), expected(second), expected(third)]

    # JSON Lines out, and into a new dataset.
    out = tmp_path / "regressions.jsonl"
    result = await cli(settings, "datasets", "export", "regressions", "--project", "acme",
                       "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["source_run_id"] for line in lines] == [first["run"], second["run"], third["run"]]
    result = await cli(settings, "datasets", "import", "copy", "--project", "acme",
                       "--file", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    copied = await gql.ok(
        '{ dataset(name: "copy") { version examples(first: 10) { nodes { inputs outputs } } } }'
    )
    assert copied["dataset"]["version"] == 1
    assert copied["dataset"]["examples"]["nodes"] == [
        {"inputs": line["inputs"], "outputs": line["outputs"]} for line in lines
    ]


async def test_a_selection_must_choose_something(gql: GraphQLClient) -> None:
    error = await gql.error(BUILD, {"name": "x", "selection": {}})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "choose runs by" in error["message"]
