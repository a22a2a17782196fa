"""Where callbacks may go: https URLs of hosts with public addresses only.

A callback URL is typed by staff, but the POST is made by our server, from inside our
network: without these checks an endpoint could point at the cloud metadata service
(169.254.169.254), the database, or anything else only our machines can reach (SSRF).

`check_url` is used twice: when an endpoint is saved (CallbackEndpoint.clean) and again
before every attempt, after resolving the host anew, since DNS answers change. Then
`post_pinned` connects to exactly the addresses that were checked, so an attacker's DNS
server cannot answer "public" to the check and "private" to the connect a moment later
(DNS rebinding): for https the TLS handshake still names, and the certificate is still
verified against, the host of the URL.

Hosts in KONTOR_CALLBACK_ALLOWED_HOSTS (local receivers in development and tests) skip
the address checks and may use plain http; they are still resolved and pinned.

`getaddrinfo` below is the one seam tests replace to make a host resolve elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

getaddrinfo = socket.getaddrinfo

# An attempt tries at most this many of the host's addresses, and only the next one
# when connecting to the previous one failed (nothing was sent): "localhost" is ::1
# first, and a receiver listening on 127.0.0.1 only must still get its callbacks.
MAX_ADDRESSES_TRIED = 3

# Checked in this order: ipaddress calls loopback and link-local addresses private too,
# and the more precise word makes the clearer message.
_KINDS = (
    ("is_unspecified", _("an unspecified address")),
    ("is_loopback", _("a loopback address")),
    ("is_link_local", _("a link-local address")),
    ("is_multicast", _("a multicast address")),
    ("is_reserved", _("a reserved address")),
    ("is_private", _("a private address")),
)
# 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeURLError(ValueError):
    """The URL may not receive callbacks; the message says why, for staff."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the checks, with the addresses it resolved to."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA), lower case, no trailing dot
    port: int
    addresses: tuple[IPAddress, ...]


def address_kind(address: IPAddress):
    """Why an address may not receive callbacks ("a private address"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
    for attribute, kind in _KINDS:
        if getattr(address, attribute):
            return kind
    if not address.is_global:  # e.g. 100.64.0.0/10, shared by carriers' NAT
        return _("not a public address")
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:  # ::ffff:10.0.0.1
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002::/16
        return address.sixtofour
    if address.teredo is not None:  # 2001::/32: (server, client)
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_url(url: str, *, allowed_hosts: Iterable[str]) -> CheckedURL:
    """Resolve the URL's host and check it may receive callbacks; raise UnsafeURLError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = _ascii_host(parts.hostname)
    allowed = host in {h.strip().lower().rstrip(".") for h in allowed_hosts}
    if scheme not in ("https", "http") or not host:
        raise UnsafeURLError(_("Enter a full URL starting with https://."))
    if scheme == "http" and not allowed:
        raise UnsafeURLError(_("Callback URLs must use https: callbacks carry customer data."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(
            _(
                "Remove the user name and password from the URL: receivers check the "
                "signature instead."
            )
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeURLError(_("The port in the URL is not a number from 0 to 65535.")) from None
    addresses = resolve(host, port)
    if not allowed:
        for address in addresses:
            kind = address_kind(address)
            if kind is not None:
                raise UnsafeURLError(_refusal(host, address, kind))
    return CheckedURL(url=url, scheme=scheme, host=host, port=port, addresses=addresses)


def _ascii_host(hostname: str | None) -> str:
    if not hostname:
        return ""
    if hostname.isascii():
        return hostname.rstrip(".").lower()
    try:
        return hostname.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURLError(_("The host name in the URL is not valid.")) from None


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """The host's addresses, in the order the system prefers them, without duplicates."""
    try:
        infos = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeURLError(
            _("The host %(host)s could not be resolved; check the URL.") % {"host": host}
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the zone is no part of it.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURLError(
            _("The host %(host)s could not be resolved; check the URL.") % {"host": host}
        )
    return tuple(addresses)


def _refusal(host: str, address: IPAddress, kind) -> str:
    shown = str(address)
    if isinstance(address, ipaddress.IPv6Address) and _embedded_ipv4(address) is not None:
        # "::ffff:a00:1" means nothing to staff; name the IPv4 address it carries.
        shown = f"{address} ({_embedded_ipv4(address)})"
    params = {"host": host, "address": shown, "kind": kind}
    if _is_ip_literal(host):  # "10.0.0.5 is …", in the words staff typed
        return _("%(host)s is %(kind)s; callbacks go only to public addresses.") % params
    return (
        _("%(host)s resolves to %(address)s, %(kind)s; callbacks go only to public addresses.")
        % params
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- sending to the checked addresses ---------------------------------------------------


class _PinnedHostAdapter(HTTPAdapter):
    """Connects to the address in the URL, while TLS names and verifies the real host."""

    def __init__(self, host: str) -> None:
        self._host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._host  # SNI
        kwargs["assert_hostname"] = self._host  # the certificate must name the host
        super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class Answer:
    """What the receiver answered: the status, and the start of the body."""

    status_code: int
    excerpt: str


def post_pinned(
    checked: CheckedURL,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    excerpt_bytes: int = 4096,
) -> Answer:
    """POST to the checked addresses, never to a fresh DNS answer, and without following
    redirects. Reads at most `excerpt_bytes` of the answer, so a receiver cannot make us
    hold a large body. Raises requests' exceptions when there is no answer."""
    parts = urlsplit(checked.url)
    default_port = 443 if checked.scheme == "https" else 80
    host_header = checked.host if checked.port == default_port else f"{checked.host}:{checked.port}"
    headers = {**headers, "Host": host_header, "Accept-Encoding": "identity"}
    last_error: requests.RequestException | None = None
    for address in checked.addresses[:MAX_ADDRESSES_TRIED]:
        literal = f"[{address}]" if address.version == 6 else str(address)
        target = urlunsplit(
            (checked.scheme, f"{literal}:{checked.port}", parts.path or "/", parts.query, "")
        )
        with requests.Session() as session:
            session.mount(f"{checked.scheme}://", _PinnedHostAdapter(checked.host))
            try:
                response = session.post(
                    target,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except requests.RequestException as error:
                if not _connect_failed(error):
                    raise
                last_error = error
                continue
            with response:
                return Answer(response.status_code, _excerpt(response, excerpt_bytes, timeout))
    raise last_error or requests.ConnectionError(f"No address to connect to for {checked.host}")


def _excerpt(response: requests.Response, limit: int, timeout: float) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    try:
        for chunk in response.raw.stream(1024, decode_content=True):
            data += chunk
            if len(data) >= limit or time.monotonic() > deadline:
                break
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        pass  # the status is what counts; keep what arrived of the body
    try:
        return data[:limit].decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return data[:limit].decode("utf-8", errors="replace")


def _connect_failed(error: requests.RequestException) -> bool:
    """True when no connection was made, so nothing was sent and the next address may be
    tried without sending the callback twice."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)
