"""The OpenAPI document: valid, served, and exactly the app's routes; docs/api.md covers it."""

from __future__ import annotations

import re

import httpx
import schemathesis
from starlette.routing import Route

from hotline.api import OPENAPI, make_app
from hotline.api._errors import ERRORS_BY_CODE

from ..conftest import PROJECT_ROOT
from .servers import TOKEN, auth

API_DOC = PROJECT_ROOT / "docs" / "api.md"


class NoControl:
    """Routes are built without calling the control."""


def routes() -> set[tuple[str, str]]:
    app = make_app(NoControl(), token=TOKEN)  # type: ignore[arg-type]
    found = set()
    for route in app.routes:
        assert isinstance(route, Route) and route.methods is not None
        found |= {(route.path, method) for method in route.methods if method != "HEAD"}
    return found


def documented() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in OPENAPI["paths"].items() for method in item}


def test_the_document_describes_exactly_the_routes() -> None:
    assert documented() == routes()


def test_the_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.path, op.method.upper()) for op in operations} == documented()


async def test_the_document_is_served_behind_the_token() -> None:
    transport = httpx.ASGITransport(app=make_app(NoControl(), token=TOKEN))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as api:
        assert (await api.get("/v1/openapi.json")).status_code == 401
        served = await api.get("/v1/openapi.json", headers=auth())
    assert served.status_code == 200 and served.json() == OPENAPI


def test_docs_api_md_names_every_route_and_error_code() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    for path, method in routes():
        assert re.search(rf"`{method} {re.escape(path)}", text), (method, path)
    codes = {*ERRORS_BY_CODE, "unauthorized", "forbidden_host", "not_found"}
    codes |= {"method_not_allowed", "internal"}
    for code in codes:
        assert f"`{code}`" in text, code
