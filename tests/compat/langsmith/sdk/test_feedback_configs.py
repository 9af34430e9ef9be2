"""Feedback configs with the real langsmith SDK: they are Plaudit's feedback keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langsmith import Client
from langsmith.utils import LangSmithError, LangSmithNotFoundError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

KEYS = "{ feedbackKeys { key kind min max higherIsBetter categories { value label } } }"


def plaudit_keys(live: LiveServer, keys: Keys) -> dict[str, Any]:
    return {k["key"]: k for k in live.graphql(keys.read, KEYS)["feedbackKeys"]}


def test_create_list_update_delete(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    rating = client.create_feedback_config(
        "rating", feedback_config={"type": "continuous", "min": 0, "max": 5}
    )
    assert rating.feedback_key == "rating" and str(rating.tenant_id) == keys.project_id
    assert rating.is_lower_score_better is False
    client.create_feedback_config(
        "topic",
        feedback_config={
            "type": "categorical",
            "categories": [{"value": 0, "label": "billing"}, {"value": 1}],
        },
    )
    client.create_feedback_config(
        "latency", feedback_config={"type": "freeform"}, is_lower_score_better=True
    )

    stored = plaudit_keys(live, keys)
    assert (stored["rating"]["kind"], stored["rating"]["min"], stored["rating"]["max"]) == (
        "CONTINUOUS",
        0,
        5,
    )
    # A category without a label is labelled by its value.
    assert stored["topic"]["categories"] == [
        {"value": 0, "label": "billing"},
        {"value": 1, "label": "1"},
    ]
    assert stored["latency"]["kind"] == "FREEFORM"
    assert stored["latency"]["higherIsBetter"] is False

    listed = {c.feedback_key: c for c in client.list_feedback_configs()}
    assert set(listed) == {"rating", "topic", "latency"}
    assert listed["topic"].feedback_config["type"] == "categorical"
    assert [c.feedback_key for c in client.list_feedback_configs(feedback_key=["rating"])] == [
        "rating"
    ]
    assert [c.feedback_key for c in client.list_feedback_configs(name_contains="TOP")] == ["topic"]

    # The same config again is returned unchanged; a different one is refused.
    again = client.create_feedback_config(
        "rating", feedback_config={"type": "continuous", "min": 0, "max": 5}
    )
    assert again.id == rating.id
    with pytest.raises(LangSmithError, match="already exists"):
        client.create_feedback_config(
            "rating", feedback_config={"type": "continuous", "min": 0, "max": 10}
        )

    updated = client.update_feedback_config(
        "rating",
        feedback_config={"type": "continuous", "min": 1, "max": 10},
        is_lower_score_better=True,
    )
    assert updated.is_lower_score_better is True
    assert updated.feedback_config["max"] == 10
    client.add_feedback_categories("topic", [{"value": 2, "label": "returns"}])
    client.remove_feedback_categories("topic", [0])
    stored = plaudit_keys(live, keys)
    assert (stored["rating"]["max"], stored["rating"]["higherIsBetter"]) == (10, False)
    assert [c["label"] for c in stored["topic"]["categories"]] == ["1", "returns"]

    client.delete_feedback_config("latency")
    client.delete_feedback_config(config_id=rating.id)
    assert set(plaudit_keys(live, keys)) == {"topic"}
    with pytest.raises(LangSmithNotFoundError):
        client.update_feedback_config("latency", is_lower_score_better=False)


def test_configs_plaudit_cannot_keep_are_refused(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    with pytest.raises(LangSmithError, match="allows_multiple_categories"):
        client.create_feedback_config(
            "tags",
            feedback_config={
                "type": "categorical",
                "categories": [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}],
                "allows_multiple_categories": True,
            },
        )
    with pytest.raises(LangSmithError, match="at least two categories"):
        client.create_feedback_config(
            "tags", feedback_config={"type": "categorical", "categories": [{"value": 0}]}
        )
    assert plaudit_keys(live, keys) == {}


def test_only_admin_keys_manage_configs_and_projects_stay_apart(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, other_keys: Keys
) -> None:
    make_client().create_feedback_config("rating", feedback_config={"type": "freeform"})
    ingester = make_client(keys.ingest)
    with pytest.raises(LangSmithError, match="cannot admin"):
        ingester.create_feedback_config("other", feedback_config={"type": "freeform"})
    with pytest.raises(LangSmithError, match="cannot admin"):
        ingester.delete_feedback_config("rating")
    reader = make_client(keys.read)
    assert [c.feedback_key for c in reader.list_feedback_configs()] == ["rating"]

    stranger = make_client(other_keys.admin)
    assert list(stranger.list_feedback_configs()) == []
    with pytest.raises(LangSmithNotFoundError):
        stranger.delete_feedback_config("rating")
    assert set(plaudit_keys(live, keys)) == {"rating"}
