"""The online evaluation settings read from the environment."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_defaults_and_values() -> None:
    default = Settings.from_env({})
    assert (default.evaluation_workers, default.evaluation_concurrency) == (True, 8)
    assert default.evaluation_lease_seconds == 360 and default.evaluation_retry_base_seconds == 30
    given = Settings.from_env(
        {
            "PLAUDIT_EVALUATION_WORKERS_OFF": "true",
            "PLAUDIT_EVALUATION_CONCURRENCY": "3",
            "PLAUDIT_EVALUATION_LEASE_SECONDS": "90",
            "PLAUDIT_EVALUATION_RETRY_BASE_SECONDS": "5",
            "PLAUDIT_EVALUATION_ALERT_SECONDS": "15",
        }
    )
    assert given.evaluation_workers is False
    assert (given.evaluation_concurrency, given.evaluation_lease_seconds) == (3, 90)
    assert (given.evaluation_retry_base_seconds, given.evaluation_alert_seconds) == (5, 15)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAUDIT_EVALUATION_CONCURRENCY", "0"),
        ("PLAUDIT_EVALUATION_LEASE_SECONDS", "5"),
        ("PLAUDIT_EVALUATION_WORKERS_OFF", "maybe"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})
    assert name in str(refused.value)
