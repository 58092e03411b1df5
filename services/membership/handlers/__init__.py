"""Membership's command handlers and its projection of other services' topics."""
