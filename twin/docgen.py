"""``docs/fields.md``: every field of every scenario section and station kind, generated from the
scenario's JSON Schema (the same models that validate files), with type, unit, default and
meaning. Regenerate after changing a model::

    python -m twin.docgen > docs/fields.md

``tests/workbench/test_docs.py`` fails when the committed file is out of date.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault

__all__ = ["schema_with_defaults", "fields_markdown"]


class _WithFactoryDefaults(GenerateJsonSchema):
    """JSON Schema that states the defaults made by factories too (``days`` of a shift:
    mon..fri), so the docs say what an omitted field means."""

    def get_default_value(self, schema):
        if "default" in schema:
            return schema["default"]
        f = schema.get("default_factory")
        if f is not None and not schema.get("default_factory_takes_data"):
            try:
                return f()
            except Exception:  # pragma: no cover - factories here take no arguments
                return NoDefault
        return NoDefault


def schema_with_defaults() -> dict:
    from .scenario import scenario_model

    s = scenario_model().model_json_schema(by_alias=True, schema_generator=_WithFactoryDefaults)
    s["title"] = "twin scenario"
    return s


_UNIT = {"time": "s", "power": "W", "length": "m", "velocity": "m/s", "temperature": "K", "pressure": "Pa", "force": "N",
         "energy": "J", "mass": "kg", "frequency": "Hz"}


def _anchor(name: str) -> str:
    return name.lower()


def _ref(r: str) -> str:
    return r.split("/")[-1]


def _type(p: dict, defs: dict) -> tuple[str, str]:
    """(type text, unit) of a property schema."""
    if "$ref" in p:
        n = _ref(p["$ref"])
        return f"[{n}](#{_anchor(n)})", ""
    if "const" in p:
        return f"`{p['const']}`", ""
    if "enum" in p:
        return " | ".join(f"`{v}`" for v in p["enum"]), ""
    if "anyOf" in p or "oneOf" in p:
        alts = p.get("anyOf") or p.get("oneOf")
        disc = p.get("discriminator")
        if disc:
            names = sorted(disc["mapping"])
            return f"one of ({disc['propertyName']}): " + ", ".join(f"[{k}](#{_anchor(_ref(disc['mapping'][k]))})" for k in names), ""
        strs = [a for a in alts if a.get("type") == "string" and "with unit" in a.get("description", "")]
        if strs:
            q = strs[0]["description"].split(" with unit")[0]
            ex = re.search(r"e\.g\. '([^']+)'", strs[0]["description"])
            u = _UNIT.get(q, "")
            return f"{q}: number [{u}] or text with unit" + (f" (`{ex.group(1)}`)" if ex else ""), u
        parts = []
        unit = ""
        for a in alts:
            if a.get("type") == "null":
                continue
            t, u = _type(a, defs)
            unit = unit or u
            parts.append(t)
        if any(a.get("type") == "number" for a in alts) and any(a.get("type") == "string" for a in alts) and not unit:
            return "number or text (`1.5%`)", ""
        return " or ".join(dict.fromkeys(parts)) or "any", unit
    t = p.get("type")
    if t == "array":
        it, u = _type(p.get("items", {}), defs)
        return f"list of {it}", u
    if t == "object":
        ap = p.get("additionalProperties")
        if isinstance(ap, dict) and ap:
            it, u = _type(ap, defs)
            return f"map: name → {it}", u
        return "mapping", ""
    return {"integer": "integer", "number": "number", "string": "text", "boolean": "true/false"}.get(t, t or "any"), ""


def _bounds(p: dict) -> str:
    b = []
    for k, s in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if k in p:
            b.append(f"{s} {p[k]}")
    if "minItems" in p:
        b.append(f"at least {p['minItems']} item(s)")
    if "pattern" in p:
        b.append(f"pattern `{p['pattern']}`")
    for a in p.get("anyOf", []):
        if a.get("type") in ("number", "integer"):
            b += _bounds(a).split("; ") if _bounds(a) else []
    return "; ".join(dict.fromkeys(b))


def _default(p: dict, required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in p:
        return "–"
    d = p["default"]
    if d is None:
        return "none"
    if d == {} or d == []:
        return "empty"
    if isinstance(d, dict) and len(json.dumps(d)) > 60:
        return "see type"
    return f"`{json.dumps(d, ensure_ascii=False)}`"


def _esc(s: str) -> str:
    s = re.sub(r"``([^`]+)``", r"`\1`", s)  # reST literals in docstrings
    return s.replace("|", "\\|").replace("\n", " ")


def _model_table(name: str, d: dict, defs: dict) -> list[str]:
    out = [f"### {name}", ""]
    if d.get("description"):
        out += [_esc(" ".join(d["description"].split())), ""]
    props = d.get("properties", {})
    if not props:
        return out + ["(no fields)", ""]
    req = set(d.get("required", []))
    out += ["| field | type | unit | default | limits | meaning |", "|---|---|---|---|---|---|"]
    for f, p in props.items():
        t, u = _type(p, defs)
        out.append(f"| `{f}` | {_esc(t)} | {u} | {_esc(_default(p, f in req))} | {_esc(_bounds(p))} | "
                   f"{_esc(p.get('description', ''))} |")
    return out + [""]


def fields_markdown() -> str:
    s = schema_with_defaults()
    defs = s["$defs"]
    out = ["# Scenario fields", "",
           "Generated from the scenario's JSON Schema (`twin schema`) by `python -m twin.docgen > docs/fields.md`: every "
           "field of every section and station kind, with its type, unit, default and limits. Do not edit by hand; "
           "`tests/workbench/test_docs.py` fails when this file is out of date. Quantities with a unit accept a number "
           "in that SI unit or text with any unit of the same dimension (`90 s`, `2.5 min`, `4 kW`, `200 m/min`); "
           "probabilities accept `0.01` or `1%`. How the fields act: [scenario.md](scenario.md), "
           "[processes.md](processes.md), [costs.md](costs.md).", ""]
    out += ["## Scenario (top level)", ""]
    out += _model_table("Scenario", {"properties": s["properties"], "required": s.get("required", []),
                                     "description": "The file's top-level fields."}, defs)
    # kinds: stations and buffers
    seen = {"Scenario"}
    for section in ("stations", "buffers"):
        ap = s["properties"][section]["additionalProperties"]
        mapping = ap.get("discriminator", {}).get("mapping") or ({ _kind(defs[_ref(ap['$ref'])]): ap["$ref"]} if "$ref" in ap else {})
        out += [f"## {section.capitalize()}: one table per `kind`", ""]
        for kind in sorted(mapping):
            n = _ref(mapping[kind])
            seen.add(n)
            out += _model_table(n, defs[n], defs)[:1] + [f"`kind: {kind}`" + ("  (the default)" if kind in ("machine", "buffer") else ""),
                                                           ""] + _model_table(n, defs[n], defs)[2:]
    out += ["## Shared parts", "", "Models the sections and kinds above refer to, in alphabetical order.", ""]
    for n in sorted(defs):
        if n in seen:
            continue
        out += _model_table(n, defs[n], defs)
    return "\n".join(out).rstrip() + "\n"


def _kind(d: dict) -> str:
    k = d.get("properties", {}).get("kind", {})
    return k.get("const") or k.get("default") or "?"


if __name__ == "__main__":
    sys.stdout.write(fields_markdown())
