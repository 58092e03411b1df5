"""Membership's infrastructure: its tables, its queries, its personal-data vault."""
