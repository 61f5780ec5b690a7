#!/usr/bin/env python3
"""Regenerate crates/lumos-api/catalog/{operations,schemas}.json from the official Lumos
OpenAPI document.

Usage: python3 tools/gen_catalog.py [path/to/openapi.json]

Only structural facts are extracted (ids, methods, paths, parameter types, bounds, enum values,
schema names and shapes, response shapes, statuses). Description texts are deliberately left out.
"""
import json
import os
import sys

SPEC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "lumos", "openapi.json")
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "lumos-api", "catalog", "operations.json")
SCHEMAS_OUT = os.path.join(os.path.dirname(OUT), "schemas.json")

# `GET /accounts` declares an untyped 200 (`{}`), yet pages like its per-user twin, whose
# schema is `Page_Account_`: check it as a page of accounts.
ITEM_OVERRIDES = {"getAccounts": "Account"}

# Schema keywords that carry structure; descriptions, titles and examples are left out.
STRUCTURE = {"type", "properties", "required", "items", "enum", "anyOf", "allOf", "oneOf",
             "format", "additionalProperties", "default", "minimum", "maximum", "const",
             "minLength", "maxLength", "minItems", "maxItems"}

# Clean camelCase names for the spec's generated or non-identifier operation ids.
ALIASES = {
    "get_inline_webhooks_inline_webhooks_get": "listInlineWebhooks",
    "get_user_roles_users__user_id__roles_get": "getUserRoles",
    "add_role_to_user_users__user_id__roles__role_name__post": "addRoleToUser",
    "remove_role_from_user_users__user_id__roles__role_name__delete": "removeRoleFromUser",
    "get_appstore_permissions_for_app_appstore_apps__app_id__requestable_permissions_get": "listAppRequestablePermissions",
    "get_appstore_permissions_appstore_requestable_permissions_get": "listRequestablePermissions",
    "create_appstore_requestable_permission_appstore_requestable_permissions_post": "createRequestablePermission",
    "get_appstore_permission_appstore_requestable_permissions__permission_id__get": "getRequestablePermission",
    "update_appstore_permission_appstore_requestable_permissions__permission_id__patch": "updateRequestablePermission",
    "delete_appstore_permission_appstore_requestable_permissions__permission_id__delete": "deleteRequestablePermission",
    "get_appstore_pre_approval_rules_for_app_appstore_pre_approval_rules_get": "listPreApprovalRules",
    "create_pre_approval_rule_appstore_pre_approval_rules_post": "createPreApprovalRule",
    "get_appstore_pre_approval_rule_appstore_pre_approval_rules__pre_approval_rule_id__get": "getPreApprovalRule",
    "update_pre_approval_rule_appstore_pre_approval_rules__pre_approval_rule_id__patch": "updatePreApprovalRule",
    "delete_pre_approval_rule_appstore_pre_approval_rules__pre_approval_rule_id__delete": "deletePreApprovalRule",
    "list_tasks_tasks_get": "listTasks",
    "get_task_tasks__task_id__get": "getTask",
    "get_task_actions_tasks__task_id__actions_get": "getTaskActions",
    "perform_task_action_tasks__task_id__perform_action_post": "performTaskAction",
    "reassign_task_tasks__task_id__reassign_post": "reassignTask",
    "add_task_comment_tasks__task_id__comments_post": "addTaskComment",
    "complete_task_tasks__task_id__complete_post": "completeTask",
    "dismiss_task_tasks__task_id__dismiss_post": "dismissTask",
    "Lumos Art.": "getLumosArt",
    "Lumos liveness check": "getLumosInfo",
    "process_vendr_request_completed_webhooks_vendr_request_completed__domain_app_uuid__post": "processVendrRequestCompletedEvent",
}


def ref_name(ref):
    return ref.rsplit("/", 1)[-1]


def non_null(schema):
    """Strip FastAPI's anyOf[T, null] wrapper."""
    if "anyOf" in schema:
        alts = [a for a in schema["anyOf"] if a.get("type") != "null"]
        if len(alts) == 1:
            return alts[0]
    return schema


def resolve_enum(spec, schema):
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        target = spec["components"]["schemas"][name]
        if "enum" in target:
            return name, target["enum"]
    if "enum" in schema:
        return None, schema["enum"]
    return None, None


