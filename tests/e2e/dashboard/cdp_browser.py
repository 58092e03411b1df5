"""Headless Chromium driven over the DevTools protocol (CDP, aiohttp's websocket client): the tests load a
page at a given viewport width and read what the browser computed (document width, visible text) and a
screenshot. The dashboard itself has no scripts; only the test evaluates expressions in the page."""

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is missing: install it with `scripts/os-packages.sh chromium`")


class Browser:
    """One Chromium process and its first tab; ``with Browser(profile) as b: b.load(url, 390)``."""

    def __init__(self, profile: Path, timeout: float = 60):
        self.profile, self.timeout, self.ids = profile, timeout, itertools.count(1)
        self.loop = asyncio.new_event_loop()

    def __enter__(self) -> "Browser":
        self.process = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, deadline = self.profile / "DevToolsActivePort", time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__(None, None, None)
                pytest.fail("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        self.loop.run_until_complete(self._connect(port))
        return self

    async def _connect(self, port: int) -> None:
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self._call("Page.enable")
        await self._call("Runtime.enable")

    def __exit__(self, *_) -> None:
        if getattr(self, "session", None) is not None:
            self.loop.run_until_complete(self.session.close())
        self.loop.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    async def _call(self, method: str, until_event: str | None = None, **params) -> dict:
        """Send a command; return its result (or, with ``until_event``, wait for that event too)."""
        call_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        result, seen_event = None, until_event is None
        async with asyncio.timeout(self.timeout):
            while result is None or not seen_event:
                message = json.loads((await self.ws.receive()).data)
                if message.get("id") == call_id:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    result = message["result"]
                elif message.get("method") == until_event:
                    seen_event = True
        return result

    def call(self, method: str, until_event: str | None = None, **params) -> dict:
        return self.loop.run_until_complete(self._call(method, until_event, **params))

    def evaluate(self, expression: str, until_event: str | None = None):
        result = self.call("Runtime.evaluate", until_event, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def load(self, url: str, width: int, height: int = 900) -> dict:
        """Open ``url`` at a viewport ``width`` px wide (phone emulation below 600 px); what the page shows."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        self.call("Page.navigate", "Page.loadEventFired", url=url)
        return self.evaluate(
            "({url: location.href, scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth,"
            " text: document.body.innerText, html: document.documentElement.outerHTML, title: document.title})")

    def screenshot(self, path: Path) -> Path:
        """The full page as PNG (the viewport's width, the document's height)."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def sign_in(self, base: str, token: str) -> dict:
        """Sign in through the login form as a person would (paste the token, submit)."""
        self.load(f"{base}/dashboard/login", 1400)
        self.evaluate(f"document.querySelector('textarea[name=token]').value = {json.dumps(token)};"
                      " document.querySelector('form.login').submit()", "Page.loadEventFired")
        return self.evaluate("({url: location.href, text: document.body.innerText})")
