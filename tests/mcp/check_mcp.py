"""Drive lumosflow's MCP server with the official MCP Python SDK (a real client).

    python3 tests/mcp/check_mcp.py stdio <lumosflow binary> <LUMOSFLOW_HOME>
    python3 tests/mcp/check_mcp.py http <http://host:port/mcp> <API key>
    python3 tests/mcp/check_mcp.py oauth <http://host:port/mcp> <issuer> <client id> <client secret>
    python3 tests/mcp/check_mcp.py author <http://host:port/mcp> <builder API key>

`oauth` follows the MCP authorization flow with the SDK's client credentials provider: the
401's protected resource metadata, the issuer's metadata, a token for the resource, then a
short session (the tools, one call).

`author` is a scripted client with no model: it goes from a broken workflow file to a saved,
working tool using only the authoring tools, by following the validator's messages.

Exits 0 and prints one JSON line when every check passes.
"""

import asyncio
import json
import os
import re
import subprocess
import sys

import urllib.parse
import urllib.request

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


def lumos(path: str, **query) -> dict:
    """Ask the Lumos the server talks to directly (LUMOS_URL, LUMOS_TOKEN), to check answers."""
    q = urllib.parse.urlencode(query, doseq=True)
    req = urllib.request.Request(
        f"{os.environ['LUMOS_URL']}{path}{'?' + q if q else ''}",
        headers={"Authorization": f"Bearer {os.environ['LUMOS_TOKEN']}"},
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def every(path: str, **query) -> list:
    """Every item of a Lumos listing, page by page."""
    items, page = [], 1
    while True:
        got = lumos(path, page=page, size=100, **query)
        items += got["items"]
        if not got["items"] or len(items) >= got["total"]:
            return items
        page += 1


async def read_all(session: ClientSession, first: dict) -> list:
    """A listing's items as an agent reads them: the result's first items, then the rest from
    the resource its `more` names, following `next`."""
    items = list(first["items"])
    uri = re.search(r"lumosflow://\S+", first["more"]).group(0) if "more" in first else None
    while uri:
        page = json.loads((await session.read_resource(uri)).contents[0].text)
        assert page["offset"] == len(items), (page["offset"], len(items))
        items += page["items"]
        uri = page["next"]
    return items


async def six_messages(session: ClientSession, tools: dict) -> dict:
    """What help-desk employees ask, through the tools alone, checked against Lumos itself."""
    # "Who approves Zoom?" — an app by its name.
    apps = every("/appstore/apps", all_visibilities="true")
    names = [a["user_friendly_label"] for a in apps]
    app = next(a for a in apps if names.count(a["user_friendly_label"]) == 1)
    who = await session.call_tool("get-lumos-app-approvers", {"app_id": app["user_friendly_label"]})
    assert not who.is_error, who
    flow = lumos(f"/appstore/apps/{app['id']}/settings")["request_flow"]
    got = [a["id"] for a in who.structured_content["stage_1_approvers"] if a["type"] == "USER"]
    assert got == [u["id"] for u in flow["approvers"]["users"]], (got, flow["approvers"])
    assert who.structured_content["app_id"] == app["id"], who.structured_content

    # "Is Ann's <app> account active?" — a person's access by email, one app by name.
    account = next(a for a in lumos("/accounts", size=100, expand="app")["items"] if a.get("user_id") and a.get("app"))
    person = lumos(f"/users/{account['user_id']}")
    app_name = account["app"]["user_friendly_label"]
    asked = await session.call_tool("list-lumos-user-access", {"user_email": person["email"], "app": app_name})
    assert not asked.is_error, asked
    theirs = [a for a in every(f"/users/{person['id']}/accounts", expand="app") if (a.get("app") or {}).get("user_friendly_label", "").lower() == app_name.lower()]
    answer = asked.structured_content
    assert [(a["app_id"], a["status"]) for a in answer["items"]] == [(a["app_id"], a["status"]) for a in theirs], (answer, theirs)
    assert answer["count"] == len(theirs) >= 1, answer

    # "List every account of <app>" — the app with the most accounts, through paging, nothing
    # skipped or repeated.
    counts: dict = {}
    for a in every("/accounts"):
        counts[a["app_id"]] = counts.get(a["app_id"], 0) + 1
    busiest = max(counts, key=counts.get)
    first = (await session.call_tool("list-lumos-accounts", {"app_id": busiest, "all": True})).structured_content
    read = await read_all(session, first)
    ids = [a["id"] for a in read]
    assert len(ids) == len(set(ids)) == counts[busiest] == first["total"], (len(ids), len(set(ids)), counts[busiest])
    return {"approvers_of": app["user_friendly_label"], "access_checked": person["email"], "every_account": len(ids)}


async def exercise(session: ClientSession) -> None:
    await session.initialize()
    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    assert {"list-lumos-users", "get-lumos-app", "list-lumos-accounts"} <= names, names
    users = next(t for t in tools if t.name == "list-lumos-users")
    assert users.input_schema["properties"]["search"]["type"] == "string", users.input_schema
    accounts = next(t for t in tools if t.name == "list-lumos-accounts")
    assert "SUSPENDED" in accounts.input_schema["properties"]["status"]["enum"], accounts.input_schema
    app = next(t for t in tools if t.name == "get-lumos-app")
    assert app.input_schema["required"] == ["app_id"], app.input_schema

    res = await session.call_tool("list-lumos-users", {"search": "ann", "size": 5})
    assert not res.is_error, res
    out = res.structured_content
    assert out["total"] > 0, out
    for u in out["items"]:
        hay = (u["given_name"] + " " + u["family_name"] + " " + u["email"]).lower()
        assert "ann" in hay, u
    assert res.content and json.loads(res.content[0].text)["total"] == out["total"]

    # Every user: a bounded preview with the total and where the rest are, not a flood.
    every = await session.call_tool("list-lumos-users", {"all": True})
    assert not every.is_error, every
    big = every.structured_content
    head = {k: v for k, v in big.items() if k != "items"}
    assert len(big["items"]) == 50 and big["total"] > 50, head
    assert big["run_id"] and f"first 50 of {big['total']} items" in big["more"], head
    assert f"lumosflow://runs/{big['run_id']}/items?offset=50" in big["more"], head
    # Checking on it later says the same: where the items not shown are.
    later_big = (await session.call_tool("get-run-status", {"run_id": big["run_id"]})).structured_content
    assert f"lumosflow://runs/{big['run_id']}/items?offset=" in later_big["more"], {k: v for k, v in later_big.items() if k != "output"}
    whole = None
    try:
        await session.read_resource(f"lumosflow://runs/{big['run_id']}/output")
    except Exception as e:  # too big to give whole: the error names the items resource
        whole = str(e)
    assert whole is None or "/items?offset=0" in whole, whole
    # A page larger than a result shows: no next_page that would skip what is not shown.
    page2 = (await session.call_tool("list-lumos-users", {"page": 2, "size": 100})).structured_content
    assert len(page2["items"]) == 50 and "next_page" not in page2, {k: v for k, v in page2.items() if k != "items"}
    rest = json.loads((await session.read_resource(f"lumosflow://runs/{page2['run_id']}/items?offset=50&limit=100")).contents[0].text)
    direct_ids = [u["id"] for u in page2["items"]] + [u["id"] for u in rest["items"]]
    assert len(direct_ids) == len(set(direct_ids)) == 100, len(direct_ids)

    # Hints for clients that ask before acting, and the shape of every result.
    assert users.annotations.read_only_hint is True, users.annotations
    request_tool = next(t for t in tools if t.name == "request-lumos-app-access")
    assert request_tool.annotations.read_only_hint is False, request_tool.annotations
    assert request_tool.annotations.destructive_hint is False, request_tool.annotations
    cancel_tool = next(t for t in tools if t.name == "cancel-lumos-access-request")
    assert cancel_tool.annotations.destructive_hint is True, cancel_tool.annotations
    # Each tool's output schema is its own: a listing's items typed from the operation's
    # response (the SDK validates every result against it); the run's state is run_status.
    assert users.output_schema["required"] == ["run_id", "run_status"], users.output_schema
    user_item = users.output_schema["properties"]["items"]["items"]
    assert user_item["properties"]["email"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}, user_item
    assert "ACTIVE" in json.dumps(user_item["properties"]["status"]), user_item
    assert out["run_status"] == "completed", {k: v for k, v in out.items() if k != "items"}
    app_schema = app.output_schema["properties"]
    assert "user_friendly_label" in app_schema and "run_status" in app_schema, app_schema
    # Big answers: access requests carry the fields most answers need (the workflow's
    # columns) unless the agent asks for all of them.
    requests_tool = next(t for t in tools if t.name == "list-lumos-access-requests")
    assert "all_fields" in requests_tool.input_schema["properties"], requests_tool.input_schema
    request_fields = set(requests_tool.output_schema["properties"]["items"]["items"]["properties"])
    assert request_fields == {"id", "app_name", "status", "requester_user", "target_user", "requested_at", "expires_at"}, request_fields
    slim = (await session.call_tool("list-lumos-access-requests", {"size": 50})).structured_content
    whole = (await session.call_tool("list-lumos-access-requests", {"size": 50, "all_fields": True})).structured_content
    assert slim["items"] and all(set(r) <= request_fields for r in slim["items"]), slim["items"][0]
    assert [r["id"] for r in slim["items"]] == [r["id"] for r in whole["items"]]
    assert any("tasks" in r for r in whole["items"]), whole["items"][0]
    assert len(json.dumps(slim)) * 2 < len(json.dumps(whole)), (len(json.dumps(slim)), len(json.dumps(whole)))

    # Access for the person the agent helps: found by name, requested, followed.
    person = (await session.call_tool("list-lumos-users", {"size": 1})).structured_content["items"][0]["email"]
    found = (await session.call_tool("search-lumos-appstore", {"query": "a", "size": 50})).structured_content
    app_names = [a["name"] for a in found["items"]]
    pick = next(
        a for a in found["items"]
        if a["permissions"] and app_names.count(a["name"]) == 1
        and [d for d in a["durations"] if d != "Unlimited"]
    )
    duration = next(d for d in pick["durations"] if d != "Unlimited")
    made = await session.call_tool(
        "request-lumos-app-access",
        {
            "user_email": person,
            "app": pick["name"],
            "permissions": pick["permissions"][0]["label"],
            "duration": duration,
            "reason": "Asked in ticket IT-42",
            "requested_for": person,
        },
    )
    assert not made.is_error, made
    req = made.structured_content
    assert req["user"] == person and req["app"] == pick["name"], req
    status = (await session.call_tool("get-lumos-access-request", {"request_id": req["request_id"]})).structured_content
    assert status["request_id"] == req["request_id"] and status["status"] == req["status"], status
    run = (await session.call_tool("get-run-status", {"run_id": req["run_id"]})).structured_content
    assert run["run_status"] == "completed" and "status" not in run, run
    # A run that fails says whether it changed anything, so the agent knows a retry is safe.
    missing = await session.call_tool("get-lumos-access-request", {"request_id": "00000000-0000-4000-8000-00000000dead"})
    assert missing.is_error and "Nothing was changed: it is safe to try again." in missing.content[0].text, missing
    failed_id = missing.content[0].text.split()[1]
    failed = (await session.call_tool("get-run-status", {"run_id": failed_id})).structured_content
    assert failed["run_status"] == "failed" and failed["changes"]["retry_safe"] is True, failed
    # Asking for someone else than the person helped is refused, saying why.
    other = await session.call_tool(
        "request-lumos-app-access",
        {"user_email": person, "app": pick["name"], "duration": duration, "reason": "x", "requested_for": "someone.else@example-corp.com"},
    )
    assert other.is_error and "this run is for someone.else@example-corp.com" in other.content[0].text, other
    # Nor can an agent acting for someone else read or cancel that request (the run core
    # reads whose it is from Lumos); acting for its person, it can read it.
    for tool in ("get-lumos-access-request", "cancel-lumos-access-request"):
        theirs = await session.call_tool(tool, {"request_id": req["request_id"], "requested_for": "someone.else@example-corp.com"})
        assert theirs.is_error and "this run is for someone.else@example-corp.com" in theirs.content[0].text, theirs
    # Deciding a request in Lumos: the agent decides only as the person it acts for, and only
    # if Lumos names them on the request's task (the requester is not an approver of it).
    assert "decide-lumos-access-request" in names, names
    decided = await session.call_tool(
        "decide-lumos-access-request",
        {"request_id": req["request_id"], "decision": "approve", "requested_for": person},
    )
    assert decided.is_error and "may not decide this task" in decided.content[0].text, decided
    as_other = await session.call_tool(
        "decide-lumos-access-request",
        {"request_id": req["request_id"], "decision": "approve", "as_email": "boss@example-corp.com", "requested_for": person},
    )
    assert as_other.is_error and "it acts only as them" in as_other.content[0].text, as_other
    mine = await session.call_tool("get-lumos-access-request", {"request_id": req["request_id"], "requested_for": person})
    assert not mine.is_error and mine.structured_content["status"] == req["status"], mine
    # "Status?" — who must approve now, as Lumos's open tasks say.
    open_tasks = [t for t in lumos("/tasks", show_all_tasks="true", access_request_id=req["request_id"], status="PENDING", expand="assignees", size=100)["items"] if t["task_category"] != "PROVISIONING"]
    waiting = mine.structured_content["pending_approvals"]
    assert [w["task_id"] for w in waiting] == [t["id"] for t in open_tasks] and waiting, (waiting, open_tasks)
    assert waiting[0]["approvers"] and waiting[0]["approvers"][0]["name"], waiting
    # "Cancel it" — for the person it is for; Lumos says it is canceled.
    gone = await session.call_tool("cancel-lumos-access-request", {"request_id": req["request_id"], "reason": "No longer needed", "requested_for": person})
    assert not gone.is_error, gone
    assert lumos(f"/appstore/access_requests/{req['request_id']}")["status"] == "CANCELLED"

    # The run-status tool, and the argument naming whom the agent acts for; writing
    # workflows is for builders.
    assert "get-run-status" in names, names
    assert not {"validate-workflow", "try-workflow", "save-workflow"} & names, names
    gated_tool = next(t for t in tools if t.name == "gated-lookup")
    assert "held for approval first" in gated_tool.description, gated_tool.description
    assert cancel_tool.annotations.idempotent_hint is False, cancel_tool.annotations
    assert "requested_for" in gated_tool.input_schema["properties"], gated_tool.input_schema

    # A held run is not an error: it says where it waits, and for whom it was asked.
    held = await session.call_tool("gated-lookup", {"requested_for": "zoe@example-corp.com"})
    assert not held.is_error, held
    h = held.structured_content
    assert h["run_status"] == "pending_approval" and "status" not in h, h
    assert h["waiting_for"]["step"] == "IT security" and h["waiting_for"]["who"] == "any admin", h
    assert "Nothing has been changed in Lumos" in h["message"], h
    later = await session.call_tool("get-run-status", {"run_id": h["run_id"]})
    assert not later.is_error and later.structured_content["run_status"] == "pending_approval", later
    unknown = await session.call_tool("get-run-status", {"run_id": "not-a-run"})
    assert unknown.is_error and "not found" in unknown.content[0].text, unknown

    # The rest of a big result, read as a resource in pages.
    templates = (await session.list_resource_templates()).resource_templates
    assert any(t.uri_template.startswith("lumosflow://runs/{run_id}/items") for t in templates), templates
    seen = len(big["items"])
    uri = f"lumosflow://runs/{big['run_id']}/items?offset={seen}&limit=100"
    while uri:
        page = json.loads((await session.read_resource(uri)).contents[0].text)
        assert page["offset"] == seen and page["count"] == big["total"], page
        seen += len(page["items"])
        uri = page["next"]
    assert seen == big["total"], (seen, big["total"])

    # Prompts that walk an agent through the common asks.
    prompts = {p.name for p in (await session.list_prompts()).prompts}
    assert {"request-access", "who-approves"} <= prompts, prompts
    guide = await session.get_prompt("request-access", {"user_email": person, "app": pick["name"]})
    assert "request-lumos-app-access" in guide.messages[0].content.text, guide
    try:
        await session.get_prompt("who-approves", {})
        raise AssertionError("a prompt without its argument must be refused")
    except Exception as e:  # the SDK raises the server's error
        assert "needs the argument 'app'" in str(e), e

    asked = await six_messages(session, {t.name: t for t in tools})
    bad = await session.call_tool("get-lumos-app", {})
    assert bad.is_error, bad
    message = bad.content[0].text
    assert "missing required input 'app_id'" in message, message
    print(json.dumps({"tools": len(tools), "users_found": out["total"], "tool_error": message, **asked}))


class MemoryTokens:
    """Tokens and client details kept for this run only."""

    def __init__(self) -> None:
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info) -> None:
        self.client = client_info


