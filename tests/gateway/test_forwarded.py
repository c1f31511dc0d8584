"""The client address behind trusted proxies, over real HTTP: the failed-authentication
limiter counts the address X-Forwarded-For names when a trusted proxy sent it, and the
peer's own address otherwise, so a client cannot spoof its way past the limit."""

import logging

import pytest

from sundial.gateway.forwarded import TrustedProxies
from tests.gateway.conftest import AUTH_FAILURE_BURST

WRONG = "Bearer wrong-secret-0123456789"


def _fail(rest, forwarded_for: str = "") -> int:
    return rest("GET", rest.agents(), authorization=WRONG, x_forwarded_for=forwarded_for).status


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(web_rest):
    for _ in range(AUTH_FAILURE_BURST):
        assert _fail(web_rest, "203.0.113.5") == 401
    assert _fail(web_rest, "203.0.113.5") == 429
    # Another client behind the same proxy is not.
    assert _fail(web_rest, "198.51.100.7, 203.0.113.9") == 401
    # The rightmost untrusted address counts: 127.0.0.1 is the trusted proxy itself.
    assert _fail(web_rest, "198.51.100.7, 203.0.113.5, 127.0.0.1") == 429


def test_a_malformed_forwarded_for_counts_the_peer(web_rest, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.gateway")
    for _ in range(AUTH_FAILURE_BURST):
        assert _fail(web_rest, "203.0.113.5, not-an-address") == 401
    assert "malformed X-Forwarded-For" in caplog.text
    assert _fail(web_rest) == 429  # the peer, 127.0.0.1, used up its burst
    assert _fail(web_rest, "203.0.113.5") == 401


def test_an_untrusted_peer_cannot_spoof_its_address(untrusting_rest):
    for index in range(AUTH_FAILURE_BURST):
        assert _fail(untrusting_rest, f"203.0.113.{index}") == 401
    assert _fail(untrusting_rest, "198.51.100.99") == 429
    assert _fail(untrusting_rest) == 429


def test_the_gateway_logs_the_forwarded_client(web_rest, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.gateway")
    web_rest("GET", "/v1/nowhere", x_forwarded_for="203.0.113.77")
    assert "from 203.0.113.77 rejected" in caplog.text


# Units --------------------------------------------------------------------------------------

PROXIES = TrustedProxies(["10.0.0.0/8", "2001:db8::/32"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.1.1.1", ["203.0.113.5"], "203.0.113.5"),
        ("10.1.1.1", ["198.51.100.1, 203.0.113.5, 10.2.2.2"], "203.0.113.5"),
        ("10.1.1.1", ["198.51.100.1", "203.0.113.5"], "203.0.113.5"),
        ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], "10.3.3.3"),
        ("10.1.1.1", [], "10.1.1.1"),
        ("10.1.1.1", ["203.0.113.5, bogus"], "10.1.1.1"),
        ("10.1.1.1", [""], "10.1.1.1"),
        ("10.1.1.1", ["203.0.113.5:4711"], "203.0.113.5"),
        ("10.1.1.1", ["[2001:db9::1]:4711"], "2001:db9::1"),
        ("2001:db8::5", ["2001:db9::1"], "2001:db9::1"),
        ("::ffff:10.1.1.1", ["203.0.113.5"], "203.0.113.5"),
        ("192.0.2.1", ["203.0.113.5"], "192.0.2.1"),
        ("", ["203.0.113.5"], ""),
    ],
    ids=[
        "one",
        "rightmost-untrusted",
        "two-headers",
        "all-trusted",
        "none-sent",
        "malformed",
        "empty",
        "v4-port",
        "v6-bracketed",
        "v6-peer",
        "mapped-peer",
        "untrusted-peer",
        "no-peer",
    ],
)
def test_client_of(peer, forwarded, client):
    headers = [("X-Forwarded-For", value) for value in forwarded]
    assert PROXIES.client_of(peer, headers) == client


def test_no_trusted_proxies_means_the_peer():
    assert TrustedProxies([]).client_of("10.1.1.1", [("X-Forwarded-For", "1.2.3.4")]) == (
        "10.1.1.1"
    )
