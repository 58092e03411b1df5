"""Registry service: entities, ledgers (台帐), the baseline (党建基数), verification flags."""