async def oauth(target: str, issuer: str, client_id: str, secret: str) -> None:
    # Imported here: the other modes work with SDKs that predate this extension.
    from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

    auth = ClientCredentialsOAuthProvider(
        server_url=target, storage=MemoryTokens(), client_id=client_id, client_secret=secret, issuer=issuer
    )
    async with create_mcp_http_client(auth=auth) as http:
        async with streamable_http_client(target, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                assert "list-lumos-users" in names, names
                res = await session.call_tool("list-lumos-users", {"search": "ann", "size": 2})
                assert not res.is_error, res
                print(json.dumps({"oauth": True, "tools": len(names), "users_found": res.structured_content["total"]}))


BROKEN = """id: active-user-emails
name: Active user emails
description: The emails of active users, from a page of users.
inputs:
  size: { type: integer, default: 50, min: 1, max: 100 }
steps:
  - id: users
    call: listUser
    params: { size: "{{ inputs.size }}" }
    fields: [id, emial, status]
  - id: active
    transform: "{{ steps.users.output['items'] | selectattr('status', 'equalto', 'ACTIVE') | map(attribute='email') | list }}"
output:
  emails: "{{ steps.active.output }}"
  count: "{{ steps.active.output | lenght }}"
"""

CHANGES = """id: request-zoom-for-me
name: Request Zoom for me
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "00000000-0000-4000-8000-000000000001", target_user_id: "x", business_justification: "y" }
"""


async def author(session: ClientSession) -> None:
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert {"validate-workflow", "try-workflow", "save-workflow"} <= set(tools), sorted(tools)
    listed = [r.uri for r in (await session.list_resources()).resources]
    assert "lumosflow://operations" in [str(u) for u in listed], listed
    ops = json.loads((await session.read_resource("lumosflow://operations")).contents[0].text)
    assert any(o["name"] == "listUsers" and not o["changes_lumos"] for o in ops), ops[:3]
    one = json.loads((await session.read_resource("lumosflow://operations/listUsers")).contents[0].text)
    assert "email" in one["response"]["item_fields"]["properties"], one
    guide = await session.get_prompt("write-workflow", {"task": "list the emails of active users"})
    text = guide.messages[0].content.text
    assert "validate-workflow" in text and "for_each" in text, text[:500]

    # Follow the validator until the file is valid: each message names what is wrong and,
    # where it can, what was meant.
    yaml, rounds, seen = BROKEN, 0, []
    while True:
        rounds += 1
        assert rounds <= 6, seen
        checked = await session.call_tool("validate-workflow", {"yaml": yaml})
        if not checked.is_error:
            break
        message = checked.content[0].text
        seen.append(message)
        fixes = re.findall(r"'([^']+)' \(did you mean ([\w-]+)", message)
        assert fixes, message
        for wrong, meant in fixes:
            yaml = re.sub(rf"\b{re.escape(wrong)}\b", meant, yaml, count=1)
    assert any("line " in m and "column " in m for m in seen), seen
    valid = checked.structured_content
    assert valid["valid"] and valid["id"] == "active-user-emails" and "changes nothing" in valid["saving"], valid

    tried = (await session.call_tool("try-workflow", {"yaml": yaml, "inputs": {"size": 20}})).structured_content
    assert tried["ok"], tried
    assert tried["output"]["count"] == len(tried["output"]["emails"]) > 0, tried["output"]
    assert [s["step"] for s in tried["steps"] if s["iteration"] == 0][:1] == ["users"], tried["steps"]
    bad_inputs = await session.call_tool("try-workflow", {"yaml": yaml, "inputs": {"size": 1000}})
    assert bad_inputs.is_error and "size" in bad_inputs.content[0].text, bad_inputs

    # A builder may not save a workflow that changes Lumos; this one changes nothing.
    refused = await session.call_tool("save-workflow", {"yaml": CHANGES})
    assert refused.is_error and "admin" in refused.content[0].text, refused
    saved = (await session.call_tool("save-workflow", {"yaml": yaml})).structured_content
    assert saved["id"] == "active-user-emails" and saved["version"] == 1, saved
    # An id already installed is not replaced by accident; the same file again is unchanged.
    again = await session.call_tool("save-workflow", {"yaml": yaml})
    assert again.is_error and "replace: true" in again.content[0].text, again
    bundled = await session.call_tool("save-workflow", {"yaml": yaml.replace("id: active-user-emails", "id: list-lumos-users")})
    assert bundled.is_error and "already installed" in bundled.content[0].text, bundled
    same = (await session.call_tool("save-workflow", {"yaml": yaml, "replace": True})).structured_content
    assert same["version"] == 1 and same["saved"].startswith("unchanged"), same
    # Stopping early answers with that step's output, not the workflow's.
    part = (await session.call_tool("try-workflow", {"yaml": yaml, "inputs": {"size": 5}, "until_step": "users"})).structured_content
    assert part["ok"] and len(part["output"]["items"]) == 5, part
    names = {t.name for t in (await session.list_tools()).tools}
    assert "active-user-emails" in names, sorted(names)
    ran = (await session.call_tool("active-user-emails", {"size": 20})).structured_content
    assert ran["run_status"] == "completed" and ran["count"] == tried["output"]["count"], ran
    print(json.dumps({"author": True, "rounds": rounds, "problems": len(seen), "count": ran["count"]}))


async def main() -> None:
    mode, target, extra = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "oauth":
        await oauth(target, extra, sys.argv[4], sys.argv[5])
        return
    if mode == "author":
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {extra}"}) as http:
            async with streamable_http_client(target, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await author(session)
        return
    if mode == "stdio":
        env = dict(os.environ, LUMOSFLOW_HOME=extra)
        params = StdioServerParameters(command=target, args=["mcp"], env=env)
        changed = asyncio.Event()

        async def on_message(message) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                changed.set()

        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                await exercise(session)
                # Uninstalling a workflow elsewhere changes the tool list, with a notification.
                subprocess.run([target, "workflows", "uninstall", "get-lumos-app"], env=env, check=True, capture_output=True)
                await asyncio.wait_for(changed.wait(), 20)
                names = {t.name for t in (await session.list_tools()).tools}
                assert "get-lumos-app" not in names and "list-lumos-users" in names, names
                print(json.dumps({"tool_list_changed": True}))
    else:
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {extra}"}) as http:
            async with streamable_http_client(target, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await exercise(session)


asyncio.run(main())
