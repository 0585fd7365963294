"""The OpenAPI 3 document, generated from the code: each view declares its operation with
@operation (role, summary, parameters, body, responses), apispec's Flask plugin turns the routes into
paths, and the schemas below are the components. The same declaration drives authorization
(migrator.api.auth): an operation's `role` is the least role that may call it; None means open.
"""
from __future__ import annotations

from typing import Any, Callable

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

API_VERSION = "1.0.0"
MAX_ID = 2 ** 31 - 1   # the largest id an Integer primary key holds (PostgreSQL: 32 bits)

# --- helpers to write schemas and operations briefly -------------------------------------------------

STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: tuple[str, ...] = (), additional: bool | dict = True, **extra) -> dict:
    out = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = list(required)
    if additional is not True:
        out["additionalProperties"] = additional
    return out


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


def page_of(item: str) -> dict:
    return obj({"items": array(ref(item)), "next": nullable({**STR, "description":
                "URL of the next page (same filters), or null on the last page"})}, ("items", "next"))


ID_OR_NAME = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1}]}


def path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": f"id of the {what}",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}, "example": 1}


def query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or STR}


PAGE_PARAMS = [
    query("limit", "items per page (1-500, default 100)", {"type": "integer", "minimum": 1, "maximum": 500}),
    query("cursor", "the id after which the page starts: the `next` link carries it",
          {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
]

# --- components ---------------------------------------------------------------------------------------

PROBLEM = obj({
    "type": STR, "title": STR, "status": INT, "detail": STR,
    "errors": {"type": "object", "additionalProperties": STR,
               "description": "field or parameter name -> what is wrong with it"},
}, ("title", "status", "detail"))

_AUTH_METHODS = ["key", "agent", "password"]
_BECOME = ["none", "sudo"]
_HOST_FIELDS = {
    "name": {**STR, "description": "unique; default: the address", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"},
    "address": {**STR, "description": "IP address or DNS name", "minLength": 1, "maxLength": 253},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
    "username": nullable({**STR, "maxLength": 33}),
    "auth_method": {**STR, "enum": _AUTH_METHODS, "default": "key"},
    "key_path": nullable({**STR, "description": "a private key file on the migrator server", "maxLength": 1024}),
    "password": nullable({**STR, "writeOnly": True, "description": "only with auth_method password; never returned",
                          "maxLength": 4096}),
    "become": {**STR, "enum": _BECOME, "default": "none"},
    "groups": array(ID_OR_NAME, description="group ids or names"),
    "credential": nullable({**ID_OR_NAME, "description": "a credential id or name; null detaches"}),
    "jump": nullable({**ID_OR_NAME, "description": "a jump host (ssh's ProxyJump): the id or name of another "
                                                   "host, reached first with its own login and pinned key; "
                                                   "null clears"}),
}
LINK = obj({"id": INT, "name": STR}, ("id", "name"))

SCHEMAS: dict[str, dict] = {
    "Problem": PROBLEM,
    "Health": obj({"status": STR}, ("status",)),
    "Host": obj({
        "id": INT, "name": STR, "address": STR, "port": INT, "username": nullable(STR),
        "auth_method": {**STR, "enum": _AUTH_METHODS}, "key_path": nullable(STR), "has_password": BOOL,
        "become": {**STR, "enum": _BECOME}, "host_key": nullable(STR), "created_at": TIME,
        "groups": array(STR), "credential": nullable(LINK),
        "jump": {**nullable(LINK), "description": "the host's own jump host"},
        "effective_jump": {**nullable(LINK), "description": "the jump host a scan goes through: the host's "
                                                            "own, else its first group's"},
        "last_scan": {**STR, "description": "never, or the status of the host in its last scan"},
        "last_scan_at": nullable(TIME), "last_error": nullable(STR),
    }, ("id", "name", "address", "port", "auth_method", "has_password", "become", "groups", "last_scan")),
    "HostInput": obj(_HOST_FIELDS, ("address",), additional=False),
    "HostPatch": obj(_HOST_FIELDS, additional=False),
    "HostImport": obj({"imported": INT, "hosts": array(ref("Host"))}, ("imported", "hosts")),
    "Group": obj({"id": INT, "name": STR, "description": STR, "hosts": array(LINK), "credential": nullable(LINK),
                  "jump": {**nullable(LINK), "description": "the jump host of members without their own"},
                  "created_at": TIME}, ("id", "name", "hosts")),
    "GroupInput": obj({"name": _HOST_FIELDS["name"], "description": nullable({**STR, "maxLength": 2000}),
                       "hosts": array(ID_OR_NAME), "credential": _HOST_FIELDS["credential"],
                       "jump": _HOST_FIELDS["jump"]},
                      ("name",), additional=False),
    "GroupPatch": obj({"name": _HOST_FIELDS["name"], "description": nullable({**STR, "maxLength": 2000}),
                       "hosts": array(ID_OR_NAME), "credential": _HOST_FIELDS["credential"],
                       "jump": _HOST_FIELDS["jump"]}, additional=False),
    "Credential": obj({"id": INT, "name": STR, "username": nullable(STR),
                       "kind": {**STR, "enum": ["key", "password", "agent"]}, "key_path": nullable(STR),
                       "has_password": BOOL, "created_at": TIME, "hosts": array(STR), "groups": array(STR)},
                      ("id", "name", "kind", "has_password")),
    "CredentialInput": obj({"name": _HOST_FIELDS["name"], "username": _HOST_FIELDS["username"],
                            "kind": {**STR, "enum": ["key", "password", "agent"], "default": "key"},
                            "key_path": _HOST_FIELDS["key_path"], "password": _HOST_FIELDS["password"]},
                           ("name",), additional=False),
    "CredentialPatch": obj({"name": _HOST_FIELDS["name"], "username": _HOST_FIELDS["username"],
                            "kind": {**STR, "enum": ["key", "password", "agent"]},
                            "key_path": _HOST_FIELDS["key_path"], "password": _HOST_FIELDS["password"]},
                           additional=False),
    "Token": obj({"id": INT, "name": STR, "role": {**STR, "enum": ["viewer", "planner", "admin"]},
                  "prefix": {**STR, "description": "the secret's first characters, to tell tokens apart"},
                  "created_at": TIME, "last_used_at": nullable(TIME), "revoked_at": nullable(TIME),
                  "revoked": BOOL}, ("id", "name", "role", "prefix", "revoked")),
    "NewToken": {"allOf": [ref("Token"), obj({"secret": {**STR, "description":
                                                          "the bearer secret: shown this once, never again"}},
                                             ("secret",))]},
    "TokenInput": obj({"name": {**STR, "minLength": 1, "maxLength": 100},
                       "role": {**STR, "enum": ["viewer", "planner", "admin"]}}, ("name", "role"), additional=False),
    "ScanInput": obj({"hosts": array(ID_OR_NAME, minItems=1), "groups": array(ID_OR_NAME, minItems=1)},
                     additional=False, description="no body, or neither field: every host"),
    "Scan": obj({
        "id": INT, "status": {**STR, "enum": ["queued", "running", "done", "partial", "failed", "cancelled"]},
        "created_at": TIME, "started_at": nullable(TIME), "finished_at": nullable(TIME), "error": nullable(STR),
        "cancel_requested_at": nullable(TIME),
        "progress": obj({"total": INT, "queued": INT, "running": INT, "done": INT, "failed": INT, "cancelled": INT}),
        "hosts": array(obj({"host_id": INT, "host": STR,
                            "status": {**STR, "enum": ["queued", "running", "done", "failed", "cancelled"]},
                            "stage": nullable(STR), "error": nullable(STR), "error_kind": nullable(STR),
                            "snapshot_id": nullable(INT), "missing": array(STR)})),
    }, ("id", "status", "hosts")),
    "Snapshot": obj({"id": INT, "host_id": INT, "host": STR, "scan_id": INT, "collected_at": TIME,
                     "missing": array(STR), "sections": {"type": "object"}, "duration_s": nullable({"type": "number"}),
                     "bytes_in": nullable(INT), "applications": INT}, ("id", "host_id", "host", "scan_id")),
    "Application": obj({
        "id": INT, "host": STR, "host_id": INT, "key": STR, "name": STR, "software": STR, "version": STR,
        "category": STR, "verdict": STR, "verdict_reason": STR, "confidence": {"type": "number"},
        "user": STR, "command": array(STR), "unit": STR, "pids": array(INT),
        "ports": array(obj({"protocol": STR, "address": STR, "port": INT, "scope": STR})),
        "state": array({"type": "object"}), "peers": array({"type": "object"}), "evidence": array({"type": "object"}),
    }, ("id", "host", "host_id", "key", "software", "verdict")),
    "Graph": obj({
        "nodes": array(obj({"id": STR, "host": STR, "key": STR, "software": STR, "name": STR})),
        "edges": array(obj({"source": STR, "target": STR, "port": INT, "protocol": STR})),
        "clusters": array(obj({"software": STR, "members": array(obj({"id": STR, "role": STR}))})),
        "external": array(obj({"app": STR, "address": STR, "port": INT, "direction": {**STR, "enum": ["in", "out"]}})),
        "order": array(obj({"before": STR, "after": STR, "reason": STR})),
    }, ("nodes", "edges", "clusters", "external")),
    "Waves": obj({"waves": array(array(STR)), "cycles": array(array(STR))}, ("waves", "cycles")),
    "Overrides": {"type": "object", "description": "workload id (HOST/APP) -> changes",
                  "additionalProperties": ref("OverrideChanges")},
    "OverrideChanges": obj({
        "kind": {**STR, "enum": ["Deployment", "StatefulSet", "DaemonSet"]},
        "replicas": {"type": "integer", "minimum": 0}, "image": STR,
        "storage_size": {"oneOf": [{"type": "integer", "minimum": 1}, STR]},
        "storage_class": nullable(STR), "exclude": BOOL,
        "expose": {**STR, "enum": ["none", "cluster", "ingress", "loadbalancer"]},
        "run_as_user": nullable({"type": "integer", "minimum": 0}),
    }, additional=False),
    "Override": obj({"id": INT, "workload": STR, "changes": ref("OverrideChanges"), "created_at": TIME,
                     "updated_at": TIME}, ("id", "workload", "changes")),
    "OverrideInput": obj({"workload": {**STR, "description": "HOST/APP as `migrator apps` prints it",
                                       "minLength": 3, "maxLength": 512},
                          "changes": ref("OverrideChanges")}, ("workload", "changes"), additional=False),
    "OverridePatch": obj({"changes": ref("OverrideChanges")}, ("changes",), additional=False),
    "PlanInput": obj({"hosts": array(ID_OR_NAME, minItems=1), "groups": array(ID_OR_NAME, minItems=1),
                      "namespace": {**STR, "default": "default"},
                      "overrides": ref("Overrides"), "network_policies": {**BOOL, "default": True}},
                     additional=False, description="no body: every scanned host, the stored overrides"),
    "Plan": obj({"id": INT, "version": INT, "created_at": TIME, "namespace": STR, "host_ids": array(INT),
                 "valid": BOOL, "problems": array({"type": "object"}), "summary": {"type": "object"},
                 "overrides": {"type": "object"}},
                ("id", "created_at", "namespace", "valid", "problems", "summary")),
    "Validation": obj({"plan_id": INT, "kubernetes_version": nullable(STR), "valid": BOOL,
                       "problems": array({"type": "object"})}, ("plan_id", "valid", "problems")),
}

for _name in ("Host", "Group", "Credential", "Token", "Scan", "Snapshot", "Application", "Override", "Plan"):
    SCHEMAS[f"{_name}Page"] = page_of(_name)

_ERRORS = {
    400: "the request could not be carried out",
    401: "no bearer token, or an unknown or revoked one (WWW-Authenticate: Bearer)",
    403: "the token's role may not do this",
    404: "no such record",
    405: "method not allowed (Allow lists the methods)",
    409: "the change clashes with other records (the detail names them)",
    413: "the request body is too large",
    415: "the request body is not of a supported media type",
    422: "invalid input: `errors` names each bad field or parameter",
}
PROBLEM_CONTENT = {"application/problem+json": {"schema": ref("Problem")}}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


# --- the decorator ------------------------------------------------------------------------------------

def operation(*, role: str | None, summary: str, tags: list[str], description: str = "",
              params: list[dict] | None = None, body: str | dict | None = None, body_required: bool = True,
              responses: dict[int, Any], errors: tuple[int, ...] = ()) -> Callable:
    """Declare a view's operation. `body`: a schema name (application/json) or a full requestBody
    content mapping. `responses`: status -> schema name, a (description, content) pair, or None (no body).
    A JSON body adds 415 and 422; path ids add 404; query parameters add 422; a role adds 401 (and 403
    above viewer)."""
    def mark(view: Callable) -> Callable:
        op: dict[str, Any] = {"summary": summary, "tags": tags, "operationId": view.__name__}
        if description:
            op["description"] = description
        parameters = list(params or [])
        if parameters:
            op["parameters"] = parameters
        codes = set(errors)
        if body is not None:
            content = json_content(ref(body)) if isinstance(body, str) else body
            op["requestBody"] = {"required": body_required, "content": content}
            codes |= {413, 415, 422}
        if any(p["in"] == "query" for p in parameters):
            codes.add(422)
        if any(p["in"] == "path" for p in parameters):
            codes.add(404)
        out: dict[Any, Any] = {}
        for status, spec in responses.items():
            if spec is None:
                out[str(status)] = {"description": "done"}
            elif isinstance(spec, str):
                out[str(status)] = {"description": "OK", "content": json_content(ref(spec))}
            elif isinstance(spec, tuple):
                out[str(status)] = {"description": spec[0], **({"content": spec[1]} if spec[1] else {}),
                                    **({"headers": spec[2]} if len(spec) > 2 else {})}
            else:
                out[str(status)] = {"description": "OK", "content": json_content(spec)}
        if role is not None:
            codes.add(401)
            if role != "viewer":
                codes.add(403)
            op["security"] = [{"bearer": []}]
        else:
            op["security"] = []
        for code in sorted(codes):
            response = {"description": _ERRORS[code], "content": PROBLEM_CONTENT}
            if code == 401:
                response["headers"] = {"WWW-Authenticate": {"schema": STR, "description": "Bearer"}}
            out[str(code)] = response
        op["responses"] = out
        view._openapi = op
        view._role = role
        return view
    return mark


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="migrator", version=API_VERSION, openapi_version="3.0.3", plugins=[FlaskPlugin()],
                   info={"description": "Inventory VMs over SSH and plan their move to Kubernetes. "
                         "Send `Authorization: Bearer <token>` (tokens: `migrator tokens create NAME --role R`). "
                         "Roles: viewer (every GET), planner (+ scans, plans, overrides), admin (everything). "
                         "Lists are paginated: `limit` and `cursor`; follow `next`. Errors are "
                         "application/problem+json."},
                   servers=[{"url": "/"}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "an API token"})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    seen: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "_openapi", None)
        if op is None or rule.endpoint in seen:
            continue
        seen.add(rule.endpoint)
        methods = sorted(m.lower() for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS"))
        spec.path(view=view, app=app, operations={m: dict(op) for m in methods})
    return spec.to_dict()
