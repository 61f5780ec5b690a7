"""Schemathesis hooks: the official document, amended where Lumos behaves beyond it.

The simulator follows Lumos, not only its document. Where API-NOTES.md records that Lumos
answers something the document does not declare, the document is amended here before
schemathesis reads it, so that a run finds only what differs from Lumos. Each amendment
names its evidence; nothing else is relaxed.
"""

import copy

import schemathesis

# A classic endpoint's error body: FastAPI's HTTPException (API-NOTES §4, "Other 4xx/5xx on
# the classic endpoints declare no body. At runtime FastAPI HTTPException produces
# {"detail": "<string>"}").
DETAIL = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}

# Lumos writes date-times naive: `YYYY-MM-DDTHH:MM:SS`, no offset (API-NOTES §1: its CLI
# parses `requested_at` with `%Y-%m-%dT%H:%M:%S`). RFC 3339's `date-time` requires an offset,
# so in answers a date-time is checked against this pattern instead: with or without an
# offset or a fraction, and nothing else.
DATE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"


def error(schema):
    return {
        "description": "Answered by Lumos, not declared by its document",
        "content": {"application/json": {"schema": schema}},
    }


ANSWERED = "__as_answered"


def as_answered(node):
    """`node` as Lumos answers it: each `format: date-time` replaced by `DATE_TIME`, and each
    reference to a component pointing at that component's answered copy."""
    if isinstance(node, dict):
        out = {k: as_answered(v) for k, v in node.items()}
        if out.get("format") == "date-time":
            del out["format"]
            out["pattern"] = DATE_TIME
        ref = out.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            out["$ref"] = ref + ANSWERED
        return out
    if isinstance(node, list):
        return [as_answered(v) for v in node]
    return node


@schemathesis.hook
def before_load_schema(context, raw_schema):
    schemas = raw_schema["components"]["schemas"]
    answers = []
    for path, item in raw_schema["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            # A missing or wrong token is refused on every endpoint (API-NOTES §1: "the CLI
            # treats 401 as a bad or expired credential"; the document declares 401 only on
            # the knowledge endpoints).
            responses.setdefault("401", error(DETAIL))
            # An id unknown in the caller's domain is 404, as is a feature the domain has not
            # enabled (API-NOTES §4: "404: id unknown in the caller's domain, or the feature
            # … is not enabled for the domain"; "Unknown ids on most GET-by-id endpoints …
            # declare no 404"). The id a call acts on may be in its path or its body
            # (`app_id` of an access request).
            responses.setdefault("404", error(DETAIL))
            # A rule the document cannot state is 400 (API-NOTES §4: "400: business-rule
            # violation, bad credentials, or unknown app_class_id"): a reference inside a body
            # that names nothing, a page token or cursor Lumos did not issue.
            responses.setdefault("400", error(DETAIL))
            # A change that meets the wrong state is 409 (API-NOTES §4: "409: state conflict
            # … the app is not API-managed … the task is already in the target status"; tasks
            # complete/dismiss and perform-action say so only in their descriptions).
            if method != "get":
                responses.setdefault("409", error(DETAIL))
            # Page numbers are 64-bit: Lumos pages with an SQL OFFSET, a bigint in PostgreSQL,
            # so a larger page cannot be answered (inference); the simulator refuses it as
            # invalid (422) rather than answer a page it cannot name.
            for param in op.get("parameters", []):
                if param.get("in") == "query" and param.get("schema", {}).get("type") == "integer":
                    param["schema"].setdefault("maximum", 2**63 - 1)
            answers.append(responses)
    # Date-times in answers only: answers refer to copies of their components, so what is
    # sent is still generated and checked as the document says.
    for name in list(schemas):
        schemas[name + ANSWERED] = as_answered(schemas[name])
    for responses in answers:
        for status, response in responses.items():
            responses[status] = as_answered(response)


@schemathesis.hook
def filter_query(context, query):
    """Leave out queries that are the same bytes as a valid one.

    A query string has no types: a list parameter given once (`expand=x`) is a list of one,
    a number is its digits, and a boolean given twice is read as its last value (FastAPI).
    Schemathesis calls such queries invalid, yet they reach Lumos exactly as valid ones do;
    those with a value that is wrong as text (an unknown status, `in_app_store=maybe`) stay.
    """
    if not query or context.operation is None:
        return True
    for param in context.operation.query:
        value = query.get(param.name)
        if value is None:
            continue
        schema = param.definition.get("schema", {})
        kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
        if "array" in kinds and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return False
        if "boolean" in kinds and isinstance(value, list):
            return False
    return True
