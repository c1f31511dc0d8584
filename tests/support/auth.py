"""Credentials of the servers tests start: the bootstrap admin key's secret is fixed."""

ADMIN_SECRET = "sdl_test-admin-secret-0123456789abcdef"
AUTHORIZATION = f"Bearer {ADMIN_SECRET}"


def bearer(secret: str = ADMIN_SECRET) -> dict[str, str]:
    """The HTTP header that authenticates a REST call."""
    return {"Authorization": f"Bearer {secret}"}
