"""`plaudit tokens create | email-links | revoke` against the test database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner

from app.cli import main
from app.domain.tokens import feedback_token_serializer
from app.settings import Settings
from tests.conftest import SECRET


def run_cli(settings: Settings, *args: str) -> str:
    assert settings.mongodb_uri is not None
    env = {
        "MONGODB_URI": settings.mongodb_uri,
        "PLAUDIT_DB": settings.db_name,
        "PLAUDIT_SECRET_KEYS": SECRET,
        "PLAUDIT_PUBLIC_URL": "https://plaudit.example",
        "PLAUDIT_DATA_DIR": str(settings.data_dir),
    }
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tokens_commands(settings: Settings, sync_db: Any) -> None:
    run_cli(settings, "projects", "create", "acme")
    project = sync_db.projects.find_one({"name": "acme"})
    run_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    sync_db.runs.insert_one(
        {
            "_id": run_id,
            "project_id": project["_id"],
            "start_time": now,
            "created_at": now,
            "updated_at": now,
            "tags": [],
        }
    )
    common = ["--project", "acme", "--run", run_id, "--key", "helpful"]
    out = json.loads(run_cli(settings, "tokens", "create", *common, "--max-uses", "3", "--json"))
    claims = feedback_token_serializer([SECRET]).loads(out["token"], max_age=60)
    assert claims == {"jti": out["id"], "run": run_id, "key": "helpful"}
    assert out["email_url"] == f"https://plaudit.example/f/{out['token']}"
    assert 'src="https://plaudit.example/widget.js"' in out["widget_snippet"]
    record = sync_db.feedback_tokens.find_one({"_id": out["id"]})
    assert record["max_uses"] == 3 and record["created_by"] == "cli"

    text = run_cli(settings, "tokens", "email-links", *common, "--origin", "https://a.example")
    up, down = (line.split(": ", 1)[1] for line in text.splitlines()[1:3])
    assert up.startswith("https://plaudit.example/f/") and up.endswith("?score=1")
    assert down.endswith("?score=0") and up.rsplit("?", 1)[0] == down.rsplit("?", 1)[0]
    html = run_cli(settings, "tokens", "email-links", *common, "--format", "html")
    assert html.count('<a href="https://plaudit.example/f/') == 2

    # A 0-10 key: one link per answer, and the question given with --prompt.
    sync_db.feedback_keys.insert_one(
        {
            "_id": str(uuid.uuid4()),
            "project_id": project["_id"],
            "key": "nps",
            "kind": "continuous",
            "min": 0,
            "max": 10,
            "created_at": now,
            "updated_at": now,
        }
    )
    nps = ["--project", "acme", "--run", run_id, "--key", "nps"]
    asked = ["--prompt", "How likely are you to recommend us?", "--format", "json"]
    links = json.loads(run_cli(settings, "tokens", "email-links", *nps, *asked))
    assert links["question"] == "How likely are you to recommend us?"
    assert [c["label"] for c in links["choices"]] == [str(n) for n in range(11)]
    assert links["up"] == links["choices"][10]["url"] and links["up"].endswith("?score=10")
    assert links["down"] == links["choices"][0]["url"] and links["down"].endswith("?score=0")
    assert links["page"] == links["up"].rsplit("?", 1)[0]
    record = sync_db.feedback_tokens.find_one({"_id": links["id"]})
    assert record["prompt"] == "How likely are you to recommend us?"

    assert run_cli(settings, "tokens", "revoke", "--project", "acme", out["id"]).startswith(
        "revoked"
    )
    assert sync_db.feedback_tokens.find_one({"_id": out["id"]})["revoked_at"] is not None


def test_another_projects_run_is_a_clear_error(settings: Settings, sync_db: Any) -> None:
    """A run no project has yet gets a token (its feedback waits for the run); a
    run of another project does not."""
    run_cli(settings, "projects", "create", "acme")
    run_cli(settings, "projects", "create", "globex")
    theirs, now = str(uuid.uuid4()), datetime.now(UTC)
    globex = sync_db.projects.find_one({"name": "globex"})["_id"]
    sync_db.runs.insert_one(
        {
            "_id": theirs,
            "project_id": globex,
            "start_time": now,
            "created_at": now,
            "updated_at": now,
            "tags": [],
        }
    )
    env = {
        "MONGODB_URI": settings.mongodb_uri or "",
        "PLAUDIT_DB": settings.db_name,
        "PLAUDIT_SECRET_KEYS": SECRET,
    }
    result = CliRunner().invoke(
        main, ["tokens", "create", "--project", "acme", "--run", theirs, "--key", "k"], env=env
    )
    assert result.exit_code == 1 and "not found" in result.output
    assert sync_db.feedback_tokens.count_documents({}) == 0
    not_yet = str(uuid.uuid4())
    out = run_cli(settings, "tokens", "create", "--project", "acme", "--run", not_yet, "--key", "k")
    assert out and sync_db.feedback_tokens.count_documents({"run_id": not_yet}) == 1
