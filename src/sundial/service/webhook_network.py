"""The SSRF guard of outgoing webhooks, at connect time (issue 14, item 6).

httpcore opens every connection through a `NetworkBackend.connect_tcp(host, port, ...)`;
`GuardedNetworkBackend` wraps the default one: it resolves the host itself, checks every
address against `domain.webhook_addresses`, and connects to a checked address (never to the
name, which a second lookup could rebind to 127.0.0.1). TLS still verifies the certificate
against the URL's host name: httpcore passes it to `start_tls` apart from the address.

httpx 0.28's `HTTPTransport` has no `network_backend` argument, so `GuardedTransport` builds
its own `httpcore.ConnectionPool` (httpcore's supported extension point) in place of the one
`HTTPTransport.__init__` made; the rest of HTTPTransport (request and response conversion,
exception mapping) is kept. `tests/unit/service/test_webhooks.py` fails if a future httpx
stops using it (a loopback target would then be reached).

Hand-written because no well-kept library does this for httpx: `advocate` patches requests,
and the check must sit at the socket, where only the transport can put it.
"""

import socket
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_address

import httpcore
import httpx

from sundial.domain.webhook_addresses import IPAddress, address_refusal

Resolver = Callable[[str, int], Sequence[IPAddress]]


class AddressRefusedError(Exception):
    """A webhook target resolved to an address the SSRF policy refuses."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"refused to connect to {host}: {reason}")
        self.host = host
        self.reason = reason


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedNetworkBackend(httpcore.NetworkBackend):
    """Resolves, checks every address (unless `allow_private`), connects to a checked one."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._resolver(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolved to no address")
        if not self._allow_private:
            # Every address, not just the first: a name mixing a public and a private
            # address would otherwise reach the private one when the public one fails.
            for address in addresses:
                reason = address_refusal(address)
                if reason is not None:
                    raise AddressRefusedError(host, reason)
        options = list(socket_options or [])
        failures: list[httpcore.ConnectError] = []
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, options)
            except httpcore.ConnectError as failed:
                failures.append(failed)
        raise failures[-1]

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise AddressRefusedError(path, "a Unix socket is not a webhook target")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose every connection is guarded."""

    def __init__(self, backend: GuardedNetworkBackend, limits: httpx.Limits) -> None:
        # trust_env=False: a proxy from HTTP_PROXY would connect in our place, unguarded.
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
