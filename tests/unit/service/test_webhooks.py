"""WebhookSender against a real local HTTP receiver: outcomes, signatures, body cap, no
redirects, bounded concurrency, and the SSRF guard at connect time."""

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sundial.domain.clock import FakeClock
from sundial.service.webhook_signing import generate_secret
from sundial.service.webhooks import (
    ErrorKind,
    WebhookMessage,
    WebhookSender,
    WebhookTarget,
)
from tests.support.webhook_receiver import Receiver, receiving

SECRET = generate_secret()
MESSAGE = WebhookMessage(id="msg_01JABCDEF", body='{"type": "objective.succeeded", "n": 1}')


@pytest.fixture
def clock() -> FakeClock:
    # Near the real time: standardwebhooks refuses signatures more than 5 minutes off.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def sender(clock: FakeClock) -> Iterator[WebhookSender]:
    with WebhookSender(clock, allow_private_targets=True) as local:
        yield local


@pytest.fixture
def guarded(clock: FakeClock) -> Iterator[WebhookSender]:
    with WebhookSender(clock) as production:
        yield production


def target(url: str, **fields: object) -> WebhookTarget:
    return WebhookTarget(url=url, secret=SECRET, **fields)  # type: ignore[arg-type]


def test_a_2xx_succeeds_with_the_response_body(sender, receiver):
    receiver.reply("/hook", status=201, body=b'{"answer": 42}')
    outcome = sender.send(target(receiver.url("/hook")), MESSAGE)
    assert outcome.succeeded
    assert (outcome.status, outcome.error, outcome.body) == (201, None, b'{"answer": 42}')
    assert not outcome.body_truncated
    assert outcome.duration > timedelta(0)
    [request] = receiver.requests
    assert request.body == MESSAGE.body.encode()
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("status", [400, 404, 410, 500, 503], ids=str)
def test_other_statuses_fail_with_the_status_and_body(sender, receiver, status):
    receiver.reply("/hook", status=status, body=b"nope")
    outcome = sender.send(target(receiver.url("/hook")), MESSAGE)
    assert not outcome.succeeded
    assert (outcome.status, outcome.error, outcome.body) == (status, ErrorKind.HTTP_STATUS, b"nope")
    assert outcome.retry_after is None


def test_signatures_verify_with_standardwebhooks_and_keep_the_id_across_attempts(
    sender, receiver, clock
):
    sender.send(target(receiver.url("/hook")), MESSAGE)
    clock.advance(timedelta(seconds=30))
    sender.send(target(receiver.url("/hook")), MESSAGE)
    first, second = receiver.requests
    for request in (first, second):
        assert Webhook(SECRET).verify(request.body, request.headers) == json.loads(MESSAGE.body)
        assert request.headers["webhook-id"] == MESSAGE.id
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 30
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(first.body, first.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(first.body + b" ", first.headers)


def test_extra_headers_are_sent(sender, receiver):
    sender.send(target(receiver.url("/hook"), headers={"X-Team": "alerts"}), MESSAGE)
    assert receiver.requests[0].headers["x-team"] == "alerts"


def test_a_target_that_does_not_answer_in_time_times_out(sender, receiver):
    receiver.reply("/slow", hold=threading.Event())
    outcome = sender.send(target(receiver.url("/slow"), timeout=timedelta(seconds=0.3)), MESSAGE)
    assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
    assert "0.3 s" in outcome.detail


def test_a_body_still_arriving_at_the_deadline_times_out(clock, receiver):
    # The monotonic clock jumps past the 10 s deadline after the first chunk of the body.
    readings = iter([0.0, 0.0, *[100.0] * 1000])
    receiver.reply("/drip", body=b"x" * (1024 * 1024))
    with WebhookSender(
        clock, allow_private_targets=True, body_cap=2**24, monotonic=lambda: next(readings)
    ) as slow:
        outcome = slow.send(target(receiver.url("/drip")), MESSAGE)
    assert outcome.error == ErrorKind.TIMEOUT


def test_a_refused_connection_is_a_connection_error(sender):
    with socket.socket() as bound:  # bound but not listening: the kernel answers RST
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        outcome = sender.send(target(f"http://127.0.0.1:{port}/hook"), MESSAGE)
    assert (outcome.status, outcome.error) == (None, ErrorKind.CONNECTION)
    assert "ConnectError" in outcome.detail


def test_retry_after_in_seconds_is_parsed(sender, receiver):
    receiver.reply("/busy", status=503, headers={"Retry-After": "120"})
    outcome = sender.send(target(receiver.url("/busy")), MESSAGE)
    assert (outcome.status, outcome.retry_after) == (503, timedelta(seconds=120))


def test_retry_after_as_an_http_date_is_parsed_against_the_clock(sender, receiver, clock):
    when = format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)
    receiver.reply("/busy", status=429, headers={"Retry-After": when})
    outcome = sender.send(target(receiver.url("/busy")), MESSAGE)
    assert (outcome.status, outcome.retry_after) == (429, timedelta(seconds=90))


