"""`sundial mcp --http` refuses, at the HTTP layer, a request without a key or with one the
API does not accept (401 with `WWW-Authenticate: Bearer`), asking the API once per key and
trusting its verdict for KEY_VERDICT_TTL (a fake timer drives the expiry)."""

from typing import Any

import anyio
import pytest

from sundial.mcp.http_transport import KEY_VERDICT_TTL, BearerRequired

GOOD, BAD, UNKNOWN = "sdl_good", "sdl_bad", "sdl_unreachable"


class Api:
    """Stands in for the gRPC API: which keys it accepts, and how often it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def accepts(self, key: str) -> bool | None:
        self.asked.append(key)
        return {GOOD: True, BAD: False}.get(key)


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"mcp"})


def _status(app: BearerRequired, key: str | None) -> tuple[int, dict[str, str]]:
    headers = [] if key is None else [(b"authorization", f"Bearer {key}".encode())]
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def timer() -> Timer:
    return Timer()


@pytest.fixture
def app(api: Api, timer: Timer) -> BearerRequired:
    return BearerRequired(_inner, api.accepts, timer=timer)


@pytest.mark.parametrize(("key", "status"), [(None, 401), (BAD, 401), (GOOD, 200)], ids=str)
def test_a_request_is_refused_unless_the_api_accepts_its_key(app, key, status):
    got, headers = _status(app, key)
    assert got == status
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")


def test_a_key_is_checked_once_per_ttl_and_not_sent_when_missing(app, api, timer):
    for _ in range(3):
        assert _status(app, GOOD)[0] == 200
        assert _status(app, BAD)[0] == 401
    _status(app, None)
    assert api.asked == [GOOD, BAD]
    timer.now += KEY_VERDICT_TTL + 1
    assert _status(app, BAD)[0] == 401
    assert api.asked == [GOOD, BAD, BAD]


def test_a_key_the_api_cannot_judge_is_let_through_and_asked_again(app, api):
    # Unreachable: the tool call reports why, rather than a 401 that blames the key.
    assert _status(app, UNKNOWN)[0] == 200
    assert _status(app, UNKNOWN)[0] == 200
    assert api.asked == [UNKNOWN, UNKNOWN]
