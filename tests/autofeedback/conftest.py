from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.autofeedback.fake_llm import FakeLLM, running_fake_llm


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with running_fake_llm() as fake:
        yield fake
