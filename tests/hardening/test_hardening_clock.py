"""The clock (issue "Bad input and operations", item 6), on the registry service as deployed.

Every answer names the clock that answered it (``X-Campaign-Clock``). On the real clock a request naming its
business time (``X-Campaign-Time``) is refused, naming the header; on the simulated clock it is run at that
time, and the answer says so. scripts/run.sh reads this header to restart services left on the simulated
clock after the demo (docs/simulator.md)."""

import http.client

import pytest

from hardening_apps import running_service
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings

pytestmark = pytest.mark.integration

CITY = {"Authorization": f"Bearer {issuer_from_settings().issue(Principal('city_org', 'city_org', 'hardening'))}"}


def get(port: int, path: str, headers: dict, method: str = "GET", body: bytes | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.mark.parametrize("simulated", [False, True], ids=["real clock", "simulated clock"])
def test_every_answer_names_its_clock_and_campaign_time_needs_the_simulated_one(tmp_path, simulated):
    with running_service("registry", tmp_path, {"CAMPAIGN_SIMULATED_CLOCK": str(simulated).lower()}) as port:
        for path in ("/healthz", "/entities", "/no-such-path"):
            _, headers, _ = get(port, path, CITY)
            assert headers["x-campaign-clock"] == ("simulated" if simulated else "real"), (path, headers)
        status, headers, _ = get(port, "/entities", CITY | {"Content-Type": "application/json"}, "POST",
                                 b"[" + b"0," * (1024 * 1024) + b"0]")  # refused by the size limit, outside the app
        assert status == 413 and headers["x-campaign-clock"] == ("simulated" if simulated else "real"), headers
        status, headers, body = get(port, "/entities?limit=1", CITY | {"X-Campaign-Time": "2016-09-10T10:00:00+08:00"})
        if simulated:
            assert status == 200 and headers["x-campaign-clock"] == "simulated; at=2016-09-10T02:00:00+00:00"
        else:
            assert status == 400 and b'"field":"X-Campaign-Time"' in body, body
            assert headers["x-campaign-clock"] == "real"
