"""A PUSH agent's target as the pusher sends to it: the timeout (default, bounded by the
schedule's execution timeout), the headers and the secret; and what a read shows of the
secret."""

from datetime import timedelta

import pytest

from sundial.domain.agents import DEFAULT_PUSH_TIMEOUT, PushTarget, push_secret_hint
from sundial.service.push_targets import webhook_target
from sundial.service.webhook_signing import generate_secret

SECRET = generate_secret()
URL = "https://agent.example.com/run"


@pytest.mark.parametrize(
    ("timeout", "execution_timeout", "sent_with"),
    [
        (None, None, DEFAULT_PUSH_TIMEOUT),
        (timedelta(seconds=5), None, timedelta(seconds=5)),
        (timedelta(minutes=10), timedelta(minutes=2), timedelta(minutes=2)),
        (None, timedelta(seconds=10), timedelta(seconds=10)),
        (timedelta(seconds=5), timedelta(minutes=2), timedelta(seconds=5)),
    ],
    ids=["default", "given", "cut-by-execution-timeout", "default-cut", "shorter-kept"],
)
def test_the_push_waits_its_timeout_but_never_past_the_execution_timeout(
    timeout, execution_timeout, sent_with
):
    target = webhook_target(PushTarget(url=URL, timeout=timeout), SECRET, execution_timeout)
    assert target.timeout == sent_with


def test_the_target_carries_the_url_headers_and_secret():
    target = webhook_target(PushTarget(url=URL, headers={"x-team": "cx"}), SECRET, None)
    assert (target.url, dict(target.headers), target.secret) == (URL, {"x-team": "cx"}, SECRET)


@pytest.mark.parametrize(
    ("secret", "hint"), [("", ""), ("whsec_abcdef", "cdef")], ids=["none", "last-four"]
)
def test_a_read_shows_only_the_end_of_the_secret(secret, hint):
    assert push_secret_hint(secret) == hint
