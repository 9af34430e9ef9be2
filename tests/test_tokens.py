"""Signed tokens with a frozen clock, and the token rules that need the record."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from app.domain.feedback_tokens import (
    Claims,
    Submission,
    TokenRequest,
    TokenRevoked,
    TokenUsedUp,
    create_tokens,
    open_token,
    read_claims,
    revoke_token,
    submit_feedback,
)
from app.domain.runs import RunWrite, ingest_runs
from app.domain.tokens import (
    FEEDBACK_TOKEN_SALT,
    InvalidToken,
    TokenExpired,
    TokenSerializer,
    feedback_token_serializer,
)
from tests.conftest import Keys, services

OLD_KEY = "old-secret-" + "o" * 32
NEW_KEY = "new-secret-" + "n" * 32
PAYLOAD = {"jti": "j1", "run": "r1", "key": "helpful"}


class FrozenClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_valid_token_round_trips() -> None:
    clock = FrozenClock()
    serializer = feedback_token_serializer([NEW_KEY], clock)
    token = serializer.dumps(PAYLOAD)
    clock.now += 3599
    assert serializer.loads(token, max_age=3600) == PAYLOAD


def test_tampered_token_is_invalid() -> None:
    serializer = feedback_token_serializer([NEW_KEY], FrozenClock())
    token = serializer.dumps(PAYLOAD)
    payload_part, _, rest = token.partition(".")
    # Change the payload but keep the signature.
    forged = feedback_token_serializer([NEW_KEY], FrozenClock()).dumps({**PAYLOAD, "run": "r2"})
    with pytest.raises(InvalidToken):
        serializer.loads(forged.partition(".")[0] + "." + rest, max_age=3600)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        serializer.loads(flipped, max_age=3600)
    with pytest.raises(InvalidToken):
        serializer.loads(token[:-5], max_age=3600)
    assert payload_part


def test_wrong_salt_is_invalid() -> None:
    clock = FrozenClock()
    other_purpose = TokenSerializer([NEW_KEY], "plaudit.some-other-purpose", clock)
    token = other_purpose.dumps(PAYLOAD)
    with pytest.raises(InvalidToken):
        feedback_token_serializer([NEW_KEY], clock).loads(token, max_age=3600)
    assert (
        TokenSerializer([NEW_KEY], FEEDBACK_TOKEN_SALT, clock).loads(
            feedback_token_serializer([NEW_KEY], clock).dumps(PAYLOAD), max_age=3600
        )
        == PAYLOAD
    )


def test_expired_signature_is_told_from_a_bad_one() -> None:
    clock = FrozenClock()
    serializer = feedback_token_serializer([NEW_KEY], clock)
    token = serializer.dumps(PAYLOAD)
    clock.now += 3601
    with pytest.raises(TokenExpired) as expired:
        serializer.loads(token, max_age=3600)
    assert expired.value.http_status == 410 and expired.value.code == "TOKEN_EXPIRED"
    with pytest.raises(InvalidToken) as bad:
        serializer.loads(token + "x", max_age=3600)
    assert bad.value.http_status == 401 and bad.value.code == "INVALID_TOKEN"


def test_rotated_key_still_verifies_old_tokens_and_signs_with_the_newest() -> None:
    clock = FrozenClock()
    before = feedback_token_serializer([OLD_KEY], clock)
    after = feedback_token_serializer([OLD_KEY, NEW_KEY], clock)
    old_token = before.dumps(PAYLOAD)
    assert after.loads(old_token, max_age=60) == PAYLOAD
    new_token = after.dumps(PAYLOAD)
    # Signed with the newest key: the new key alone verifies it, the old one does not.
    assert feedback_token_serializer([NEW_KEY], clock).loads(new_token, max_age=60) == PAYLOAD
    with pytest.raises(InvalidToken):
        before.loads(new_token, max_age=60)
    # Once the old key is dropped, its tokens stop working.
    with pytest.raises(InvalidToken):
        feedback_token_serializer([NEW_KEY], clock).loads(old_token, max_age=60)


def test_no_secret_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="PLAUDIT_SECRET_KEYS"):
        feedback_token_serializer([])


async def _issue(app: Starlette, keys: Keys, **options: object) -> tuple[str, str, Claims]:
    svc = services(app)
    run_id = str(uuid.uuid4())
    await ingest_runs(svc.stores, keys.project_id, [RunWrite(id=run_id)])
    [issued] = await create_tokens(
        svc.stores,
        svc.feedback_tokens,
        svc.settings,
        keys.project_id,
        [TokenRequest(run_id=run_id, key="helpful", **options)],  # type: ignore[arg-type]
        "test",
    )
    return run_id, issued.token, read_claims(svc.feedback_tokens, svc.settings, issued.token)


async def _submit(app: Starlette, claims: Claims, score: object = 1) -> None:
    await submit_feedback(
        services(app).stores,
        claims,
        Submission({"score": score}),
        via="widget",
        origin=None,
        same_origins=(),
        client="c",
        limit=services(app).public_limits,
    )


async def test_revoked_token_is_refused(app: Starlette, keys: Keys) -> None:
    _, _, claims = await _issue(app, keys)
    assert (await open_token(services(app).stores, claims)).revoked_at is None
    await revoke_token(services(app).stores, keys.project_id, claims.jti)
    with pytest.raises(TokenRevoked):
        await open_token(services(app).stores, claims)
    with pytest.raises(TokenRevoked):
        await _submit(app, claims)


async def test_used_up_token_is_refused(app: Starlette, keys: Keys) -> None:
    _, _, claims = await _issue(app, keys, max_uses=2)
    await _submit(app, claims, 1)
    await _submit(app, claims, 0)
    with pytest.raises(TokenUsedUp):
        await _submit(app, claims, 1)
    with pytest.raises(TokenUsedUp):
        await open_token(services(app).stores, claims)
    record = await services(app).stores.feedback_tokens.get(claims.jti)
    assert record is not None and record.uses == 2


async def test_unlimited_token_counts_no_uses(app: Starlette, keys: Keys) -> None:
    _, _, claims = await _issue(app, keys)
    for score in (1, 0, 1):
        await _submit(app, claims, score)
    record = await services(app).stores.feedback_tokens.get(claims.jti)
    assert record is not None and record.uses == 0 and record.max_uses is None


async def test_token_for_another_run_is_invalid(app: Starlette, keys: Keys) -> None:
    svc = services(app)
    _, _, claims = await _issue(app, keys)
    # A correctly signed token naming this record but another run (or key).
    for wrong in ({"run": str(uuid.uuid4())}, {"key": "other"}):
        payload = {"jti": claims.jti, "run": claims.run_id, "key": claims.key, **wrong}
        token = svc.feedback_tokens.dumps(payload)
        wrong_claims = read_claims(svc.feedback_tokens, svc.settings, token)
        with pytest.raises(InvalidToken):
            await open_token(svc.stores, wrong_claims)
        with pytest.raises(InvalidToken):
            await _submit(app, wrong_claims)
    assert await svc.stores.feedback.for_runs(keys.project_id, [claims.run_id]) == []


async def test_record_expiry_is_checked_on_use(app: Starlette, keys: Keys) -> None:
    svc = services(app)
    _, _, claims = await _issue(app, keys, expires_in=60)
    await svc.stores.feedback_tokens.collection.update_one(
        {"_id": claims.jti}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    with pytest.raises(TokenExpired):
        await open_token(svc.stores, claims)
    with pytest.raises(TokenExpired):
        await _submit(app, claims)
    # Removed by the TTL monitor: still expired, not "invalid".
    await svc.stores.feedback_tokens.collection.delete_one({"_id": claims.jti})
    with pytest.raises(TokenExpired):
        await _submit(app, claims)


async def test_signature_max_age_is_the_largest_token_lifetime(app: Starlette, keys: Keys) -> None:
    svc = services(app)
    clock = FrozenClock(1_700_000_000.0)
    serializer = feedback_token_serializer(svc.settings.secret_keys, clock)
    token = serializer.dumps(PAYLOAD)
    clock.now += svc.settings.token_max_ttl + 1
    settings = replace(svc.settings)
    with pytest.raises(TokenExpired):
        read_claims(serializer, settings, token)
