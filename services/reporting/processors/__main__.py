"""``python -m reporting.processors worker [-l info]``: the faust worker of the reporting projections."""

from reporting.processors import agents  # noqa: F401  (registers the agent)
from reporting.processors.app import app

if __name__ == "__main__":
    app.main()
