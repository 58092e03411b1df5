"""Campaign simulator: plays a whole ~100-day campaign through the services' public HTTP APIs.

A client of the platform, not a service: it never touches a database or Kafka.
``plan`` decides everything (pure, deterministic for a seed); ``runner`` sends
the commands; ``truth`` derives the figures the platform should show.
"""
