"""The scenario JSON Schema at the server's edge, and the OpenAPI document built around it.

The scenario body of every route is described by the scenario model's JSON Schema (one
``Scenario`` component plus its parts as ``Scenario.<Part>`` components), so a client or a
property-based tester can generate scenarios the server accepts. The same schema is enforced
on every scenario the server receives (after the model's own validation, whose messages are
more helpful): what the document calls invalid is refused with a 422, never quietly coerced.

JSON Schema cannot say everything a scenario must satisfy (a routing must name stations that
exist, a buffer must sit between adjacent steps, the horizon must fit the server's limit):
those rules answer 422 too, naming the field.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

PREFIX = "Scenario."
# a small valid scenario: the documented example of every scenario body (and what schemathesis'
# examples phase sends, so it reaches the simulation)
EXAMPLE = {"name": "two machines", "horizon": "1 h", "seed": 1,
           "stations": {"A": {"process_time": {"dist": "exponential", "mean": 10}}, "B": {"process_time": 11}},
           "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
           "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}


# numbers written as strings: what YAML readers hand over for ``k: 1.2e8`` (PyYAML reads it as a
# string) and the model has always accepted; nothing else (no "nan", "inf", units, spaces)
NUMBER_TEXT = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
INTEGER_TEXT = r"^[+-]?[0-9]+$"
_META = ("title", "description", "default", "examples")


def _loosen(node: Any) -> Any:
    """The model's schema as the server applies it: oneOf -> anyOf without discriminator (a
    station without ``kind`` is a ``machine``, which a strict oneOf over optional tags would
    refuse), and numbers also as numeric text."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "discriminator":
                continue
            out["anyOf" if k == "oneOf" else k] = _loosen(v)
        if (node.get("discriminator") or {}).get("propertyName") == "dist":
            # a bare number or time text is shorthand for a constant (twin.distributions.coerce_distribution)
            out["anyOf"] = out["anyOf"] + [{"type": ["number", "string"], "description": "shorthand for {dist: constant, value: ...}"}]
        if out.get("title") == "PowerSpec" and "off" in out.get("properties", {}):
            # YAML 1.1 reads a bare `off:` key as false, JSON-encoded "false" (PowerSpec._yaml_off)
            out["properties"]["false"] = dict(out["properties"]["off"], description="`off` as YAML 1.1 spells it")
        if out.get("type") in ("number", "integer"):
            meta = {k: out.pop(k) for k in _META if k in out}
            text = {"type": "string", "pattern": NUMBER_TEXT if out["type"] == "number" else INTEGER_TEXT}
            return {**meta, "anyOf": [out, text]}
        return out
    if isinstance(node, list):
        return [_loosen(v) for v in node]
    return node


