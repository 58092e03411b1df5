"""Stream versions for envelopes the tests make by hand (tests/ is on sys.path via its conftest): a
stream's versions run 1, 2, ... as its store writes them, and the projections skip a version of a
stream they already applied (docs/architecture.md, "Partitioning and order")."""

_stream_versions: dict[str, int] = {}


def next_version(stream_id: str) -> int:
    """The stream's next version in this test process."""
    _stream_versions[stream_id] = _stream_versions.get(stream_id, 0) + 1
    return _stream_versions[stream_id]
