"""`plaudit rules ...`: online evaluation rules from the shell.

A rule is given as a JSON file with the fields of GraphQL's ``EvaluationRuleInput``
(camelCase; enum values as in GraphQL, e.g. ``"kind": "CHECK"``)::

    {"name": "answers are JSON", "key": "answer_json", "samplingRate": 0.3,
     "filter": {"tags": ["prod"], "rootOnly": true},
     "scorer": {"kind": "CHECK", "check": {"type": "VALID_JSON"}},
     "limits": {"callsPerMinute": 60}}
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from app.cli.common import with_settings_and_stores, with_stores
from app.domain.evaluation.definition import (
    AlertSpec,
    CheckSpec,
    Limits,
    RuleDefinition,
    RunFilterSpec,
    ScorerSpec,
)
from app.domain.evaluation.queue import EvaluationQueue
from app.domain.evaluation.rules import (
    backfill,
    create_rule,
    delete_rule,
    find_rule,
    set_rule_status,
    update_rule,
)
from app.domain.evaluation.stats import rule_counts, rule_quality
from app.domain.projects import find_project
from app.settings import Settings
from app.store import Stores
from app.store.evaluation_rules import EvaluationRule

CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
# Fields whose values are enum names in GraphQL, stored in lower case.
ENUMS = {"kind", "type", "target", "metric", "direction"}


class RuleFileError(click.ClickException):
    pass


def snake(name: str) -> str:
    return CAMEL.sub("_", name).lower()


def _fields(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where} must be a JSON object")
    fields = {snake(k): v for k, v in raw.items()}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    return {k: (v.lower() if k in ENUMS and isinstance(v, str) else v) for k, v in fields.items()}


def _allowed(cls: type) -> set[str]:
    return set(cls.__dataclass_fields__)  # type: ignore[attr-defined]


def definition_from_json(raw: Any) -> tuple[str, RuleDefinition]:
    """The rule's name and definition from the JSON file's object."""
    top = _fields(raw, "the rule", _allowed(RuleDefinition) | {"name"})
    if not isinstance(top.get("name"), str) or "scorer" not in top or "sampling_rate" not in top:
        raise RuleFileError("the rule needs name, samplingRate and scorer")
    try:
        filter_fields = _fields(top.get("filter") or {}, "filter", _allowed(RunFilterSpec))
        filter_fields["metadata"] = [
            (m["field"], m.get("value")) for m in filter_fields.get("metadata") or []
        ]
        scorer = _fields(top["scorer"], "scorer", _allowed(ScorerSpec))
        if scorer.get("check") is not None:
            scorer["check"] = CheckSpec(**_fields(scorer["check"], "check", _allowed(CheckSpec)))
        definition = RuleDefinition(
            filter=RunFilterSpec(**filter_fields),
            sampling_rate=float(top["sampling_rate"]),
            scorer=ScorerSpec(**scorer),
            key=top.get("key"),
            limits=Limits(**_fields(top.get("limits") or {}, "limits", _allowed(Limits))),
            alerts=[
                AlertSpec(**_fields(a, "alerts", _allowed(AlertSpec)))
                for a in top.get("alerts") or []
            ],
            description=top.get("description"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleFileError(f"the rule file is not a rule: {exc}") from None
    return top["name"], definition


def read_rule_file(path: str) -> tuple[str, RuleDefinition]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise RuleFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise RuleFileError(f"{path} is not JSON: {exc}") from None
    return definition_from_json(raw)


def describe(rule: EvaluationRule) -> str:
    definition = RuleDefinition.from_doc(rule.definition)
    scorer = definition.scorer.kind
    if definition.scorer.check is not None:
        scorer += f":{definition.scorer.check.type}"
    return (
        f"{rule.id}  {rule.name}  v{rule.version}  {rule.status}  key={definition.key}  "
        f"rate={definition.sampling_rate:g}  scorer={scorer}"
    )


@click.group()
def rules() -> None:
    """Online evaluation rules: score a sample of live runs continuously."""


project_option = click.option("--project", "project_name", required=True, help="Project name.")


@rules.command("list")
@project_option
def rules_list(project_name: str) -> None:
    """List the project's rules with their counts."""

    async def run(stores: Stores) -> list[str]:
        project = await find_project(stores, project_name)
        lines = []
        for rule in await stores.evaluation_rules.of_project(project.id):
            c = await rule_counts(stores, rule.id)
            lines.append(
                f"{describe(rule)}  sampled={c.sampled} evaluated={c.evaluated} "
                f"skipped_budget={c.skipped_budget} failed={c.failed} pending={c.pending}"
            )
        return lines

    for line in with_stores(run):
        click.echo(line)


