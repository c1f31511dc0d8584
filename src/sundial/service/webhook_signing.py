"""Standard Webhooks signatures (https://www.standardwebhooks.com) for outgoing webhooks:
the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, made by the
`standardwebhooks` library so that any receiver using it (or Svix's libraries) verifies them.

A secret is `whsec_` followed by base64 of random bytes, the library's format. The id is the
caller's (one per message, the same on every attempt, so a receiver can drop duplicates); the
timestamp is the attempt's, because receivers refuse a signature older than 5 minutes.
"""

import base64
import binascii
import re
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
# 32 bytes, the output size of HMAC-SHA256: a longer key adds no strength.
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24  # what Svix generates; shorter keys are refused
MAX_SECRET_BYTES = 64
# The id goes into a header and into the signed content `id.timestamp.body`: printable ASCII
# without spaces keeps both unambiguous.
_MESSAGE_ID = re.compile(r"[!-~]{1,256}")


def generate_secret() -> str:
    """A new signing secret in the `whsec_` format, from the operating system's CSPRNG."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_secret(secret: str, field: str = "secret") -> None:
    """Raise ValueError naming `field` unless `secret` is `whsec_` + base64 of 24-64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"{field} must start with {SECRET_PREFIX!r}")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{field} must be {SECRET_PREFIX!r} followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"{field} must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, got {len(key)}"
        )


def check_message_id(message_id: str, field: str = "id") -> None:
    """Raise ValueError naming `field` unless the id is 1-256 printable ASCII characters."""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(
            f"{field} must be 1 to 256 printable ASCII characters without spaces, "
            f"got {message_id!r}"
        )


def signature_headers(
    secret: str, message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt at sending `body`."""
    check_secret(secret)
    check_message_id(message_id)
    if timestamp.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware, got {timestamp!r}")
    # The library replaces (not converts) the time zone with UTC: hand it UTC.
    signature = Webhook(secret).sign(message_id, timestamp.astimezone(UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
