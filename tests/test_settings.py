from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from app.settings import Settings, SettingsError
from app.store.embedded.server import EmbeddedMongo, EmbeddedStartError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.mongodb_uri is None and s.embedded
    assert (s.host, s.port, s.db_name) == ("127.0.0.1", 8000, "plaudit")
    assert s.data_dir == Path(".plaudit")
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.keep_alive_seconds == 75  # above AWS ALB's 60 s idle timeout


def test_values() -> None:
    s = Settings.from_env(
        {
            "MONGODB_URI": "mongodb://db:27017",
            "PLAUDIT_DB": "fb",
            "PLAUDIT_PORT": "9000",
            "PLAUDIT_KEEP_ALIVE_SECONDS": "350",
            "PLAUDIT_SECRET_KEYS": "a" * 32 + ", " + "b" * 40,
            "PLAUDIT_PUBLIC_URL": "https://fb.example.com/",
            "PLAUDIT_TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1",
        }
    )
    assert not s.embedded
    assert s.secret_keys == ("a" * 32, "b" * 40)
    assert s.base_url == "https://fb.example.com"
    assert len(s.trusted_proxies) == 2
    assert s.keep_alive_seconds == 350


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PLAUDIT_PORT": "x"}, "PLAUDIT_PORT must be a whole number"),
        ({"PLAUDIT_PORT": "70000"}, "PLAUDIT_PORT must be between 0 and 65535"),
        ({"PLAUDIT_KEEP_ALIVE_SECONDS": "0"}, "PLAUDIT_KEEP_ALIVE_SECONDS must be between 1"),
        ({"MONGODB_URI": "postgres://x"}, "MONGODB_URI must start with mongodb://"),
        ({"PLAUDIT_SECRET_KEYS": "short"}, "PLAUDIT_SECRET_KEYS: every key must be at least 32"),
        ({"PLAUDIT_PUBLIC_URL": "example.com"}, "PLAUDIT_PUBLIC_URL must start with http"),
        ({"PLAUDIT_DB": "a.b"}, "PLAUDIT_DB is not a valid database name"),
        ({"PLAUDIT_TRUSTED_PROXIES": "nope"}, "PLAUDIT_TRUSTED_PROXIES: 'nope'"),
        ({"PLAUDIT_LLM_BASE_URL": "localhost:11434"}, "PLAUDIT_LLM_BASE_URL must start with"),
        ({"PLAUDIT_LLM_BASE_URL": "http://x/v1"}, "PLAUDIT_LLM_MODEL must be set when"),
        ({"PLAUDIT_LLM_MODEL": "m"}, "PLAUDIT_LLM_BASE_URL must be set when PLAUDIT_LLM_MODEL"),
        ({"PLAUDIT_LLM_API_KEY": "k"}, "PLAUDIT_LLM_BASE_URL must be set when PLAUDIT_LLM_API"),
        ({"PLAUDIT_LLM_TIMEOUT": "0"}, "PLAUDIT_LLM_TIMEOUT must be between 1 and 3600"),
        ({"PLAUDIT_LLM_MAX_RETRIES": "x"}, "PLAUDIT_LLM_MAX_RETRIES must be a whole number"),
        ({"PLAUDIT_LLM_CONCURRENCY": "0"}, "PLAUDIT_LLM_CONCURRENCY must be between 1 and 256"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_llm_settings() -> None:
    s = Settings.from_env({})
    assert (s.llm_base_url, s.llm_model, s.llm_api_key) == (None, None, None)
    s = Settings.from_env(
        {
            "PLAUDIT_LLM_BASE_URL": "http://localhost:11434/v1/",
            "PLAUDIT_LLM_MODEL": "llama3.1",
            "PLAUDIT_LLM_API_KEY": "sk-secret-value",
            "PLAUDIT_LLM_TIMEOUT": "30",
            "PLAUDIT_LLM_MAX_RETRIES": "0",
            "PLAUDIT_LLM_CONCURRENCY": "8",
        }
    )
    assert s.llm_base_url == "http://localhost:11434/v1"
    assert (s.llm_model, s.llm_api_key) == ("llama3.1", "sk-secret-value")
    assert (s.llm_timeout, s.llm_max_retries, s.llm_concurrency) == (30.0, 0, 8)
    assert "sk-secret-value" not in repr(s)


def test_secret_keys_generated_once_in_embedded_mode(tmp_path: Path) -> None:
    s = Settings.from_env({"PLAUDIT_DATA_DIR": str(tmp_path)})
    first = s.with_secret_keys_from_data_dir()
    second = s.with_secret_keys_from_data_dir()
    assert first.secret_keys == second.secret_keys and len(first.secret_keys[0]) >= 32
    assert (tmp_path / "secret_keys").stat().st_mode & 0o777 == 0o600


def test_secret_keys_required_with_external_database(tmp_path: Path) -> None:
    s = Settings.from_env({"MONGODB_URI": "mongodb://x", "PLAUDIT_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="PLAUDIT_SECRET_KEYS must be set"):
        s.with_secret_keys_from_data_dir()


def test_embedded_failure_says_why(tmp_path: Path) -> None:
    # A file where the storage directory should be: the server cannot start.
    (tmp_path / "db").write_text("not a directory")
    with pytest.raises(EmbeddedStartError) as caught:
        EmbeddedMongo(tmp_path, timeout=20).start()
    assert str(caught.value) == (f"cannot create the data directory {tmp_path / 'db'}: File exists")


def test_two_servers_on_one_data_dir(tmp_path: Path) -> None:
    with EmbeddedMongo(tmp_path):
        with pytest.raises(EmbeddedStartError) as caught:
            EmbeddedMongo(tmp_path, timeout=20).start()
        assert f"is in use by another process (pid {os.getpid()}," in str(caught.value)


def test_embedded_store_is_used_without_retryable_writes(tmp_path: Path) -> None:
    """SecantusDB slows down ~15x once it holds 10,000 retryable-write replies
    (app/store/embedded/server.py), so the embedded URI turns them off."""
    client: MongoClient[dict[str, Any]] = MongoClient(
        EmbeddedMongo(tmp_path, port=27017).uri, connect=False
    )
    try:
        assert client.options.retry_writes is False
        assert client.options.direct_connection is True
    finally:
        client.close()
