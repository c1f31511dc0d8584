"""The values `--cors-origin`, `--trusted-proxy`, `--gateway-token` and the others take:
origins as browsers send them, networks in CIDR form, the roles that go together, and a
message naming what is wrong with anything else."""

import pytest

from sundial.settings import (
    MIN_GATEWAY_TOKEN_LENGTH,
    Settings,
    check_roles,
    cors_origin,
    gateway_token,
    listen_address,
    otlp_endpoint,
    trusted_proxy,
)


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://App.Example.COM", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("*", "*"),
    ],
    ids=["plain", "case", "default-https-port", "default-http-port", "port", "ipv6", "any"],
)
def test_cors_origin(text, origin):
    assert cors_origin(text) == origin


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://app.example.com/", "did you mean https://app.example.com?"),
        ("https://app.example.com/x?y", "did you mean https://app.example.com?"),
        ("https://user@app.example.com", "did you mean https://app.example.com?"),
        ("app.example.com", "is not http(s)://HOST[:PORT]"),
        ("ftp://app.example.com", "is not http(s)://HOST[:PORT]"),
        ("https://app.example.com:99999", "out of range"),
    ],
    ids=["trailing-slash", "path-and-query", "user", "no-scheme", "ftp", "bad-port"],
)
def test_a_bad_cors_origin_says_why(text, message):
    with pytest.raises(ValueError, match="origin") as refused:
        cors_origin(text)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("text", "network"),
    [("10.0.0.0/8", "10.0.0.0/8"), ("192.0.2.7", "192.0.2.7/32"), ("::1", "::1/128")],
    ids=["cidr", "one-v4", "one-v6"],
)
def test_trusted_proxy(text, network):
    assert trusted_proxy(text) == network


@pytest.mark.parametrize("text", ["10.0.0.1/8", "10.0.0.0/33", "proxy.internal", ""])
def test_a_bad_trusted_proxy_says_why(text):
    with pytest.raises(ValueError, match="trusted proxy"):
        trusted_proxy(text)


@pytest.mark.parametrize("text", ["127.0.0.1:9090", "0.0.0.0:0", ":9090", "[::1]:9090", "host:1"])
def test_listen_address_is_kept_as_given(text):
    assert listen_address(text) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9090", "is not HOST:PORT"),
        ("host:http", "is not HOST:PORT"),
        ("host:70000", "a port 0-65535"),
        ("::1:9090", "write an IPv6 host in brackets"),
    ],
    ids=["no-port", "named-port", "port-too-big", "bare-ipv6"],
)
def test_a_bad_listen_address_says_why(text, message):
    with pytest.raises(ValueError, match=message):
        listen_address(text)


@pytest.mark.parametrize(
    "text", ["http://localhost:4318", "https://otel.example.com", "http://[::1]:4318/otel/"]
)
def test_otlp_endpoint_is_kept_as_written(text):
    assert otlp_endpoint(text) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("localhost:4318", "is not http(s)://HOST[:PORT]"),
        ("grpc://collector:4317", "is not http(s)://HOST[:PORT]"),
        ("http://collector:http", "Port could not be cast"),
        ("http://collector:4318/?x=1", "must not have a query or fragment"),
    ],
    ids=["no-scheme", "other-scheme", "bad-port", "query"],
)
def test_a_bad_otlp_endpoint_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match="OTLP endpoint") as error:
        otlp_endpoint(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("roles", "grpc_target", "http_address"),
    [
        ({"api", "engine"}, None, "127.0.0.1:8080"),
        ({"api"}, None, None),
        ({"engine"}, None, None),
        ({"rest"}, "api.internal:50051", "0.0.0.0:8080"),
    ],
    ids=["default", "api-grpc-only", "engine", "rest"],
)
def test_roles_that_go_together(roles, grpc_target, http_address):
    check_roles(frozenset(roles), grpc_target, http_address)


@pytest.mark.parametrize(
    ("roles", "grpc_target", "http_address", "message"),
    [
        ({"rest", "api"}, "api:50051", ":8080", "--roles rest runs alone: .* run api in"),
        ({"rest", "engine"}, "api:50051", ":8080", "--roles rest runs alone: .* run engine in"),
        ({"rest"}, None, ":8080", "--roles rest needs --grpc-target HOST:PORT"),
        ({"rest"}, "", ":8080", "--roles rest needs --grpc-target HOST:PORT"),
        ({"rest"}, "api:50051", None, "--roles rest needs an --http-address"),
        ({"api", "engine"}, "api:50051", ":8080", r"--grpc-target .* --roles api,engine serves"),
    ],
    ids=["rest-and-api", "rest-and-engine", "no-target", "empty-target", "no-http", "stray-target"],
)
def test_roles_that_do_not_go_together_name_the_flag(roles, grpc_target, http_address, message):
    with pytest.raises(ValueError, match=message):
        check_roles(frozenset(roles), grpc_target, http_address)


def test_a_gateway_token_is_kept_and_never_shown_in_the_settings():
    token = "t" * MIN_GATEWAY_TOKEN_LENGTH
    assert gateway_token(token) == token
    assert token not in repr(Settings(gateway_token=token, bootstrap_api_key="sdl_x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("short-secret", f"at least {MIN_GATEWAY_TOKEN_LENGTH} characters, got 12"),
        ("a secret with spaces 0123456789abcdef", "visible ASCII characters, no spaces"),
        ("s\u00e9cret-0123456789abcdef0123456789", "visible ASCII characters"),
    ],
    ids=["short", "spaces", "non-ascii"],
)
def test_a_bad_gateway_token_says_why_without_quoting_it(text, message):
    with pytest.raises(ValueError, match=message) as refused:
        gateway_token(text)
    assert text not in str(refused.value)
