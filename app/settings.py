"""Every environment variable Plaudit reads, typed, in one place."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(Exception):
    """A bad configuration value; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str | None = None
    db_name: str = "plaudit"
    data_dir: Path = Path(".plaudit")
    host: str = "127.0.0.1"
    port: int = 8000
    # How long an idle HTTP connection is kept open. Longer than a load balancer's
    # idle timeout (60 s on AWS ALB), so the balancer, never the server, closes it:
    # a server closing first races the next request on that connection (a 502 at
    # the balancer; a reset at a client that pools connections).
    keep_alive_seconds: int = 75
    secret_keys: tuple[str, ...] = ()
    public_url: str | None = None
    # Presigned tokens: default and largest lifetime, in seconds.
    token_default_ttl: int = 3 * 3600
    token_max_ttl: int = 30 * 24 * 3600
    # Feedback whose run never arrives is deleted this many seconds after it was
    # recorded, by a sweep this often (app/domain/pending_feedback.py).
    pending_feedback_ttl: int = 7 * 24 * 3600
    pending_feedback_sweep_seconds: float = 300.0
    # Proxies whose X-Forwarded-For is believed.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Public-route abuse limits ("N/period" in the `limits` notation).
    public_rate_limit_per_ip: str = "120/minute"
    public_rate_limit_per_token: str = "30/minute"
    max_body_bytes: int = 4 * 1024 * 1024
    # Public routes (widget posts, email links): body size and comment length caps.
    public_max_body_bytes: int = 16 * 1024
    public_max_comment_chars: int = 2000
    # Seconds an API key lookup is cached in-process.
    api_key_cache_seconds: float = 5.0
    # Bearer token for /metrics; unset: loopback clients only.
    metrics_token: str | None = None
    # Automatic feedback: an OpenAI-compatible chat completions endpoint (hosted, or
    # a local vLLM, Ollama or llama.cpp server). Unset: only the offline baseline.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 60.0
    llm_max_retries: int = 4
    llm_concurrency: int = 4
    embedded: bool = field(default=False)
    # Analytics and webhooks (app/domain/analytics/, app/domain/webhooks/).
    rollup_flush_seconds: float = 0.25
    webhook_max_attempts: int = 10
    webhook_retry_base_seconds: float = 30.0
    webhook_retry_max_seconds: float = 6 * 3600.0
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    webhook_retention_days: int = 30
    webhook_allow_private_networks: bool = False
    # Live events: "auto" (change streams when the server has them) or "in_process".
    live_source: str = "auto"
    # Online evaluation (app/domain/evaluation/): whether this process works the
    # queue, how many evaluations at once, how often it looks, how long a taken
    # evaluation is held (a dead process's are taken over after it), the first
    # retry's delay, how often alerts are checked, how long rules are cached on the
    # write path.
    evaluation_workers: bool = True
    evaluation_concurrency: int = 8
    evaluation_poll_seconds: float = 1.0
    evaluation_lease_seconds: float = 360.0
    evaluation_retry_base_seconds: float = 30.0
    evaluation_alert_seconds: float = 60.0
    evaluation_rule_cache_seconds: float = 5.0

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("PLAUDIT_DATA_DIR") or ".plaudit")
        mongodb_uri = env.get("MONGODB_URI") or None
        if mongodb_uri is not None and not mongodb_uri.startswith(("mongodb://", "mongodb+srv://")):
            raise SettingsError("MONGODB_URI must start with mongodb:// or mongodb+srv://")
        keys = _list(env.get("PLAUDIT_SECRET_KEYS", ""))
        for key in keys:
            if len(key) < 32:
                raise SettingsError(
                    "PLAUDIT_SECRET_KEYS: every key must be at least 32 characters long"
                )
        public_url = env.get("PLAUDIT_PUBLIC_URL") or None
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise SettingsError("PLAUDIT_PUBLIC_URL must start with http:// or https://")
        db_name = env.get("PLAUDIT_DB") or "plaudit"
        if any(c in db_name for c in '/\\. "$') or len(db_name) > 60:
            raise SettingsError(f"PLAUDIT_DB is not a valid database name: {db_name!r}")
        proxies = []
        for item in _list(env.get("PLAUDIT_TRUSTED_PROXIES", "")):
            try:
                proxies.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise SettingsError(
                    f"PLAUDIT_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                ) from None
        llm_base_url, llm_model = _llm_endpoint(env)
        return cls(
            mongodb_uri=mongodb_uri,
            db_name=db_name,
            data_dir=data_dir,
            host=env.get("PLAUDIT_HOST") or "127.0.0.1",
            port=_int(env, "PLAUDIT_PORT", 8000, 0, 65535),
            keep_alive_seconds=_int(env, "PLAUDIT_KEEP_ALIVE_SECONDS", 75, 1, 3600),
            secret_keys=tuple(keys),
            public_url=public_url,
            token_default_ttl=_int(env, "PLAUDIT_TOKEN_DEFAULT_TTL", 3 * 3600, 60, 10**9),
            token_max_ttl=_int(env, "PLAUDIT_TOKEN_MAX_TTL", 30 * 24 * 3600, 60, 10**9),
            pending_feedback_ttl=_int(
                env, "PLAUDIT_PENDING_FEEDBACK_TTL", 7 * 24 * 3600, 60, 10**9
            ),
            trusted_proxies=tuple(proxies),
            public_rate_limit_per_ip=_rate(env, "PLAUDIT_RATE_LIMIT_PER_IP", "120/minute"),
            public_rate_limit_per_token=_rate(env, "PLAUDIT_RATE_LIMIT_PER_TOKEN", "30/minute"),
            metrics_token=env.get("PLAUDIT_METRICS_TOKEN") or None,
            max_body_bytes=_int(env, "PLAUDIT_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024, 10**9),
            public_max_body_bytes=_int(
                env, "PLAUDIT_PUBLIC_MAX_BODY_BYTES", 16 * 1024, 1024, 10 * 1024 * 1024
            ),
            public_max_comment_chars=_int(env, "PLAUDIT_PUBLIC_MAX_COMMENT_CHARS", 2000, 1, 10_000),
            llm_base_url=llm_base_url,
            llm_model=llm_model,
            llm_api_key=env.get("PLAUDIT_LLM_API_KEY") or None,
            llm_timeout=float(_int(env, "PLAUDIT_LLM_TIMEOUT", 60, 1, 3600)),
            llm_max_retries=_int(env, "PLAUDIT_LLM_MAX_RETRIES", 4, 0, 20),
            llm_concurrency=_int(env, "PLAUDIT_LLM_CONCURRENCY", 4, 1, 256),
            embedded=mongodb_uri is None,
            rollup_flush_seconds=_int(env, "PLAUDIT_ROLLUP_FLUSH_MS", 250, 10, 60_000) / 1000,
            webhook_max_attempts=_int(env, "PLAUDIT_WEBHOOK_MAX_ATTEMPTS", 10, 1, 50),
            webhook_retry_base_seconds=_int(
                env, "PLAUDIT_WEBHOOK_RETRY_BASE_SECONDS", 30, 1, 86400
            ),
            webhook_timeout_seconds=_int(env, "PLAUDIT_WEBHOOK_TIMEOUT_SECONDS", 10, 1, 300),
            webhook_retention_days=_int(env, "PLAUDIT_WEBHOOK_RETENTION_DAYS", 30, 1, 3650),
            webhook_allow_private_networks=_flag(env, "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS"),
            live_source=_choice(env, "PLAUDIT_LIVE", ("auto", "in_process")),
            evaluation_workers=not _flag(env, "PLAUDIT_EVALUATION_WORKERS_OFF"),
            evaluation_concurrency=_int(env, "PLAUDIT_EVALUATION_CONCURRENCY", 8, 1, 256),
            evaluation_lease_seconds=float(
                _int(env, "PLAUDIT_EVALUATION_LEASE_SECONDS", 360, 10, 86400)
            ),
            evaluation_retry_base_seconds=float(
                _int(env, "PLAUDIT_EVALUATION_RETRY_BASE_SECONDS", 30, 1, 86400)
            ),
            evaluation_alert_seconds=float(
                _int(env, "PLAUDIT_EVALUATION_ALERT_SECONDS", 60, 1, 86400)
            ),
        )

    def with_secret_keys_from_data_dir(self) -> Settings:
        """In embedded mode with no PLAUDIT_SECRET_KEYS, use (or create) a key file
        in the data directory, readable by its owner only."""
        if self.secret_keys:
            return self
        if not self.embedded:
            raise SettingsError(
                "PLAUDIT_SECRET_KEYS must be set when MONGODB_URI is set "
                "(every app process must sign with the same keys)"
            )
        path = self.data_dir / "secret_keys"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
        keys = tuple(_list(path.read_text().replace("\n", ",")))
        if not keys:
            raise SettingsError(f"{path} is empty; delete it to generate a new key")
        return _replace(self, secret_keys=keys)


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]


def _llm_endpoint(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """PLAUDIT_LLM_BASE_URL and PLAUDIT_LLM_MODEL: both set, or neither."""
    base_url = env.get("PLAUDIT_LLM_BASE_URL") or None
    model = env.get("PLAUDIT_LLM_MODEL") or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise SettingsError(
            "PLAUDIT_LLM_BASE_URL must start with http:// or https:// "
            "(the API root, e.g. http://localhost:11434/v1)"
        )
    if base_url is not None and model is None:
        raise SettingsError("PLAUDIT_LLM_MODEL must be set when PLAUDIT_LLM_BASE_URL is set")
    if model is not None and base_url is None:
        raise SettingsError("PLAUDIT_LLM_BASE_URL must be set when PLAUDIT_LLM_MODEL is set")
    if env.get("PLAUDIT_LLM_API_KEY") and base_url is None:
        raise SettingsError("PLAUDIT_LLM_BASE_URL must be set when PLAUDIT_LLM_API_KEY is set")
    return (base_url.rstrip("/") if base_url else None), model


def _list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit in the `limits` notation ("30/minute", "5 per second")."""
    from limits import parse_many

    raw = env.get(name) or default
    try:
        parse_many(raw)
    except ValueError:
        raise SettingsError(f"{name} must be like 30/minute, got {raw!r}") from None
    return raw


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name) or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value
