"""The signer's decision (pure): it signs a head only when a consistency proof leads to it from the last
signed checkpoint; boundaries with hypothesis over real RFC 6962 trees."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit_signer.domain import (
    FORK, INCONSISTENT, OLD_SIZE_MISMATCH, SHRUNK, OldSizeMismatch, SignerState, SigningRefused, SignRequest,
    check_request, next_checkpoint,
)
from platform_core.merkle import MemoryTree

ORIGIN = "campaign.example/test/audit"


def tree(n: int, changed: int | None = None) -> MemoryTree:
    return MemoryTree([b"changed" if i == changed else f"leaf {i}".encode() for i in range(n)])


def signed_at(t: MemoryTree, size: int, checkpoint_id: int = 1) -> SignerState:
    return SignerState(ORIGIN, checkpoint_id, size, t.root(size))


def request(t: MemoryTree, old: int, new: int) -> SignRequest:
    return SignRequest(old, new, t.root(new), tuple(t.consistency_proof(old, new)), "manual")


@given(st.integers(min_value=0, max_value=70), st.integers(min_value=0, max_value=70))
def test_a_genuine_extension_is_signed_with_the_next_id(old, extra):
    t = tree(old + extra)
    state = signed_at(t, old, checkpoint_id=4)
    check_request(state, request(t, old, old + extra))
    checkpoint = next_checkpoint(state, request(t, old, old + extra), "2016-11-20T08:00:00.000000Z")
    assert (checkpoint.id, checkpoint.size, checkpoint.root_hash) == (5, old + extra, t.root(old + extra))
    assert state.after(checkpoint) == SignerState(ORIGIN, 5, old + extra, t.root(old + extra))


@given(st.integers(min_value=1, max_value=60), st.data())
def test_a_rewritten_signed_leaf_is_refused_whatever_proof_comes_with_it(old, data):
    """The attack: a leaf the last checkpoint covers is rewritten and every hash recomputed consistently."""
    new = data.draw(st.integers(min_value=old, max_value=old + 40))
    victim = data.draw(st.integers(min_value=0, max_value=old - 1))
    genuine, forged = tree(new), tree(new, changed=victim)
    with pytest.raises(SigningRefused) as refused:
        check_request(signed_at(genuine, old), request(forged, old, new))
    assert refused.value.reason == (FORK if new == old else INCONSISTENT)


def test_a_shorter_log_is_refused_as_shrunk():
    t = tree(20)
    with pytest.raises(SigningRefused) as refused:
        check_request(signed_at(t, 20), request(t, 10, 15))
    assert refused.value.reason == SHRUNK and "never shrinks" in refused.value.message


def test_a_proof_from_another_size_is_a_conflict_naming_the_signed_size():
    t = tree(30)
    with pytest.raises(OldSizeMismatch) as refused:
        check_request(signed_at(t, 20, checkpoint_id=3), request(t, 10, 30))
    assert refused.value.reason == OLD_SIZE_MISMATCH and refused.value.state.tree_size == 20


def test_the_same_head_may_be_signed_again_under_a_new_id():
    t = tree(12)
    state = signed_at(t, 12, checkpoint_id=2)
    check_request(state, request(t, 12, 12))
    assert next_checkpoint(state, request(t, 12, 12), "2016-11-20T08:00:00.000000Z").id == 3


def test_an_empty_record_accepts_any_first_head():
    """Why `init --empty` is for new logs only: from size 0 there is nothing to prove."""
    t = tree(9)
    check_request(SignerState.empty(ORIGIN), request(t, 0, 9))
