"""Reporting service: projections, coverage rates, reports, bulletins, accountability, audit log."""
