"""The audit signer: the one process that holds the audit log's signing key.

It keeps its own record of the last checkpoint it signed (a state file and an append-only file of
every signed note, in its state directory, outside every database) and signs a new tree head only
when a consistency proof (RFC 9162 2.1.4) leads from that record to it. The reporting service asks
it over HTTP on 127.0.0.1 with a client secret; nothing else can. docs/audit.md, "The signer".
"""