@rules.command("create")
@project_option
@click.option("--file", "path", required=True, help="The rule as JSON (- for stdin).")
def rules_create(project_name: str, path: str) -> None:
    """Create a rule from a JSON file."""
    name, definition = read_rule_file(path)

    async def run(settings: Settings, stores: Stores) -> tuple[EvaluationRule, str | None]:
        project = await find_project(stores, project_name)
        saved = await create_rule(
            stores, settings, EvaluationQueue(stores), project.id, name, definition, "cli"
        )
        return saved.rule, saved.secret

    rule, secret = with_settings_and_stores(run)
    click.echo(f"created {describe(rule)}")
    if secret:
        click.echo(f"signing secret (shown once): {secret}")


@rules.command("edit")
@click.argument("rule")
@project_option
@click.option("--file", "path", required=True, help="The new definition as JSON (- for stdin).")
def rules_edit(rule: str, project_name: str, path: str) -> None:
    """Replace RULE's definition (by name or id): a new version."""
    name, definition = read_rule_file(path)

    async def run(settings: Settings, stores: Stores) -> tuple[EvaluationRule, str | None]:
        project = await find_project(stores, project_name)
        current = await find_rule(stores, project.id, rule)
        saved = await update_rule(
            stores,
            settings,
            EvaluationQueue(stores),
            project.id,
            current.id,
            name,
            definition,
            "cli",
        )
        return saved.rule, saved.secret

    saved, secret = with_settings_and_stores(run)
    click.echo(f"saved {describe(saved)}")
    if secret:
        click.echo(f"signing secret (shown once): {secret}")


def _set_status(rule: str, project_name: str, status: str) -> EvaluationRule:
    async def run(stores: Stores) -> EvaluationRule:
        project = await find_project(stores, project_name)
        found = await find_rule(stores, project.id, rule)
        return await set_rule_status(stores, EvaluationQueue(stores), project.id, found.id, status)

    return with_stores(run)


@rules.command("pause")
@click.argument("rule")
@project_option
def rules_pause(rule: str, project_name: str) -> None:
    """Pause RULE: no new runs are sampled; queued evaluations wait."""
    click.echo(describe(_set_status(rule, project_name, "paused")))


@rules.command("resume")
@click.argument("rule")
@project_option
def rules_resume(rule: str, project_name: str) -> None:
    """Resume a paused RULE."""
    click.echo(describe(_set_status(rule, project_name, "active")))


@rules.command("delete")
@click.argument("rule")
@project_option
def rules_delete(rule: str, project_name: str) -> None:
    """Delete RULE, its queue and numbers (the feedback it wrote stays)."""

    async def run(stores: Stores) -> str:
        project = await find_project(stores, project_name)
        found = await find_rule(stores, project.id, rule)
        await delete_rule(stores, EvaluationQueue(stores), project.id, found.id)
        return found.name

    click.echo(f"deleted {with_stores(run)}")


@rules.command("backfill")
@click.argument("rule")
@project_option
@click.option("--since", type=click.DateTime(), required=True, help="Runs started from (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Runs started before (UTC).")
def rules_backfill(rule: str, project_name: str, since: datetime, until: datetime | None) -> None:
    """Apply RULE, with the same sampling, to runs that started in a time window."""

    async def run(stores: Stores) -> str:
        project = await find_project(stores, project_name)
        found = await find_rule(stores, project.id, rule)
        result = await backfill(
            stores,
            EvaluationQueue(stores),
            project.id,
            found.id,
            since.replace(tzinfo=UTC),
            until.replace(tzinfo=UTC) if until else None,
        )
        line = f"scanned {result.scanned} runs, {result.sampled} sampled, {result.queued} queued"
        if result.resume_before is not None:
            line += f"; more runs: run again with --until {result.resume_before.isoformat()}"
        return line

    click.echo(with_stores(run))


@rules.command("show")
@click.argument("rule")
@project_option
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
def rules_show(rule: str, project_name: str, days: int) -> None:
    """RULE's counts, and its mean score and agreement with people per day."""

    async def run(stores: Stores) -> list[str]:
        project = await find_project(stores, project_name)
        found = await find_rule(stores, project.id, rule)
        c = await rule_counts(stores, found.id)
        since = datetime.now(UTC) - timedelta(days=days)
        report = await rule_quality(stores, found, since, None, "day")
        lines = [
            describe(found),
            f"sampled {c.sampled}, evaluated {c.evaluated}, skipped (budget) "
            f"{c.skipped_budget}, skipped (other) {c.skipped_other}, failed {c.failed}, "
            f"pending {c.pending}",
            "day          evaluated   mean  compared  agreement",
        ]
        for point in report.series:
            q = point.quality
            mean = f"{q.mean_score:.3f}" if q.mean_score is not None else "-"
            agreement = f"{q.agreement:.3f}" if q.agreement is not None else "-"
            lines.append(
                f"{point.time.date()}  {q.evaluated:>9}  {mean:>5}  {q.compared:>8}  {agreement:>9}"
            )
        return lines

    for line in with_stores(run):
        click.echo(line)
