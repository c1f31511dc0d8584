"""Standard Webhooks signing: the secret format, and headers the library verifies."""

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sundial.service.webhook_signing import check_secret, generate_secret, signature_headers

BODY = '{"type": "schedule.auto_paused"}'


def test_generated_secrets_are_whsec_base64_of_32_random_bytes():
    first, second = generate_secret(), generate_secret()
    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
        check_secret(secret)


def test_signature_headers_verify_with_the_library():
    secret = generate_secret()
    now = datetime.now(UTC)
    headers = signature_headers(secret, "msg_1", now, BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == {"type": "schedule.auto_paused"}


def test_a_timestamp_in_another_zone_is_the_same_instant():
    secret = generate_secret()
    now = datetime.now(UTC)
    berlin = now.astimezone(timezone(timedelta(hours=1)))
    assert signature_headers(secret, "m", berlin, BODY) == signature_headers(secret, "m", now, BODY)
    Webhook(secret).verify(BODY, signature_headers(secret, "m", berlin, BODY))


def test_an_old_signature_is_refused_by_the_library():
    secret = generate_secret()
    stale = signature_headers(secret, "m", datetime.now(UTC) - timedelta(minutes=10), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, stale)


def test_a_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="timestamp must be timezone-aware"):
        signature_headers(generate_secret(), "m", datetime(2026, 12, 2), BODY)


def test_unpadded_secrets_are_accepted():
    check_secret(generate_secret().rstrip("="))
