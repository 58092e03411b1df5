"""The Merkle code against published RFC 6962 test vectors of an independent implementation.

Source of every vector below: github.com/transparency-dev/merkle (Apache-2.0),
``proof/verify_test.go`` (leaves, roots, inclusionProofs, consistencyProofs, the
corruption probes) and ``rfc6962/rfc6962_test.go`` (leaf/node hashing), as
stored at commits 02194e9afb6c1d95b5381350007963aa70fff472 and
78493b07ef9b552e3379abf9e23d4da26fbe797c.
"""

import pytest

from platform_core.merkle import (
    EMPTY_ROOT, MemoryTree, ProofError, leaf_hash, node_hash, root_from_inclusion_proof, root_from_leaves,
    verify_consistency, verify_inclusion,
)

h = bytes.fromhex

LEAVES = [h(""), h("00"), h("10"), h("2021"), h("3031"), h("40414243"), h("5051525354555657"),
          h("606162636465666768696a6b6c6d6e6f")]

ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]

# (leaf number, 1-based as in the Go file; tree size; proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]

CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_rfc6962_hasher_vectors():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_published_vectors(size):
    assert root_from_leaves(LEAVES[:size]) == ROOTS[size - 1]
    assert MemoryTree(LEAVES).root(size) == ROOTS[size - 1]


@pytest.mark.parametrize("leaf,size,proof", INCLUSION)
def test_generated_inclusion_proofs_equal_published_ones_and_verify(leaf, size, proof):
    tree = MemoryTree(LEAVES)
    expected = [h(p) for p in proof]
    assert tree.inclusion_proof(leaf - 1, size) == expected
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), expected, ROOTS[size - 1])


@pytest.mark.parametrize("first,second,proof", CONSISTENCY)
def test_generated_consistency_proofs_equal_published_ones_and_verify(first, second, proof):
    tree = MemoryTree(LEAVES)
    expected = [h(p) for p in proof]
    assert tree.consistency_proof(first, second) == expected
    verify_consistency(first, second, expected, ROOTS[first - 1], ROOTS[second - 1])


def _inclusion_probes(index, size, proof, root, leaf):
    """corruptInclusionProof from the Go file."""
    probes = [
        (index - 1, size, root, leaf, proof), (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof), (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof), (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof), (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, proof + [b""]), (index, size, root, leaf, proof + [root]),
        (index, size, root, leaf, [b""] + proof), (index, size, root, leaf, [root] + proof),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, root, leaf, flipped))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [SOME_HASH, proof[0]] + proof[1:]))
    return probes


@pytest.mark.parametrize("leaf,size,proof", INCLUSION[1:])
def test_corrupted_inclusion_proofs_are_rejected(leaf, size, proof):
    proof = [h(p) for p in proof]
    for index, s, root, lh, p in _inclusion_probes(leaf - 1, size, proof, ROOTS[size - 1],
                                                   leaf_hash(LEAVES[leaf - 1])):
        with pytest.raises(ProofError):
            verify_inclusion(index, s, lh, p, root)


def _consistency_probes(first, second, root1, root2, proof):
    """corruptConsistencyProof from the Go file."""
    probes = [
        (first - 1, second, root1, root2, proof), (first + 1, second, root1, root2, proof),
        (first ^ 2, second, root1, root2, proof), (first, second * 2, root1, root2, proof),
        (first, second // 2, root1, root2, proof), (first, second, b"WrongRoot", root2, proof),
        (first, second, root1, b"WrongRoot", proof), (first, second, root2, root1, proof),
        (first, second, root1, root2, []), (first, second, root1, root2, proof + [b""]),
        (first, second, root1, root2, proof + [root1]), (first, second, root1, root2, proof + [root2]),
        (first, second, root1, root2, [b""] + proof), (first, second, root1, root2, [root1] + proof),
        (first, second, root1, root2, [root2] + proof), (first, second, root1, root2, [proof[0]] + proof),
        (first, second, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, root1, root2, flipped))
    return probes


@pytest.mark.parametrize("first,second,proof", CONSISTENCY[1:])
def test_corrupted_consistency_proofs_are_rejected(first, second, proof):
    proof = [h(p) for p in proof]
    for f, s, r1, r2, p in _consistency_probes(first, second, ROOTS[first - 1], ROOTS[second - 1], proof):
        with pytest.raises(ProofError):
            verify_consistency(f, s, p, r1, r2)


def test_edge_cases_of_the_go_suite():
    data_hash = leaf_hash(b"data")
    verify_inclusion(0, 1, data_hash, [], data_hash)
    for index, size in ((0, 0), (1, 0), (2, 1)):
        with pytest.raises(ProofError):
            root_from_inclusion_proof(index, size, SOME_HASH, [])
    r1, r2 = b"don't care 1".ljust(32), b"don't care 2".ljust(32)
    verify_consistency(0, 0, [], r1, r1)
    verify_consistency(0, 1, [], r1, r2)
    verify_consistency(1, 1, [], r2, r2)
    for first, second, a, b, proof in ((0, 0, r1, r2, []), (1, 1, r1, r2, []), (1, 0, r1, r2, []),
                                       (2, 1, r1, r2, []), (1, 2, r1, r2, []),
                                       (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
                                       (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
                                       (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])):
        with pytest.raises(ProofError):
            verify_consistency(first, second, proof, a, b)
