"""The plan's counting rules as small pure functions, shared by every service (docs/rules.md).

Registry shows them on an entity, formation enforces them, reporting counts with them:
one definition each, so the services cannot disagree about a threshold.
"""
