"""The one check of a URL Sundial posts to (a webhook's, a PUSH agent's): each problem in
one violation named by the path given, and the server's relaxations."""

import pytest

from sundial.service.target_urls import MAX_URL_LENGTH, check_target_url
from sundial.service.validation import Violations


def _problem(url: str, *, allow_http: bool = False, allow_private: bool = False) -> list[str]:
    violations = Violations()
    check_target_url(
        violations, "spec.url", url, allow_http=allow_http, allow_private=allow_private
    )
    assert {v.field for v in violations.items} <= {"spec.url"}
    return [v.description for v in violations.items]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "url is required"),
        ("https://" + "a" * MAX_URL_LENGTH, f"at most {MAX_URL_LENGTH} characters"),
        ("https://hooks.example.com/a b", "must not contain spaces"),
        ("https://hooks.example.com/\ta", "must not contain spaces or control characters"),
        ("https://[::1/", "not a valid URL"),
        ("https://hooks.example.com:99999/", "bad port"),
        ("ftp://hooks.example.com/", "the scheme must be https, got 'ftp'"),
        ("https://@hooks.example.com/", "must not carry credentials"),
        ("https://hooks.example.com/#top", "must not have a fragment"),
        ("https:///path", "the URL has no host"),
        ("https://localhost:8443/", "localhost is this machine"),
        ("https://localhost./", "is this machine"),
        ("https://127.0.0.1/", "the host is refused: 127.0.0.1 is a loopback address"),
        ("https://169.254.169.254/latest", "a cloud metadata address"),
    ],
    ids=[
        "empty",
        "too-long",
        "space",
        "tab",
        "bad-ipv6",
        "bad-port",
        "ftp",
        "empty-credentials",
        "fragment",
        "no-host",
        "localhost",
        "localhost-dot",
        "loopback-literal",
        "metadata",
    ],
)
def test_each_problem_is_one_violation_that_says_what_is_wrong(url, expected):
    [problem] = _problem(url)
    assert expected in problem


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in?token=a", "HTTPS://Hooks.Example.com:8443/", "https://[2606:4700::1111]/"],
    ids=["query", "upper-case-and-port", "public-ipv6"],
)  # fmt: skip
def test_public_https_urls_pass(url):
    assert _problem(url) == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://hooks.example.com/", {"allow_http": True}),
        ("https://localhost:8443/", {"allow_private": True}),
        ("https://10.1.2.3/", {"allow_private": True}),
        ("http://127.0.0.1:8080/", {"allow_http": True, "allow_private": True}),
    ],
    ids=["http", "localhost", "private", "both"],
)
def test_the_relaxations_let_through_only_what_they_name(url, allowed):
    assert len(_problem(url)) == 1
    assert _problem(url, **allowed) == []
    if len(allowed) == 2:
        assert len(_problem(url, allow_http=True)) == len(_problem(url, allow_private=True)) == 1
