"""The SSRF policy for outgoing webhooks and PUSH agents' targets (issue 14, item 6): which
resolved addresses they may connect to. Pure: the service layer resolves the host at connect
time and asks this module about every address it got, so DNS rebinding cannot slip past a
check made on the URL alone. `host_refusal` is what can be judged of a URL's host when the
URL is written: an address literal, or a name that always means this machine.

Only globally routable unicast addresses pass. The named categories below come first so the
refusal says what the address is; anything else that `ipaddress` does not call global
(documentation, benchmarking, reserved ranges) is refused as "not globally routable".
"""

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

# Cloud instance-metadata endpoints (AWS, GCP, Azure, OpenStack share the IPv4 one; AWS's
# IPv6 one sits in the unique-local range, and is named so the refusal says why).
METADATA_ADDRESSES = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})
# RFC 6598 shared address space: `ipaddress` calls it neither private nor global.
CGNAT = IPv4Network("100.64.0.0/10")
# RFC 1918 and RFC 4193 private networks. `ipaddress.is_private` also covers documentation,
# benchmarking and reserved ranges, which are refused too, but as "not globally routable".
PRIVATE = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv6Network("fc00::/7"),
)
# RFC 6052 NAT64 well-known prefix: the low 32 bits are an IPv4 address reached through it.
NAT64 = IPv6Network("64:ff9b::/96")

IPAddress = IPv4Address | IPv6Address
# RFC 6761 section 6.3: `localhost` and every name under it are this machine's loopback.
LOOPBACK_NAME = "localhost"
_LOOPBACK_NAMES = frozenset({LOOPBACK_NAME, "localhost.localdomain"})


def host_refusal(host: str) -> str | None:
    """Why a URL naming `host` may not be written, or None when its connections are left
    to be checked (a host name other than localhost's)."""
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(f".{LOOPBACK_NAME}"):
        return f"{host} is this machine (a loopback name)"
    try:
        address = ip_address(host)
    except ValueError:
        return None
    return address_refusal(address)


def address_refusal(address: IPAddress) -> str | None:
    """Why a webhook may not connect to `address`, or None when it may."""
    if isinstance(address, IPv6Address):
        embedded = address.ipv4_mapped
        kind = "an IPv4-mapped IPv6 address"
        if embedded is None and address in NAT64:
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
            kind = "a NAT64 address"
        if embedded is not None:
            reason = address_refusal(embedded)
            return None if reason is None else f"{kind} of {embedded}, {reason}"
    reason = _category(address)
    return None if reason is None else f"{address} is {reason}"


def _category(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, IPv4Address) and address in CGNAT:
        return "a carrier-grade NAT (shared) address"
    if any(address.version == network.version and address in network for network in PRIVATE):
        return "a private address"
    if not address.is_global:
        return "not a globally routable address"
    return None
