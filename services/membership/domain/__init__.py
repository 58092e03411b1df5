"""Pure membership rules (docs/rules.md R5, R13): no database, HTTP or Kafka here."""