def test_a_large_body_is_read_up_to_the_cap(sender, receiver):
    receiver.reply("/big", body=b"y" * (1024 * 1024))
    outcome = sender.send(target(receiver.url("/big")), MESSAGE)
    assert outcome.succeeded
    assert outcome.body == b"y" * (64 * 1024)
    assert outcome.body_truncated


def test_a_body_exactly_at_the_cap_is_whole(clock, receiver):
    receiver.reply("/exact", body=b"z" * 1000)
    with WebhookSender(clock, allow_private_targets=True, body_cap=1000) as capped:
        outcome = capped.send(target(receiver.url("/exact")), MESSAGE)
    assert (outcome.body, outcome.body_truncated) == (b"z" * 1000, False)


@pytest.mark.parametrize("status", [301, 302, 307, 308], ids=str)
def test_a_redirect_is_a_failed_attempt_and_not_followed(sender, receiver, status):
    receiver.reply("/moved", status=status, headers={"Location": receiver.url("/elsewhere")})
    outcome = sender.send(target(receiver.url("/moved")), MESSAGE)
    assert (outcome.status, outcome.error) == (status, ErrorKind.HTTP_STATUS)
    assert "/elsewhere not followed" in outcome.detail
    assert [r.path for r in receiver.requests] == ["/moved"]


def test_concurrency_is_bounded(clock, receiver):
    gate = receiver.reply("/hook", hold=threading.Event()).hold
    outcomes = []
    with WebhookSender(clock, allow_private_targets=True, max_concurrency=2) as bounded:
        threads = [
            threading.Thread(
                target=lambda: outcomes.append(bounded.send(target(receiver.url("/hook")), MESSAGE))
            )
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        _wait_for(lambda: receiver.in_flight == 2)
        gate.set()
        for thread in threads:
            thread.join(timeout=30)
    assert receiver.most_in_flight == 2
    assert [o.error for o in outcomes] == [None] * 6


def _wait_for(condition, seconds: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "is a loopback address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address of 127.0.0.1, 127.0.0.1 is a loopback"),
    ],
    ids=["loopback", "localhost", "mapped"],
)
def test_loopback_is_refused_without_the_allow_switch(guarded, receiver, host, reason):
    outcome = guarded.send(target(receiver.url("/hook", host=host)), MESSAGE)
    assert (outcome.status, outcome.error) == (None, ErrorKind.REFUSED)
    assert reason in outcome.detail
    assert receiver.requests == []


