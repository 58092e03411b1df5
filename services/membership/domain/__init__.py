"""Pure membership rules (DOMAIN.md R5, R13): no database, HTTP or Kafka here."""
