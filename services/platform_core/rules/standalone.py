"""R3 standalone and R4 joint organizations: the formal-member thresholds (二(四)2, 二(四)3)."""

from collections.abc import Iterable

from .requirements import MUST_STAND_ALONE

JOINT_MINIMUM = 3  # R4: a joint organization's entities together have >= 3 formal members


def must_stand_alone(formal_members: int) -> bool:
    """R3: an entity with 3 or more formal members must have its own organization."""
    return formal_members >= MUST_STAND_ALONE


def r3_violation(formal_members: int, modes: Iterable[str]) -> bool:
    """R3: 3 or more formal members and no standalone organization, whether the entity has no
    organization at all or is only inside a joint (or functional) one (调整优化组织设置)."""
    return must_stand_alone(formal_members) and "standalone" not in set(modes)
