from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.settings import Settings
from tests.autofeedback.fake_llm import FakeLLM, running_fake_llm
from tests.evaluation.receiver import Receiver, running_receiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Retries come quickly, and the worker looks often: tests wait for outcomes.
    return replace(settings, evaluation_poll_seconds=0.05, evaluation_retry_base_seconds=0.01)


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with running_fake_llm() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