def param(spec, p):
    schema = non_null(p["schema"])
    out = {"name": p["name"], "location": p["in"], "required": bool(p.get("required", False))}
    is_array = schema.get("type") == "array"
    item = schema["items"] if is_array else schema
    enum_name, values = resolve_enum(spec, item)
    kind = "string" if values is not None else item.get("type", "string")
    out.update(kind=kind, array=is_array)
    for key in ("default", "minimum", "maximum", "format"):
        if key in schema:
            out[key] = schema[key]
        elif key == "format" and "format" in item:
            out[key] = item[key]
    if values is not None:
        out["enum"] = enum_name
        out["values"] = values
    return out


def schema_label(spec, content):
    schema = content.get("schema", {})
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    schema = non_null(schema)
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return "[" + ref_name(schema["items"]["$ref"]) + "]"
    return None


def structure(schema):
    """A schema with only its structural keywords; `$ref` becomes `ref` with the bare name."""
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "$ref":
                out["ref"] = ref_name(v)
            elif k == "properties":
                out[k] = {name: structure(p) for name, p in v.items()}
            elif k in STRUCTURE:
                out[k] = structure(v)
        return out
    if isinstance(schema, list):
        return [structure(x) for x in schema]
    return schema


def response_of(spec, op, op_id, success, pagination_kind):
    """What a success answer must look like: its shape, where a listing keeps its items, and
    the item schema."""
    content = op["responses"][str(success)].get("content", {})
    if not content:
        return {"content_type": None, "schema": None, "shape": "empty"}
    ctype = next(iter(content))
    schema = content[ctype].get("schema", {})
    name = schema_label(spec, content[ctype])
    out = {"content_type": ctype, "schema": name}
    if not ctype.startswith("application/json"):
        out["shape"] = "text"
        return out
    target = spec["components"]["schemas"].get(name, {}) if name and not name.startswith("[") else schema
    props = target.get("properties", {})
    if pagination_kind != "none":
        # The list of a listing: `items`, or the cursor APIs' own key.
        key = next((k for k, p in props.items() if p.get("type") == "array"), "items")
        item = props.get(key, {}).get("items", {}).get("$ref")
        out.update(shape="listing", items_key=key,
                   item=ref_name(item) if item else ITEM_OVERRIDES.get(op_id))
    elif name and name.startswith("["):
        out.update(shape="array", item=name[1:-1])
    elif target.get("type") == "array":
        out.update(shape="array", item=ref_name(target["items"]["$ref"]) if "$ref" in target.get("items", {}) else None)
    elif target.get("type") == "object":
        out["shape"] = "object"
    else:
        out["shape"] = "any"
    return out


def pagination(names):
    if {"page", "size"} <= names:
        return "page"
    if {"limit", "offset"} <= names:
        return "limit_offset"
    if "cursor" in names or "page_token" in names:
        return "cursor"
    return "none"


def main():
    spec = json.load(open(SPEC))
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = [param(spec, p) for p in op.get("parameters", [])]
            success = sorted(int(c) for c in op["responses"] if c.startswith("2"))[0]
            body = None
            if "requestBody" in op:
                rb = op["requestBody"]
                ctype = next(iter(rb["content"]))
                body = {
                    "schema": schema_label(spec, rb["content"][ctype]),
                    "content_types": list(rb["content"].keys()),
                    "required": bool(rb.get("required", False)),
                }
            paging = pagination({p["name"] for p in params})
            response = response_of(spec, op, op["operationId"], success, paging)
            ops.append({
                "operation_id": op["operationId"],
                "alias": ALIASES.get(op["operationId"]),
                "method": method.upper(),
                "path": path,
                "tag": (op.get("tags") or ["Other"])[0],
                "auth": bool(op.get("security")),
                "success_status": success,
                "pagination": paging,
                "params": params,
                "body": body,
                "response": response,
            })
    missing = [k for k in ALIASES if k not in {o["operation_id"] for o in ops}]
    if missing:
        sys.exit(f"aliases for unknown operations: {missing}")
    with open(OUT, "w") as f:
        json.dump(ops, f, indent=1)
        f.write("\n")
    print(f"wrote {len(ops)} operations to {os.path.normpath(OUT)}")
    schemas = {name: structure(s) for name, s in sorted(spec["components"]["schemas"].items())}
    with open(SCHEMAS_OUT, "w") as f:
        json.dump(schemas, f, indent=None, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    print(f"wrote {len(schemas)} schemas to {os.path.normpath(SCHEMAS_OUT)}")


if __name__ == "__main__":
    main()