def test_ipv6_loopback_is_refused_and_reached_with_the_allow_switch(guarded, sender):
    with receiving("::1") as v6:
        refused = guarded.send(target(v6.url("/hook")), MESSAGE)
        reached = sender.send(target(v6.url("/hook")), MESSAGE)
        assert (refused.error, reached.error) == (ErrorKind.REFUSED, None)
        assert "::1 is a loopback address" in refused.detail
        assert len(v6.requests) == 1


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
        ("http://10.1.2.3/hook", "a private address"),
        ("https://192.168.0.1/hook", "a private address"),
        ("http://100.64.0.1/hook", "carrier-grade NAT"),
        ("http://0.0.0.0/hook", "the unspecified address"),
        ("http://[fe80::1]/hook", "a link-local address"),
    ],
    ids=["metadata", "metadata-v6", "private-10", "private-https", "cgnat", "unspecified", "ll"],
)
def test_internal_addresses_are_refused_before_connecting(guarded, url, reason):
    outcome = guarded.send(target(url, timeout=timedelta(seconds=1)), MESSAGE)
    assert outcome.error == ErrorKind.REFUSED
    assert reason in outcome.detail


def test_the_check_is_on_the_resolved_address_at_connect_time(clock, receiver):
    # A name that resolves (now, at connect time) to loopback: the URL alone looks harmless.
    def rebinding(host: str, port: int):
        from ipaddress import ip_address

        return [ip_address("93.184.215.14"), ip_address("127.0.0.1")]

    with WebhookSender(clock, resolver=rebinding) as guarded:
        outcome = guarded.send(target(f"http://hooks.example.com:{receiver.port}/h"), MESSAGE)
    assert outcome.error == ErrorKind.REFUSED
    assert "127.0.0.1 is a loopback address" in outcome.detail
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(clock, receiver):
    def resolver(host: str, port: int):
        from ipaddress import ip_address

        assert host == "hooks.example.com"
        return [ip_address("127.0.0.1")]

    with WebhookSender(clock, allow_private_targets=True, resolver=resolver) as local:
        outcome = local.send(target(f"http://hooks.example.com:{receiver.port}/h"), MESSAGE)
    assert outcome.succeeded
    assert receiver.requests[0].headers["host"] == f"hooks.example.com:{receiver.port}"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://example.com/x"}, "url must be http or https"),
        ({"url": "file:///etc/passwd"}, "url must be http or https"),
        ({"url": "http:///nohost"}, "url has no host"),
        ({"secret": "hunter2"}, "secret must start with 'whsec_'"),
        ({"secret": "whsec_!!!"}, "secret must be 'whsec_' followed by base64"),
        ({"secret": "whsec_c2hvcnQ="}, "secret must encode 24 to 64 bytes, got 5"),
        ({"timeout": timedelta(0)}, "timeout must be positive"),
        ({"timeout": timedelta(hours=1)}, "at most 0:10:00"),
        ({"headers": {"Webhook-Signature": "v1,x"}}, "is set by Sundial"),
        ({"headers": {"Host": "internal"}}, "is set by Sundial"),
        ({"headers": {"bad name": "x"}}, "not a valid header name"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "control character"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_targets_are_refused_naming_the_field(fields, message):
    values = {"url": "https://example.com/hook", "secret": SECRET, **fields}
    with pytest.raises(ValueError, match=re.escape(message)):
        WebhookTarget(**values)


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 257, "ünicode"])
def test_bad_message_ids_are_refused(bad_id):
    with pytest.raises(ValueError, match="id must be 1 to 256 printable ASCII"):
        WebhookMessage(id=bad_id, body="{}")


def test_connections_are_pooled_and_guarded_once_each(clock, receiver):
    lookups = []

    def counting(host: str, port: int):
        from ipaddress import ip_address

        lookups.append(host)
        return [ip_address("127.0.0.1")]

    with WebhookSender(clock, allow_private_targets=True, resolver=counting) as pooled:
        outcomes = [pooled.send(target(receiver.url("/hook")), MESSAGE) for _ in range(3)]
    assert [o.error for o in outcomes] == [None] * 3
    assert lookups == ["127.0.0.1"]
