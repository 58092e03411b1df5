"""Hostile spreadsheets and uploads (issue "Bad input and operations", items 1 and 2).

On the real registry service (uvicorn in its own process, on the stack's PostgreSQL and Kafka): a 5 KB
XLSX whose cells A1 and XFD1000 span 16,384 columns is refused in under a second while the service goes on
answering; an 8 MiB chunked multipart upload is refused past the upload cap as it arrives. In-process: the
department is authorized before its file is read; sheets wider or longer than the form are refused."""

import http.client
import io
import json
import re
import threading
import time
import uuid
import zipfile
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from hardening_apps import build_scratch_app, drop, prepare, running_service, scratch_context
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings

pytestmark = pytest.mark.integration

ISSUER = issuer_from_settings()
CHINESE = re.compile(r"[\u4e00-\u9fff]")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bearer(kind: str = "city_org", territory: str | None = None) -> dict:
    department = f"{kind}:{territory}" if territory else kind
    return {"Authorization": f"Bearer {ISSUER.issue(Principal(department, kind, 'hardening', territory))}"}


def far_corner_xlsx(declare_dimension: bool = True) -> bytes:
    """Cells A1 and XFD1000 only: a few KB that a full load expands to 16,384 x 1,000 cells."""
    book = Workbook()
    sheet = book.active
    sheet["A1"], sheet["XFD1000"] = "企业名称", "x"
    buffer = io.BytesIO()
    book.save(buffer)
    if declare_dimension:
        return buffer.getvalue()
    # the same file without its <dimension>: the reader cannot know the size before it reads the rows
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<dimension [^>]*/>", b"", data)
            target.writestr(item, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def registry_process(tmp_path_factory):
    """The registry service as deployed (uvicorn, its own role), with uploads capped at 1 MiB."""
    with running_service("registry", tmp_path_factory.mktemp("registry"),
                         {"CAMPAIGN_MAX_UPLOAD_BYTES": str(1024 * 1024)}) as port:
        yield port


def multipart(filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(port: int, path: str, body: bytes, content_type: str, chunked: bool = False) -> tuple[int, dict, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {**bearer(), "Content-Type": content_type}
    started = time.perf_counter()
    if chunked:  # no Content-Length: the server learns the size only as the chunks arrive
        chunks = (body[i:i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
        connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
    else:
        connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    return response.status, json.loads(answer), time.perf_counter() - started


@pytest.mark.parametrize("declared", [True, False], ids=["dimension declared", "dimension absent"])
def test_a_far_corner_xlsx_is_refused_within_a_second_while_the_service_answers(registry_process, declared):
    port = registry_process
    content = far_corner_xlsx(declared)
    assert len(content) < 8 * 1024
    body, content_type = multipart("附表1.xlsx", content, XLSX_TYPE)
    answered, stop = [], threading.Event()

    def meanwhile():  # another client reading while the file is handled
        while not stop.is_set():
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()
            answered.append(time.perf_counter() - started)

    reader = threading.Thread(target=meanwhile)
    reader.start()
    try:
        status, answer, seconds = post(port, "/imports/form1", body, content_type)
    finally:
        stop.set()
        reader.join()
    assert status == 422 and answer["field"] == "file" and answer["rule"] == "sheet_too_wide", answer
    assert CHINESE.search(answer["message"]) and "16384" in answer["message"], answer
    assert seconds < 1.0, seconds
    assert answered and max(answered) < 1.0, answered


def test_a_chunked_upload_past_the_cap_is_413_in_chinese(registry_process):
    port = registry_process
    body, content_type = multipart("big.csv", b"a,b\n" * (2 * 1024 * 1024), "text/csv")  # 8 MiB
    for chunked in (True, False):
        status, answer, _ = post(port, "/imports/form1", body, content_type, chunked=chunked)
        assert status == 413 and answer["error"] == "payload_too_large" and answer["field"] == "body", answer
        assert CHINESE.search(answer["message"]) and str(1024 * 1024) in answer["message"], answer
    # any other content type is counted as it arrives too, against the request limit
    status, answer, _ = post(port, "/entities", b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                             "text/plain", chunked=True)
    assert status == 413 and answer["error"] == "payload_too_large", answer


@pytest.fixture(scope="module")
def client():
    context = scratch_context("registry")
    prepare("registry", context)
    try:
        with TestClient(build_scratch_app("registry", context)) as opened:
            opened.context = context
            yield opened
    finally:
        drop(context)


def test_the_department_is_authorized_before_its_file_is_read(client):
    garbage = {"file": ("附表1.xlsx", b"PK\x03\x04 not a workbook", XLSX_TYPE)}
    for kind, territory, form in (("civil_affairs", None, "form1"), ("street_office", "420102002", "form2"),
                                  ("market_regulation", None, "form1"), ("education", None, "form2")):
        response = client.post(f"/imports/{form}", files=garbage, headers=bearer(kind, territory))
        assert response.status_code == 403 and response.json()["field"] == "Authorization", (kind, response.text)
    assert client.post("/imports/form1", files=garbage, headers=bearer()).status_code == 422  # then it is read


def test_sheets_wider_or_longer_than_the_form_are_refused(client):
    wide = ",".join(["企业名称"] + ["x"] * 40).encode()
    response = client.post("/imports/form1", files={"file": ("wide.csv", wide, "text/csv")}, headers=bearer())
    assert response.status_code == 422 and response.json()["rule"] == "sheet_too_wide", response.text
    padded = ("企业名称" + "," * 200 + "\n").encode()  # a spreadsheet's CSV pads rows with empty cells: read
    assert client.post("/imports/form1", files={"file": ("padded.csv", padded, "text/csv")},
                       headers=bearer()).json().get("rule") != "sheet_too_wide"
    registry = client.app.state.registry
    client.app.state.registry = replace(registry, import_max_rows=50)
    try:
        long = ("企业名称\n" + "某公司\n" * 100).encode()
        response = client.post("/imports/form1", files={"file": ("long.csv", long, "text/csv")}, headers=bearer())
        assert response.status_code == 422 and response.json()["rule"] == "sheet_too_long", response.text
        assert "50" in response.json()["message"]
    finally:
        client.app.state.registry = registry


def test_the_default_upload_cap_is_20_mib_counted_as_it_arrives(client):
    cap = client.context.settings.max_upload_bytes
    assert cap == 20 * 1024 * 1024
    body, content_type = multipart("big.csv", b"a" * (cap + 1), "text/csv")
    response = client.post("/imports/form1", content=iter([body[:cap // 2], body[cap // 2:]]),
                           headers=bearer() | {"Content-Type": content_type})
    assert response.status_code == 413 and str(cap) in response.json()["message"], response.text


def test_405_names_the_allowed_methods(client):
    response = client.delete("/imports/form1", headers=bearer())
    assert response.status_code == 405 and response.headers["Allow"] == "POST", response.headers
    assert response.headers["X-Request-Id"]
