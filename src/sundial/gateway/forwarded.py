"""The REST client's address behind reverse proxies: `X-Forwarded-For` is believed only when
the peer is a trusted proxy (`--trusted-proxy CIDR`), and then only as far as it was written
by trusted proxies; anyone can write the header, so an untrusted peer's is ignored.

Hand-written: it is a dozen lines on the standard library's `ipaddress`, and the middleware
that does it (werkzeug's ProxyFix) trusts a count of hops rather than networks."""

import ipaddress
import logging
from collections.abc import Iterable, Sequence

logger = logging.getLogger("sundial.gateway")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxies:
    """Finds the client address of a request, given the networks of trusted proxies."""

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in networks)

    def client_of(self, peer: str, headers: Sequence[tuple[str, str]]) -> str:
        """The rightmost address of the peer and its X-Forwarded-For chain that is not a
        trusted proxy (the leftmost when all are); the peer itself when it is not trusted,
        sent no X-Forwarded-For, or sent a malformed one."""
        if not self._networks or not self._trusted(_address(peer)):
            return peer
        forwarded = [value for name, value in headers if name.lower() == "x-forwarded-for"]
        if not forwarded:
            return peer
        # Several X-Forwarded-For lines are one list, in order (RFC 9110 section 5.3).
        entries = [entry.strip() for value in forwarded for entry in value.split(",")]
        chain: list[Address] = []
        for entry in entries:
            address = _address(entry)
            if address is None:
                logger.debug("ignoring malformed X-Forwarded-For %r from %s", forwarded, peer)
                return peer
            chain.append(address)
        for address in reversed(chain):
            if not self._trusted(address):
                return str(address)
        return str(chain[0])

    def _trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self._networks)


def _address(text: str) -> Address | None:
    """An address as a peer or an X-Forwarded-For entry gives it: bare, `[v6]`, `[v6]:port`
    or `v4:port`; IPv4-mapped IPv6 (a dual-stack listener's peers) as IPv4."""
    host = text.strip()
    if host.startswith("["):
        host, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
        if not port.isdigit():
            return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
