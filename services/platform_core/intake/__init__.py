"""The Kafka intake: departments' systems put commands on ``intake.<department>`` topics as CloudEvents 1.0
(docs/intake.md); each service's intake applier runs them through the same handlers as its HTTP routes."""
