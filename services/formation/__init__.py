"""Formation service: organizations, coverage, work coverage, the campaign board, checks."""
