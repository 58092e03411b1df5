"""Properties of the tree code at every size, against the RFC's recursive definitions written
out naively here (MTH, PATH, PROOF/SUBPROOF of RFC 9162 2.1)."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.merkle import (
    CompactRange, MemoryTree, ProofError, range_nodes, verify_consistency, verify_inclusion,
)


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    return subproof(m, d[:k], b) + [mth(d[k:])] if m <= k else subproof(m - k, d[k:], False) + [mth(d[:k])]


def leaves(n: int) -> list[bytes]:
    return [f"event-{i}".encode() for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 140).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(1, n))))
def test_proofs_match_the_rfc_definitions_and_verify(args):
    n, m, first = args
    d = leaves(n)
    tree = MemoryTree(d)
    assert tree.root() == mth(d)
    proof = tree.inclusion_proof(m, n)
    assert proof == path(m, d)
    verify_inclusion(m, n, tree.nodes[(0, m)], proof, mth(d))
    cproof = tree.consistency_proof(first, n)
    assert cproof == (subproof(first, d, True) if first < n else [])
    verify_consistency(first, n, cproof, mth(d[:first]), mth(d))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 100).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_a_changed_leaf_fails_its_inclusion_proof(args):
    n, m = args
    d = leaves(n)
    tree = MemoryTree(d)
    forged = MemoryTree(d[:m] + [b"forged"] + d[m + 1:])
    try:
        verify_inclusion(m, n, forged.nodes[(0, m)], tree.inclusion_proof(m, n), tree.root())
    except ProofError:
        return
    raise AssertionError("a forged leaf verified")


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_range_nodes_tile_the_range_with_complete_subtrees(a, b):
    begin, end = min(a, b), max(a, b)
    position = begin
    for level, index in range_nodes(begin, end):
        assert index << level == position
        position += 1 << level
    assert position == end


@given(st.integers(0, 300), st.integers(0, 50))
def test_compact_range_resumes_from_a_stored_border(size, more):
    d = leaves(size + more)
    whole = MemoryTree(d)
    border = [whole.nodes[node] for node in range_nodes(0, size)]
    resumed = CompactRange(size, border)
    for item in d[size:]:
        resumed.append(hashlib.sha256(b"\x00" + item).digest())
    assert resumed.root() == mth(d)
