"""Kafka wire-protocol readiness probes (raw sockets, no client library needed).

The broker's client listener speaks SASL: a probe may ask ApiVersions before authenticating (which
says the broker is serving), then authenticates with SCRAM-SHA-512 (SaslHandshake v1 and
SaslAuthenticate v0) and asks Metadata (which says it caught up with the KRaft metadata log, its
users and ACLs included).
"""

import dataclasses
import socket
import struct
from typing import Optional

from .scram import ScramError, authenticate
from .settings import HOST

MAX_RESPONSE = 16 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Login:
    username: str
    password: str
    mechanism: str = "SCRAM-SHA-512"


class KafkaConnection:
    """One TCP connection; requests use header v1, responses header v0 (none of the versions used
    below is a flexible one), i.e. just the correlation id."""

    def __init__(self, host: str, port: int, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.correlation_id = 0

    def __enter__(self) -> "KafkaConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def request(self, api_key: int, api_version: int, body: bytes) -> bytes:
        """Send one request and return the response body after the correlation id."""
        self.correlation_id += 1
        client_id = b"campaign-stack-probe"
        header = struct.pack(">hhih", api_key, api_version, self.correlation_id, len(client_id)) + client_id
        payload = header + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", _recv_exact(self.sock, 4))[0]
        if not 4 <= size <= MAX_RESPONSE:
            raise ValueError(f"implausible response size {size}")
        response = _recv_exact(self.sock, size)
        (got_correlation,) = struct.unpack_from(">i", response, 0)
        if got_correlation != self.correlation_id:
            raise ValueError(f"correlation id mismatch ({got_correlation} != {self.correlation_id})")
        return response[4:]

    def sasl_login(self, login: Login) -> None:
        """SaslHandshake v1 (api 17) then SCRAM through SaslAuthenticate v0 (api 36)."""
        mechanism = login.mechanism.encode()
        body = self.request(17, 1, struct.pack(">h", len(mechanism)) + mechanism)
        (error_code,) = struct.unpack_from(">h", body, 0)
        if error_code != 0:
            raise ValueError(f"SaslHandshake error_code {error_code} (is {login.mechanism} enabled?)")

        def exchange(message: bytes) -> bytes:
            answer = self.request(36, 0, struct.pack(">i", len(message)) + message)
            code, offset = struct.unpack_from(">h", answer, 0)[0], 2
            (text_len,) = struct.unpack_from(">h", answer, offset)
            offset += 2
            text = answer[offset:offset + text_len].decode() if text_len >= 0 else ""
            offset += max(text_len, 0)
            if code != 0:
                raise ScramError(f"SaslAuthenticate error_code {code}: {text}")
            (size,) = struct.unpack_from(">i", answer, offset)
            return answer[offset + 4:offset + 4 + size]

        authenticate(login.username, login.password, exchange)


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    """Read exactly count bytes or raise (a closed connection means 'not ready')."""
    chunks = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionError("connection closed by broker")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def kafka_api_versions(host: str, port: int, timeout: float = 3.0) -> dict:
    """ApiVersions v0 (api_key 18): returns {api_key: (min, max)}; raises if not well-formed/OK.

    The broker only answers once its request handlers run, so a well-formed answer with
    error_code 0 is a cheap 'the broker is serving' signal (allowed before authentication).
    """
    with KafkaConnection(host, port, timeout) as connection:
        body = connection.request(18, 0, b"")
    error_code, count = struct.unpack_from(">hi", body, 0)
    if error_code != 0:
        raise ValueError(f"ApiVersions error_code {error_code}")
    if count <= 0 or len(body) != 6 + 6 * count:
        raise ValueError("malformed ApiVersions response")
    versions = {}
    for index in range(count):
        key, low, high = struct.unpack_from(">hhh", body, 6 + 6 * index)
        versions[key] = (low, high)
    return versions


def kafka_metadata_brokers(host: str, port: int, login: Optional[Login] = None, timeout: float = 3.0) -> list:
    """Metadata v0 (api_key 3) for no topics, after logging in: returns [(node_id, host, port), ...].

    A non-empty broker list means the broker has caught up with the KRaft metadata log and can
    serve clients, which is what 'ready' means for the application.
    """
    empty_topic_list = struct.pack(">i", 0)  # v0: an empty array means "all topics"
    with KafkaConnection(host, port, timeout) as connection:
        if login is not None:
            connection.sasl_login(login)
        body = connection.request(3, 0, empty_topic_list)
    (count,) = struct.unpack_from(">i", body, 0)
    offset, brokers = 4, []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", body, offset)
        offset += 6
        broker_host = body[offset:offset + host_len].decode()
        offset += host_len
        (broker_port,) = struct.unpack_from(">i", body, offset)
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_is_serving(port: int, host: str = HOST, timeout: float = 3.0) -> bool:
    """The broker answers ApiVersions (before any login)."""
    try:
        kafka_api_versions(host, port, timeout)
        return True
    except (OSError, ValueError, struct.error):
        return False


def kafka_is_healthy(port: int, login: Optional[Login], host: str = HOST, timeout: float = 3.0) -> bool:
    """True if the broker answers ApiVersions with error 0, ``login`` authenticates, and it lists itself
    in Metadata."""
    try:
        kafka_api_versions(host, port, timeout)
        return len(kafka_metadata_brokers(host, port, login, timeout)) > 0
    except (OSError, ValueError, struct.error, UnicodeDecodeError, ScramError):
        return False
