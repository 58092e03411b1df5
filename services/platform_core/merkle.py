"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification (pure).

The log stores the hash of every *complete* subtree: node ``(level, index)``
covers leaves ``[index * 2**level, (index + 1) * 2**level)``. Any range hash the
RFC's recursive definitions need is a right-to-left fold of at most
``log2(n)`` such nodes, so roots and proofs cost O(log n) stored reads and
never a recomputation of the tree. Functions here only *plan* which nodes are
needed and *combine* their hashes; fetching them is the storage adapter's job.
"""

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index) of a complete subtree
Range = tuple[int, int]  # leaves [begin, end)


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 2.1: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 2.1: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(begin: int, end: int) -> list[Node]:
    """The complete subtrees that tile ``[begin, end)``, left to right, largest aligned first."""
    nodes = []
    while begin < end:
        level = (begin & -begin).bit_length() - 1 if begin else (end - begin).bit_length() - 1
        while (1 << level) > end - begin:
            level -= 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its tiling nodes: hash them together right to left."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_nodes(size: int) -> list[Node]:
    return range_nodes(0, size)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]) as the leaf ranges whose MTHs form the proof, leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[Range] = []
    begin, end, m = 0, size, index
    while end - begin > 1:
        k = _largest_power_of_two_below(end - begin)
        if m < k:
            path.append((begin + k, end))
            end = begin + k
        else:
            path.append((begin, begin + k))
            begin, m = begin + k, m - k
    return list(reversed(path))


def consistency_ranges(first: int, second: int) -> list[Range]:
    """RFC 9162 2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    path: list[Range] = []
    begin, end, m, complete = 0, second, first, True
    while True:
        n = end - begin
        if m == n:
            if not complete:
                path.append((begin, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            path.append((begin + k, end))
            end = begin + k
        else:
            path.append((begin, begin + k))
            begin, m, complete = begin + k, m - k, False
    return list(reversed(path))


@dataclass(frozen=True)
class ProofPlan:
    """Which stored nodes a proof needs, and how to combine them."""

    ranges: list[Range]

    def nodes(self) -> set[Node]:
        return {node for r in self.ranges for node in range_nodes(*r)}

    def hashes(self, lookup: Mapping[Node, bytes]) -> list[bytes]:
        return [fold([lookup[node] for node in range_nodes(*r)]) for r in self.ranges]


def inclusion_plan(index: int, size: int) -> ProofPlan:
    return ProofPlan(inclusion_ranges(index, size))


def consistency_plan(first: int, second: int) -> ProofPlan:
    return ProofPlan(consistency_ranges(first, second))


def root_plan(size: int) -> ProofPlan:
    return ProofPlan([(0, size)] if size else [])


class CompactRange:
    """The right border of a growing tree: the roots of the complete subtrees of ``[0, size)``.

    Appending a leaf returns the internal nodes it completes, which the
    storage adapter inserts; the root is the fold of the border.
    """

    def __init__(self, size: int = 0, border: Sequence[bytes] = ()):
        expected = len(root_nodes(size))
        if len(border) != expected:
            raise ValueError(f"a tree of size {size} has {expected} border nodes, got {len(border)}")
        self.size = size
        self.border = list(border)
        self._levels = [level for level, _ in root_nodes(size)]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the completed internal nodes as (level, index, hash)."""
        created = []
        self.border.append(leaf)
        self._levels.append(0)
        index = self.size
        while len(self._levels) >= 2 and self._levels[-1] == self._levels[-2]:
            right, left = self.border.pop(), self.border.pop()
            level = self._levels.pop() + 1
            self._levels[-1] = level
            merged = node_hash(left, right)
            self.border.append(merged)
            created.append((level, index >> level, merged))
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold(self.border)


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    """MTH of raw leaf data (the reference definition, for tests and the verifier)."""
    tree = CompactRange()
    for data in leaves:
        tree.append(leaf_hash(data))
    return tree.root()


class ProofError(ValueError):
    """A proof does not prove what it claims; the message says which check failed."""


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root an inclusion proof leads to (raises when malformed)."""
    if index >= size or index < 0:
        raise ProofError(f"leaf index {index} is not inside a tree of size {size}")
    _check_hash("leaf hash", leaf)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash("proof element", p)
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``leaf`` is at ``index`` in the tree of ``size`` with ``root``."""
    _check_hash("root hash", root)
    computed = root_from_inclusion_proof(index, size, leaf, proof)
    if computed != root:
        raise ProofError(f"inclusion proof for leaf {index} leads to root {base64.b64encode(computed).decode()}, "
                         f"not the expected {base64.b64encode(root).decode()}")


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes,
                       second_root: bytes) -> None:
    """RFC 9162 2.1.4.2: raise ProofError unless the tree of ``first`` is a prefix of ``second``."""
    if second < first or first < 0:
        raise ProofError(f"size {second} is smaller than size {first}: a log never shrinks")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    for p in (*proof, first_root, second_root):
        _check_hash("hash", p)
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError(f"consistency proof does not lead to the root of size {first}")
    if sr != second_root:
        raise ProofError(f"consistency proof does not lead to the root of size {second}")


class MemoryTree:
    """All complete-subtree hashes of a list of leaves, in memory: the unit tests' node store."""

    def __init__(self, leaves: Iterable[bytes] = ()):
        self.nodes: dict[Node, bytes] = {}
        self.range = CompactRange()
        for data in leaves:
            self.append(data)

    def append(self, data: bytes) -> None:
        h = leaf_hash(data)
        self.nodes[(0, self.range.size)] = h
        for level, index, value in self.range.append(h):
            self.nodes[(level, index)] = value

    @property
    def size(self) -> int:
        return self.range.size

    def _resolve(self, plan: ProofPlan) -> list[bytes]:
        return plan.hashes(self.nodes)

    def root(self, size: int | None = None) -> bytes:
        plan = root_plan(self.size if size is None else size)
        return plan.hashes(self.nodes)[0] if plan.ranges else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._resolve(inclusion_plan(index, size))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self._resolve(consistency_plan(first, second))

