"""Kafka wire-protocol readiness probes (raw sockets, no client library needed)."""

import socket
import struct

from .settings import HOST


def _kafka_request(host: str, port: int, api_key: int, api_version: int, body: bytes,
                   timeout: float, correlation_id: int = 7) -> bytes:
    """Send one request (header v1) and return the response body after the correlation id.

    Both probes below use response header v0 (ApiVersions always does; Metadata v0 is not
    a flexible version), i.e. just the correlation id.
    """
    client_id = b"campaign-stack-probe"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    payload = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        if not 4 <= size <= 16 * 1024 * 1024:
            raise ValueError(f"implausible response size {size}")
        response = _recv_exact(sock, size)
    (got_correlation,) = struct.unpack_from(">i", response, 0)
    if got_correlation != correlation_id:
        raise ValueError(f"correlation id mismatch ({got_correlation} != {correlation_id})")
    return response[4:]


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
    error_code 0 is a cheap 'the broker is serving' signal.
    """
    body = _kafka_request(host, port, api_key=18, api_version=0, body=b"", timeout=timeout)
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


def kafka_metadata_brokers(host: str, port: int, timeout: float = 3.0) -> list:
    """Metadata v0 (api_key 3) for no topics: returns [(node_id, host, port), ...].

    A non-empty broker list means the broker has caught up with the KRaft metadata log and can
    serve clients, which is what 'ready' means for the application.
    """
    empty_topic_list = struct.pack(">i", 0)  # v0: an empty array means "all topics"
    body = _kafka_request(host, port, api_key=3, api_version=0, body=empty_topic_list,
                          timeout=timeout)
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


def kafka_is_healthy(port: int, host: str = HOST, timeout: float = 3.0) -> bool:
    """True if the broker answers ApiVersions with error 0 and lists itself in Metadata."""
    try:
        kafka_api_versions(host, port, timeout)
        return len(kafka_metadata_brokers(host, port, timeout)) > 0
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        return False
