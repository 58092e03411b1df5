"""The uploaded file of an import, received only once the caller is authorized.

A ``File()`` parameter would have FastAPI read and spool the whole multipart body before any dependency
(the token among them) runs; these routes take the request instead, authorize the department for the
form, and only then read the body (its size counted as it arrives: platform_core.http). The OpenAPI
still describes the body (``upload_body``)."""

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from platform_core.errors import SchemaViolation


def upload_body(description: str) -> dict:
    """``openapi_extra`` of a route taking one file in the multipart field ``file``."""
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": description}}}}}}}


async def read_upload(request: Request) -> tuple[str, bytes]:
    """(file name, content) of the multipart field ``file``; 422 naming ``file`` when there is none."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise SchemaViolation("file：请以 multipart/form-data 上传文件（字段名 file）", field="file",
                              rule="multipart/form-data")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as exc:
        raise SchemaViolation(f"file：上传内容无法解析（{exc.message}）", field="file") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise SchemaViolation("file：缺少上传的文件（multipart 字段 file）", field="file", rule="required")
        return upload.filename or "", await upload.read()
    finally:
        await form.close()
