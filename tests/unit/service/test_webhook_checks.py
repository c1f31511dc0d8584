"""The checks of a WebhookSpec: each bad field named, and the relaxations for development."""

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.webhooks import EventType, WebhookSpec
from sundial.service.target_urls import MAX_URL_LENGTH
from sundial.service.validation import Violations
from sundial.service.webhook_checks import MAX_HEADERS, check_disable_reason, check_webhook_spec

URL = "https://hooks.example.com/in"


def _problems(spec: WebhookSpec, **flags: bool) -> dict[str, str]:
    violations = Violations()
    check_webhook_spec(violations, spec, **flags)
    return {v.field: v.description for v in violations.items}


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://hooks.example.com:8443/in?token=a",
        "HTTPS://Hooks.Example.com/",
        "https://[2606:4700::1111]/in",
        "https://93.184.216.34/in",
    ],
    ids=["plain", "port-and-query", "upper-case", "public-ipv6", "public-ipv4"],
)
def test_good_urls_pass(url: str) -> None:
    assert _problems(WebhookSpec(url=url)) == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "url is required"),
        ("https://" + "a" * MAX_URL_LENGTH, f"at most {MAX_URL_LENGTH} characters"),
        (" https://hooks.example.com/", "must not contain spaces"),
        ("hooks.example.com/in", "the scheme must be https, got 'none'"),
        ("http://hooks.example.com/", "the scheme must be https, got 'http'"),
        ("https://a:b@hooks.example.com/", "must not carry credentials"),
        ("https://hooks.example.com/#x", "must not have a fragment"),
        ("https://:443/", "the URL has no host"),
        ("https://hooks.example.com:99999/", "bad port"),
        ("https://10.1.2.3/", "10.1.2.3 is a private address"),
        ("https://[::1]/", "::1 is a loopback address"),
        ("https://[::ffff:127.0.0.1]/", "an IPv4-mapped IPv6 address of 127.0.0.1"),
    ],
    ids=[
        "empty",
        "too-long",
        "space",
        "no-scheme",
        "http",
        "credentials",
        "fragment",
        "no-host",
        "bad-port",
        "private",
        "loopback-v6",
        "mapped",
    ],
)
def test_bad_urls_are_named(url: str, expected: str) -> None:
    problems = _problems(WebhookSpec(url=url))
    assert list(problems) == ["spec.url"]
    assert expected in problems["spec.url"]


@pytest.mark.parametrize(
    ("url", "needs"),
    [
        ("http://hooks.example.com/", {"allow_http": True}),
        ("https://127.0.0.1:8080/hook", {"allow_private": True}),
        ("http://[::1]/", {"allow_http": True, "allow_private": True}),
    ],
    ids=["http", "loopback", "both"],
)
def test_http_and_private_literals_only_when_the_server_allows_them(
    url: str, needs: dict[str, bool]
) -> None:
    spec = WebhookSpec(url=url)
    assert set(_problems(spec)) == {"spec.url"}
    for flag in needs:
        assert set(_problems(spec, **{flag: True})) == ({"spec.url"} if len(needs) > 1 else set())
    assert _problems(spec, **needs) == {}


def test_headers_each_problem_named_by_its_key() -> None:
    spec = WebhookSpec(
        url=URL,
        headers={
            "Authorization": "Bearer ok",
            "Content-Type": "text/plain",
            "webhook-signature": "forged",
            "Upgrade": "h2c",
            "X Bad": "v",
            "X-Long": "v" * 5000,
            "X-Tab": "a\tb",  # a tab is allowed in a field value
        },
    )
    assert set(_problems(spec)) == {
        "spec.headers[Content-Type]",
        "spec.headers[webhook-signature]",
        "spec.headers[Upgrade]",
        "spec.headers[X Bad]",
        "spec.headers[X-Long]",
    }


def test_headers_that_differ_only_in_case_and_too_many_headers() -> None:
    twice = _problems(WebhookSpec(url=URL, headers={"X-A": "1", "x-a": "2"}))
    many = _problems(WebhookSpec(url=URL, headers={f"X-{i}": "v" for i in range(MAX_HEADERS + 1)}))
    assert list(twice) == ["spec.headers[x-a]"]
    assert list(many) == ["spec.headers"]


def test_event_types_and_filter_ids() -> None:
    spec = WebhookSpec(
        url=URL,
        event_types=(EventType.FIRE_MISSED, EventType.UNSPECIFIED, EventType.FIRE_MISSED),
        agent_ids=("agent_a", ""),
        schedule_ids=("sched_a", "sched_a"),
    )
    assert set(_problems(spec)) == {
        "spec.event_types[1]",
        "spec.event_types[2]",
        "spec.agent_ids[1]",
        "spec.schedule_ids[1]",
    }


def test_the_condition_sees_the_event_variables() -> None:
    good = WebhookSpec(url=URL, condition='type == "fire.missed" && schedule.name == "a"')
    bad = WebhookSpec(url=URL, condition="output.count > 1.0")
    assert _problems(good) == {}
    assert _problems(bad)["spec.condition"].startswith("line 1, column 1: undeclared variable")


@pytest.mark.parametrize("reason", ["x" * 513, "a\nb"], ids=["too-long", "newline"])
def test_a_disable_reason_fits_its_column(reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        check_disable_reason(reason)
    assert [v.field for v in raised.value.violations] == ["reason"]
