"""Datasets and examples with the real Python SDK: created, read, listed (as of a
version and a time, by split), updated, deleted."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from langsmith import Client
from langsmith.utils import LangSmithConflictError, LangSmithError, LangSmithNotFoundError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys


def test_dataset_create_read_list_update_delete(
    make_client: Callable[..., Client], keys: Keys
) -> None:
    client = make_client()
    created = client.create_dataset(
        "qa-regressions",
        description="thumbs-down answers",
        metadata={"team": "search"},
        inputs_schema={"type": "object", "required": ["question"]},
    )
    assert created.name == "qa-regressions" and created.description == "thumbs-down answers"
    assert created.metadata is not None and created.metadata["team"] == "search"
    assert created.inputs_schema == {"type": "object", "required": ["question"]}
    assert created.example_count == 0
    with pytest.raises(LangSmithConflictError):
        client.create_dataset("qa-regressions")

    assert client.read_dataset(dataset_name="qa-regressions").id == created.id
    assert client.read_dataset(dataset_id=created.id).name == "qa-regressions"
    assert client.has_dataset(dataset_name="qa-regressions")
    assert not client.has_dataset(dataset_name="nope")
    with pytest.raises(LangSmithNotFoundError):
        client.read_dataset(dataset_id=uuid.uuid4())

    client.create_dataset("chat-set", metadata={"team": "chat"})
    assert {d.name for d in client.list_datasets()} == {"qa-regressions", "chat-set"}
    assert [d.name for d in client.list_datasets(dataset_name_contains="QA")] == ["qa-regressions"]
    assert [d.name for d in client.list_datasets(metadata={"team": "chat"})] == ["chat-set"]
    assert [d.name for d in client.list_datasets(dataset_ids=[created.id])] == ["qa-regressions"]

    client.delete_dataset(dataset_name="chat-set")
    assert [d.name for d in client.list_datasets()] == ["qa-regressions"]
    with pytest.raises(LangSmithNotFoundError):
        client.delete_dataset(dataset_id=uuid.uuid4())


def test_examples_are_versioned(make_client: Callable[..., Client], live: LiveServer) -> None:
    client = make_client()
    dataset = client.create_dataset("versions")
    first = client.create_examples(
        dataset_id=dataset.id,
        examples=[
            {"inputs": {"q": "2+2"}, "reference_outputs": {"a": "4"}, "split": "test"},
            {
                "inputs": {"q": "3+3"},
                "reference_outputs": {"a": "6"},
                "metadata": {"level": "easy"},
            },
        ],
    )
    assert first["count"] == 2
    assert client.read_dataset(dataset_id=dataset.id).example_count == 2
    # The time of version 1 (each version's time is after the one before).
    between = client.read_dataset_version(dataset_id=dataset.id, tag="latest").as_of
    one = client.create_example(
        inputs={"q": "5+5"},
        reference_outputs={"a": "10"},
        dataset_id=dataset.id,
        split=["train", "test"],
    )
    listed = list(client.list_examples(dataset_id=dataset.id))
    assert [e.inputs for e in listed] == [{"q": "2+2"}, {"q": "3+3"}, {"q": "5+5"}]
    assert listed[0].metadata == {"dataset_split": ["test"]}
    assert listed[1].metadata == {"level": "easy", "dataset_split": ["base"]}
    assert [
        e.inputs["q"] for e in client.list_examples(dataset_id=dataset.id, splits=["test"])
    ] == [
        "2+2",
        "5+5",
    ]
    assert [
        e.inputs["q"]
        for e in client.list_examples(dataset_name="versions", metadata={"level": "easy"})
    ] == ["3+3"]

    client.update_example(one.id, outputs={"a": "ten"})
    assert client.read_example(one.id).outputs == {"a": "ten"}
    client.delete_example(listed[0].id)
    now = [e.inputs["q"] for e in client.list_examples(dataset_id=dataset.id)]
    assert now == ["3+3", "5+5"]

    # As of a time: before the third example was added, the first two.
    before = [e.inputs["q"] for e in client.list_examples(dataset_id=dataset.id, as_of=between)]
    assert before == ["2+2", "3+3"]
    # As of a version: v2 had the third example with its first output.
    at_v2 = {
        e.inputs["q"]: e.outputs for e in client.list_examples(dataset_id=dataset.id, as_of="v2")
    }
    assert at_v2 == {"2+2": {"a": "4"}, "3+3": {"a": "6"}, "5+5": {"a": "10"}}
    # A deleted example reads back as of a time it was there.
    assert client.read_example(listed[0].id, as_of=between).inputs == {"q": "2+2"}
    with pytest.raises(LangSmithNotFoundError):
        client.read_example(listed[0].id)
    versions = list(client.list_dataset_versions(dataset_id=dataset.id))
    assert [v.tags for v in versions] == [["v4"], ["v3"], ["v2"], ["v1"]]
    latest = client.read_dataset_version(dataset_id=dataset.id, tag="latest")
    assert latest.tags == ["v4"]

    # The dataset's inputs schema holds every example to it.
    strict = client.create_dataset("strict", inputs_schema={"type": "object", "required": ["q"]})
    with pytest.raises(LangSmithError, match="inputs does not match the dataset"):
        client.create_examples(dataset_id=strict.id, examples=[{"inputs": {"x": 1}}])
    assert list(client.list_examples(dataset_id=strict.id)) == []
    del live
