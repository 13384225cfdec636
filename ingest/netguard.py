"""Outbound HTTP that can only reach public addresses, unless the admin allowed more.

    client = httpx.Client(transport=GuardedTransport(AddressPolicy.parse(settings.fetch_allow_hosts)),
                          trust_env=False)

A URL's host says nothing reliable about where a request goes: ``0x7f000001``, ``127.1`` and
``localhost`` are all loopback, a public-looking name can resolve to 10.0.0.5, and a name can resolve
differently a second later (DNS rebinding). So the check runs where the socket is opened: the host
is resolved once, every address it resolves to is judged, and the connection goes to one of exactly
those addresses. TLS still verifies the certificate against the URL's host name, because httpcore
passes the origin host (not the address connected to) as the TLS server name.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import typing
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

HINT = "only public hosts can be fetched; STUDYBOT_FETCH_ALLOW_HOSTS lists exceptions"
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Python's is_private misses it
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Checked in this order so the reason names the most specific kind (169.254.x.x is also "private").
KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),  # Python calls 224.0.0.0/4 "global"
    ("is_site_local", "a site-local address"),  # IPv6 only, and "global" to Python too
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)
HOSTNAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")


class AddressRefused(Exception):
    """A host that resolves to an address the policy does not allow; str(e) is meant for the admin."""


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be fetched from ("a loopback address"), or None for a public address."""
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded:
            kind, v4, decides = embedded
            why = refusal_reason(v4)
            if why:
                return f"{kind} for {v4}, {why}"
            if decides:
                return None
    for attr, label in KINDS:
        if getattr(ip, attr, False):
            return label
    if ip in SHARED:
        return "a shared (carrier-grade NAT) address"
    if not ip.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address, bool] | None:
    """The IPv4 address inside an IPv6 one, and whether it alone decides.

    An IPv4-mapped or NAT64 address *is* that IPv4 host, so a public one is fine although Python
    calls the IPv6 form reserved. A 6to4 address must also pass as IPv6; Teredo always fails that.
    """
    if ip.ipv4_mapped:
        return "an IPv4-mapped address", ip.ipv4_mapped, True
    if ip in NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), True
    if ip.sixtofour:
        return "a 6to4 address", ip.sixtofour, False
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the admin's exceptions: exact host names and addresses/networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> AddressPolicy:
        """``setting`` is STUDYBOT_FETCH_ALLOW_HOSTS: "feeds.intranet, 10.1.2.3, 192.168.0.0/16"."""
        hosts, networks = set(), []
        for entry in (e.strip().lower() for e in (setting or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if not HOSTNAME.match(entry):
                    raise ValueError(f"{entry!r} is neither a host name nor an address or network") from None
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def check(self, host: str, addresses: typing.Iterable[IPAddress]) -> None:
        """Raise AddressRefused unless every address ``host`` resolved to may be reached."""
        if host.lower().rstrip(".") in self.hosts:
            return
        for ip in addresses:
            if any(ip in net for net in self.networks):
                continue
            why = refusal_reason(ip)
            if why:
                where = f"{host} is" if _literal(host) == ip else f"{host} resolves to {ip},"
                raise AddressRefused(f"refused: {where} {why} ({HINT})")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class GuardedBackend(httpcore.SyncBackend):
    """Resolves once, checks every address, then connects to a checked address, never to the name."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        addresses = _resolve(host, port)
        self.policy.check(host, addresses)
        *fallbacks, last = addresses
        for ip in fallbacks:
            try:
                return self._connect(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # like socket.create_connection: the next address may answer
        return self._connect(last, port, timeout, local_address, socket_options)

    def _connect(self, ip: IPAddress, port: int, timeout: float | None, local_address: str | None,
                 socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None) -> httpcore.NetworkStream:
        # A numeric host is only parsed by getaddrinfo, never looked up: no second resolution.
        return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:  # gaierror: reported like any other connection failure
        raise httpcore.ConnectError(f"could not resolve {host}: {e}") from e
    # dict keeps the resolver's preference order while dropping duplicates.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded backend; it takes no proxy, which would connect for us."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        # Certificates are verified as usual (SSL_CERT_FILE is honoured); only the backend differs.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=GuardedBackend(policy))
