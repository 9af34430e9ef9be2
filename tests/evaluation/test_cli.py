"""`plaudit rules`: create from a JSON file, list, show, pause, resume, edit,
backfill and delete, against the test's database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from starlette.applications import Starlette

from app.cli import main
from app.settings import Settings
from tests.conftest import SECRET, GraphQLClient, services
from tests.evaluation.api import ingest, run, settled


def run_cli(settings: Settings, *args: str) -> Result:
    env = {
        "MONGODB_URI": settings.mongodb_uri or "",
        "PLAUDIT_DB": settings.db_name,
        "PLAUDIT_SECRET_KEYS": SECRET,
        "PLAUDIT_DATA_DIR": str(settings.data_dir),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def cli(settings: Settings, *args: str) -> Result:
    # The command runs its own event loop, so it runs in a thread beside the test's.
    return await asyncio.to_thread(run_cli, settings, *args)


def write(tmp_path: Path, name: str, rule: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(rule))
    return str(path)


async def test_rules_from_the_shell(
    app: Starlette, gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    await services(app).evaluation.worker.stop()  # the queue is read, not worked, at first
    await ingest(gql, [run(outputs="x" * n) for n in (3, 30)])
    rule = {
        "name": "short answers",
        "key": "short",
        "samplingRate": 1,
        "filter": {"rootOnly": True},
        "scorer": {"kind": "CHECK", "check": {"type": "LENGTH", "maxLength": 10}},
        "limits": {"callsPerMinute": 600},
    }
    created = await cli(
        settings, "rules", "create", "--project", "acme", "--file", write(tmp_path, "r.json", rule)
    )
    assert created.exit_code == 0, created.output
    assert "short answers  v1  active  key=short  rate=1  scorer=check:length" in created.output
    data = await gql.ok("{ evaluationRules { id limits { callsPerMinute } filter { rootOnly } } }")
    (shown,) = data["evaluationRules"]
    assert shown["limits"]["callsPerMinute"] == 600 and shown["filter"]["rootOnly"] is True
    rule_id = shown["id"]

    backfilled = await cli(
        settings, "rules", "backfill", "short answers", "--project", "acme", "--since", "2020-01-01"
    )
    assert backfilled.exit_code == 0, backfilled.output
    assert "scanned 2 runs, 2 sampled, 2 queued" in backfilled.output
    services(app).evaluation.worker.start()
    await settled(gql, rule_id, 2)

    paused = await cli(settings, "rules", "pause", rule_id, "--project", "acme")
    assert "paused" in paused.output
    listed = await cli(settings, "rules", "list", "--project", "acme")
    assert "paused" in listed.output and "sampled=2 evaluated=2" in listed.output
    resumed = await cli(settings, "rules", "resume", "short answers", "--project", "acme")
    assert "  active  " in resumed.output

    shown_rule = await cli(settings, "rules", "show", "short answers", "--project", "acme")
    assert shown_rule.exit_code == 0, shown_rule.output
    assert "sampled 2, evaluated 2" in shown_rule.output
    assert "0.500" in shown_rule.output  # one of two runs is short enough

    edited = await cli(
        settings, "rules", "edit", "short answers", "--project", "acme",
        "--file", write(tmp_path, "e.json", {**rule, "samplingRate": 0.5}),
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    assert "v2" in edited.output and "rate=0.5" in edited.output

    deleted = await cli(settings, "rules", "delete", "short answers", "--project", "acme")
    assert "deleted short answers" in deleted.output
    assert (await gql.ok("{ evaluationRules { id } }"))["evaluationRules"] == []


async def test_a_bad_rule_file_is_refused_with_the_reason(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    cases = [
        ({"name": "x", "samplingRate": 1}, "needs name, samplingRate and scorer"),
        (
            {"name": "x", "samplingRate": 1, "scorer": {"kind": "CHECK"}, "colour": "red"},
            "unknown field(s) colour",
        ),
        (
            {"name": "x", "key": "k", "samplingRate": 2, "scorer": {"kind": "CHECK"}},
            "samplingRate must be between 0 and 1",
        ),
        (
            {
                "name": "x",
                "key": "k",
                "samplingRate": 1,
                "scorer": {"kind": "CHECK", "check": {"type": "LENGTH"}},
            },
            "minLength, maxLength or both",
        ),
    ]
    for index, (rule, message) in enumerate(cases):
        path = write(tmp_path, f"bad{index}.json", rule)
        result = await cli(settings, "rules", "create", "--project", "acme", "--file", path)
        assert result.exit_code != 0
        assert message in result.output, (message, result.output)
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    result = await cli(settings, "rules", "create", "--project", "acme", "--file", str(not_json))
    assert "is not JSON" in result.output