def _reref(node: Any, new: str) -> Any:
    if isinstance(node, dict):
        return {k: (new + v[len("#/$defs/"):] if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/") else _reref(v, new))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_reref(v, new) for v in node]
    return node


@functools.lru_cache(maxsize=4)
def _schemas(version: int) -> tuple[dict, dict]:
    from twin.scenario import scenario_model

    raw = scenario_model().model_json_schema(by_alias=True)
    raw = _loosen(raw)
    defs = raw.pop("$defs", {})
    raw["title"] = "Scenario"
    raw["examples"] = [EXAMPLE]
    raw.setdefault("description", "A twin scenario (the same schema as scenario files; units as strings such as '8 h' are accepted)")
    standalone = {**raw, "$defs": defs}
    comps = {"Scenario": _reref(raw, "#/components/schemas/" + PREFIX)}
    for name, d in defs.items():
        comps[PREFIX + name] = _reref(d, "#/components/schemas/" + PREFIX)
    return standalone, comps


def _version() -> int:
    from twin.registry import registry

    registry.ensure_loaded()
    return registry.version


def scenario_components() -> dict:
    """The components to put into the OpenAPI document."""
    return copy.deepcopy(_schemas(_version())[1])


@functools.lru_cache(maxsize=4)
def _validator(version: int):
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(_schemas(version)[0])


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def schema_errors(body: Any, limit: int = 20) -> list[tuple[str, str]]:
    """(path, message) for every way ``body`` breaks the published scenario schema."""
    out = []
    for e in _validator(_version()).iter_errors(body):
        out.append((_path(e.instance_path), e.message))
        if len(out) >= limit:
            break
    return out


def warm() -> None:
    _validator(_version())


# ---- the OpenAPI document ----------------------------------------------------------------------
def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def build_openapi(app, *, secured: bool) -> dict:
    """FastAPI's document, completed: the scenario schema, one error shape, every status code
    the middleware and dependencies add (401, 403, 413), bearer security when identities are
    configured."""
    from fastapi.openapi.utils import get_openapi
    from fastapi.routing import APIRoute

    from .deps import writer

    from . import errors

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    comps = doc.setdefault("components", {}).setdefault("schemas", {})
    comps.update(scenario_components())
    for model in (errors.ErrorItem, errors.ValidationErrorBody, errors.ErrorBody):
        s = model.model_json_schema(ref_template="#/components/schemas/{model}")
        s.pop("$defs", None)
        comps[model.__name__] = s
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)
    if secured:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer",
                                                           "description": "a secret from the server's identities (--tokens FILE, --token NAME=SECRET)"}}
    writes = set()
    for r in app.state.api_routes:
        if isinstance(r, APIRoute) and writer in _calls(r.dependant):
            writes |= {(r.path_format, m.lower()) for m in r.methods}
    error = {"application/json": {"schema": _ref("ErrorBody")}}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            res = op.setdefault("responses", {})
            if "422" in res:
                res["422"] = {"description": "Validation error: every field that is wrong, with its path",
                              "content": {"application/json": {"schema": _ref("ValidationErrorBody")}}}
            if "requestBody" in op:
                res.setdefault("413", {"description": "Request body above the server's limit", "content": error})
            if secured and path.startswith("/v1/") and path != "/v1/health":
                op["security"] = [{"bearer": []}]
                res.setdefault("401", {"description": "Missing or unknown bearer token", "content": error,
                                       "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}})
                if (path, method) in writes:
                    res.setdefault("403", {"description": "The identity has no write right", "content": error})
    _links(doc)
    return doc


# what a created resource's id opens: OpenAPI links, so clients (and schemathesis' stateful phase)
# can follow a run, a session or a stored scenario from the reply that created it
_FOLLOW = {
    ("/v1/scenarios", "post", "201"): ("sid", ["/v1/scenarios/{sid}:get"]),
    ("/v1/runs", "post", "202"): ("rid", ["/v1/runs/{rid}:get", "/v1/runs/{rid}/kpis:get", "/v1/runs/{rid}/events:get",
                                         "/v1/runs/{rid}/tables:get", "/v1/runs/{rid}/cancel:post"]),
    ("/v1/sessions", "post", "201"): ("sid", ["/v1/sessions/{sid}:get", "/v1/sessions/{sid}/tags:get", "/v1/sessions/{sid}/step:post",
                                             "/v1/sessions/{sid}/commands:post", "/v1/sessions/{sid}/commands:get",
                                             "/v1/sessions/{sid}/kpis:get", "/v1/sessions/{sid}:delete"]),
}
_FOLLOW[("/v1/sessions/demo", "post", "201")] = _FOLLOW[("/v1/sessions", "post", "201")]


def _links(doc: dict) -> None:
    paths = doc.get("paths", {})
    for (path, method, status), (param, targets) in _FOLLOW.items():
        res = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if res is None:
            continue
        links = {}
        for t in targets:
            tpath, tmethod = t.rsplit(":", 1)
            op = paths.get(tpath, {}).get(tmethod)
            if op is None or "operationId" not in op:
                continue
            links[op["operationId"]] = {"operationId": op["operationId"], "parameters": {param: "$response.body#/id"}}
        res["links"] = links


def _calls(dependant) -> set:
    out = set()
    for d in dependant.dependencies:
        out.add(d.call)
        out |= _calls(d)
    return out
