"""The SSRF policy: which resolved addresses a webhook may connect to."""

from ipaddress import ip_address

import pytest

from sundial.domain.webhook_addresses import address_refusal, host_refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("100.127.255.254", "a carrier-grade NAT (shared) address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),
        ("::", "the unspecified address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("192.0.2.1", "not a globally routable address"),
        ("240.0.0.1", "not a globally routable address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address of 127.0.0.1, 127.0.0.1 is a loopback"),
        ("::ffff:169.254.169.254", "of 169.254.169.254, 169.254.169.254 is a cloud metadata"),
        ("::ffff:10.0.0.1", "an IPv4-mapped IPv6 address of 10.0.0.1"),
        ("64:ff9b::7f00:1", "a NAT64 address of 127.0.0.1"),
    ],
    ids=lambda value: value if ":" in value or "." in value else None,
)
def test_internal_addresses_are_refused_with_what_they_are(address, reason):
    refusal = address_refusal(ip_address(address))
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_pass(address):
    assert address_refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("localhost", "localhost is this machine"),
        ("LOCALHOST", "LOCALHOST is this machine"),
        ("localhost.", "is this machine"),
        ("localhost.localdomain", "is this machine"),
        ("api.localhost", "is this machine"),
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address of 127.0.0.1"),
    ],
    ids=["localhost", "upper-case", "trailing-dot", "localdomain", "under-localhost", "v4",
         "private", "mapped"],
)  # fmt: skip
def test_a_written_host_is_refused_when_it_is_this_machine_or_an_internal_literal(host, reason):
    refusal = host_refusal(host)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize(
    "host", ["hooks.example.com", "localhost.example.com", "notlocalhost", "93.184.215.14"]
)
def test_other_names_and_public_literals_are_left_to_the_connect_time_check(host):
    assert host_refusal(host) is None
