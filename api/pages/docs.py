"""GET /docs: the served OpenAPI document as one readable HTML page, rendered on the server.

No script and nothing from elsewhere: the page is the document's own text, escaped, under
the same policy as the other pages. Descriptions are the document's light markdown:
paragraphs, `- ` lists and `code`; nothing else in them is markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import escape
from typing import Any

Schema = dict[str, Any]

_REF_PREFIX = "#/components/schemas/"
_CODE = re.compile(r"`([^`]+)`")
_METHODS = ("get", "post", "put", "patch", "delete")
_CONSTRAINTS = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("maxItems", "at most {} items"),
    ("pattern", "matching {}"),
)

STYLE = """
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 980px;
         padding: 1.5rem; color: #1d2330; }
  h1 { font-size: 1.4rem; }
  h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 2px solid #e3e6ee; }
  h3 { font-size: 1rem; margin: 1.6rem 0 .3rem; }
  h4 { font-size: .9rem; margin: .8rem 0 .2rem; color: #434a5c; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  td, th { padding: .3rem .5rem; border-bottom: 1px solid #e3e6ee; text-align: left;
           vertical-align: top; }
  code { background: #f3f4f8; padding: 0 .25rem; border-radius: 3px; font-size: 13px; }
  .method { display: inline-block; min-width: 3.6rem; font: 600 12px monospace;
            padding: .15rem .4rem; border-radius: 4px; color: white; background: #5665e8;
            text-align: center; }
  .method.post { background: #1f8a4c; } .operation { border-top: 1px solid #e3e6ee; }
  .summary { font-weight: 600; margin: .2rem 0; } .muted { color: #6b7385; }
  nav ul { columns: 2; } a { color: #3343c9; } td p { margin: 0 0 .3rem; }
"""


def _prose(text: str) -> str:
    """Paragraphs and `- ` lists of escaped text, with `code` spans."""
    blocks: list[str] = []
    for block in text.strip().split("\n\n"):
        paragraph: list[str] = []
        items: list[list[str]] = []
        for line in block.splitlines():
            if line.startswith("- "):
                items.append([line[2:]])
            elif items:
                items[-1].append(line.strip())
            else:
                paragraph.append(line.strip())
        if paragraph:
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
        if items:
            lis = "".join(f"<li>{_inline(' '.join(item))}</li>" for item in items)
            blocks.append(f"<ul>{lis}</ul>")
    return "".join(blocks)


def _inline(text: str) -> str:
    return _CODE.sub(lambda match: f"<code>{match[1]}</code>", escape(text))


def _anchor(kind: str, name: str) -> str:
    return escape(f"{kind}-{name}", quote=True)


def _ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix(_REF_PREFIX) if isinstance(ref, str) else None


def type_of(schema: Schema) -> str:
    """A schema in a few words of HTML: `OrderOut`, `array of LineOut`, `string | null`."""
    name = _ref_name(schema)
    if name is not None:
        return f'<a href="#{_anchor("schema", name)}">{escape(name)}</a>'
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " | ".join(type_of(option) for option in schema[union])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        values = ", ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
        return f"one of {values}"
    kind = schema.get("type", "any")
    if kind == "array":
        return "array of " + type_of(schema.get("items", {}))
    words = escape(" | ".join(kind) if isinstance(kind, list) else str(kind))
    if "format" in schema:
        words += f" ({escape(str(schema['format']))})"
    limits = [text.format(schema[key]) for key, text in _CONSTRAINTS if key in schema]
    if schema.get("default") is not None:
        limits.append(f"default {json.dumps(schema['default'])}")
    if limits:
        words += f' <span class="muted">{escape(", ".join(limits))}</span>'
    return words


def _table(headings: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _body_type(content: dict[str, Any]) -> str:
    return "<br>".join(
        f"{type_of(media.get('schema', {}))} <span class='muted'>{escape(media_type)}</span>"
        for media_type, media in content.items()
    )


def _parameters(operation: dict[str, Any]) -> str:
    parameters = operation.get("parameters", [])
    if not parameters:
        return ""
    rows = [
        (
            f"<code>{escape(p['name'])}</code>",
            escape(p["in"]),
            "required" if p.get("required") else "optional",
            type_of(p.get("schema", {})),
            _prose(p.get("description", "")),
        )
        for p in parameters
    ]
    return "<h4>Parameters</h4>" + _table(("Name", "In", "", "Type", "Description"), rows)


def _responses(operation: dict[str, Any]) -> str:
    rows = [
        (
            f"<code>{escape(status)}</code>",
            _prose(response.get("description", "")),
            _body_type(response.get("content", {})) or '<span class="muted">no body</span>',
        )
        for status, response in operation.get("responses", {}).items()
    ]
    return "<h4>Responses</h4>" + _table(("Status", "Meaning", "Body"), rows)


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    parts = [
        f'<section class="operation" id="{_anchor("op", operation["operationId"])}">',
        f'<h3><span class="method {method}">{method.upper()}</span> '
        f"<code>{escape(path)}</code></h3>",
        f'<p class="summary">{_inline(operation.get("summary", ""))}</p>',
        _prose(operation.get("description", "")),
        "<p class='muted'>Needs a bearer token.</p>"
        if operation.get("security")
        else "<p class='muted'>Public: no token.</p>",
        _parameters(operation),
    ]
    body = operation.get("requestBody")
    if body is not None:
        required = "required" if body.get("required") else "optional"
        parts.append(f"<h4>Request body ({required})</h4><p>{_body_type(body['content'])}</p>")
    parts += [_responses(operation), "</section>"]
    return "".join(parts)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document.get("paths", {}).items()
        for method in _METHODS
        if (operation := methods.get(method)) is not None
    ]


def _contents(operations: list[tuple[str, str, dict[str, Any]]]) -> str:
    links = "".join(
        f'<li><a href="#{_anchor("op", operation["operationId"])}">'
        f"{method.upper()} {escape(path)}</a></li>"
        for path, method, operation in operations
    )
    return f"<nav><h2>Operations</h2><ul>{links}</ul></nav>"


def _schema(name: str, schema: Schema) -> str:
    parts = [f'<section id="{_anchor("schema", name)}"><h3>{escape(name)}</h3>']
    parts.append(_prose(schema.get("description", "")))
    properties: dict[str, Schema] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        rows = [
            (
                f"<code>{escape(field)}</code>",
                type_of(prop),
                "required" if field in required else "optional",
                _prose(prop.get("description", "")),
            )
            for field, prop in properties.items()
        ]
        parts.append(_table(("Field", "Type", "", "Description"), rows))
    else:
        parts.append(f"<p>{type_of(schema)}</p>")
    parts.append("</section>")
    return "".join(parts)


def docs_page(document: dict[str, Any], nonce: str) -> str:
    """The whole page; ``nonce`` is the one the response's policy names for its style."""
    info = document.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    operations = _operations(document)
    sections = "".join(_operation(path, method, op) for path, method, op in operations)
    schemas = document.get("components", {}).get("schemas", {})
    models = "".join(_schema(name, schemas[name]) for name in sorted(schemas))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}: API reference</title>"
        f'<style nonce="{nonce}">{STYLE}</style></head><body>'
        f"<h1>{escape(title)}: API reference</h1>"
        '<p class="muted">Rendered from <a href="/openapi.json">/openapi.json</a>. '
        'Back to the <a href="/">start page</a>.</p>'
        f"{_prose(info.get('description', ''))}{_contents(operations)}"
        f"<h2>Endpoints</h2>{sections}<h2>Schemas</h2>{models}</body></html>"
    )
