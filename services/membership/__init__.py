"""Membership service: members, registrations, transfers, the four ways of growing membership."""
