"""Health, hosts (with bulk import), groups, credentials and API tokens."""
from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import UnsupportedMediaType

from migrator import get_db
from migrator.api import bp
from migrator.api.common import created, json_body, page
from migrator.api.openapi import (PAGE_PARAMS, STR, array, json_content, obj, operation, path_id, query, ref)
from migrator.credentials import CredentialCipher
from migrator.errors import InputError
from migrator.models import ApiToken, Credential, Host, HostGroup
from migrator.services import credentials, findings, groups, hosts, tokens

HOST_ID = "<id:host_id>"
ID = "id"


def _cipher() -> CredentialCipher:
    return CredentialCipher(current_app.config)


@bp.get("/health")
@operation(role=None, summary="Liveness", tags=["service"], responses={200: "Health"})
def health():
    return jsonify(status="ok")


# --- hosts ---------------------------------------------------------------------------------------

@bp.get("/hosts")
@operation(role="viewer", summary="List hosts with their last scan", errors=(404,), tags=["hosts"],
           params=PAGE_PARAMS + [query("group", "only hosts of this group (id or name)")],
           responses={200: {"$ref": "#/components/schemas/HostPage"}})
def list_hosts():
    with get_db(current_app).session() as s:
        q = select(Host)
        if request.args.get("group"):
            (group,) = groups.find_groups(s, [request.args["group"]], field="group")
            q = q.where(Host.groups.any(HostGroup.id == group.id))
        return page(s, q, Host.id, to_dicts=lambda rows: findings.host_summaries(s, rows))


@bp.post("/hosts")
@operation(role="admin", summary="Add a host", errors=(404,), tags=["hosts"], body="HostInput",
           description="The password (auth_method password) is stored encrypted and never returned. "
                       "`groups` and `credential` attach the host to existing groups and a credential; "
                       "`jump` names another host to reach it through (ssh's ProxyJump).",
           responses={201: ("the host; Location names it", json_content(ref("Host")),
                            {"Location": {"schema": STR}})})
def create_host():
    data = json_body()
    with get_db(current_app).session() as s:
        host = hosts.add_host(s, _cipher(), data)
        body = findings.host_summary(s, host)
    return created(body, url_for("api.get_host", host_id=body["id"]))


@bp.get(f"/hosts/{HOST_ID}")
@operation(role="viewer", summary="One host", tags=["hosts"], params=[path_id("host_id", "host")],
           responses={200: "Host"})
def get_host(host_id: int):
    with get_db(current_app).session() as s:
        return jsonify(findings.host_summary(s, hosts.get_host(s, host_id)))


@bp.patch(f"/hosts/{HOST_ID}")
@operation(role="admin", summary="Change some fields of a host", errors=(404,), tags=["hosts"], body="HostPatch",
           params=[path_id("host_id", "host")],
           description="null clears username, key_path, password or jump; a new auth_method drops what the old "
                       "one used; a new address or port unpins the host key. A jump host through itself or "
                       "round in a loop is refused.",
           responses={200: "Host"})
def update_host(host_id: int):
    data = json_body()
    with get_db(current_app).session() as s:
        host = hosts.update_host(s, _cipher(), hosts.get_host(s, host_id), data)
        return jsonify(findings.host_summary(s, host))


@bp.delete(f"/hosts/{HOST_ID}")
@operation(role="admin", summary="Remove a host with its scans and findings", tags=["hosts"],
           description="Refused (409) while the host is the jump host of another host or of a group.",
           params=[path_id("host_id", "host")], responses={204: None}, errors=(409,))
def delete_host(host_id: int):
    with get_db(current_app).session() as s:
        hosts.remove_host(s, hosts.get_host(s, host_id))
    return "", 204


@bp.post(f"/hosts/{HOST_ID}/accept-key")
@operation(role="admin", summary="Unpin the host key after a deliberate change", tags=["hosts"],
           params=[path_id("host_id", "host")], responses={200: "Host"})
def accept_host_key(host_id: int):
    """After a deliberate host key change: unpin; the next scan pins the key the host presents."""
    with get_db(current_app).session() as s:
        host = hosts.get_host(s, host_id)
        hosts.accept_new_host_key(s, host)
        return jsonify(findings.host_summary(s, host))


_IMPORT_TYPES = {"application/json": "json", "application/yaml": "yaml", "application/x-yaml": "yaml",
                 "text/yaml": "yaml", "text/csv": "csv", "text/plain": "ansible-ini"}
TEXT = {"type": "string"}


@bp.post("/hosts/import")
@operation(role="admin", summary="Add many hosts at once, all or none", tags=["hosts"],
           description="The body is an inventory: JSON or YAML ({\"hosts\": [...]} or a list of hosts; an "
                       "Ansible YAML inventory is recognised), CSV with a header row "
                       "(name,address,port,username,key_path,groups,...), or an Ansible INI inventory "
                       "(text/plain). `format` overrides what the media type says. Ansible's ansible_host, "
                       "ansible_user, ansible_port, ansible_ssh_private_key_file and groups are read; groups "
                       "that do not exist yet are created. A `jump` key or column (name or address of a host "
                       "of the same import or of the inventory), or `-J NAME` / `-o ProxyJump=NAME` in "
                       "ansible_ssh_common_args or ansible_ssh_extra_args, sets the jump host.",
           params=[query("format", "json, yaml, csv, ansible-ini or ansible-yaml (default: from the media type)",
                         {"type": "string", "enum": list(hosts.FORMATS)})],
           body={"application/json": {"schema": {"oneOf": [obj({"hosts": array({"type": "object"})}, ("hosts",)),
                                                           array({"type": "object"})]}},
                 "application/yaml": {"schema": TEXT}, "text/csv": {"schema": TEXT},
                 "text/plain": {"schema": TEXT, "description": "an Ansible INI inventory"}},
           responses={201: "HostImport"})
def import_hosts():
    fmt = request.args.get("format") or None
    if fmt is not None and fmt not in hosts.FORMATS:
        raise InputError(f"format must be one of: {', '.join(hosts.FORMATS)}", "format")
    if fmt is None:
        fmt = _IMPORT_TYPES.get(request.mimetype)
        if fmt is None:
            raise UnsupportedMediaType(f"send the inventory as one of {', '.join(_IMPORT_TYPES)}, "
                                       "or name its format with ?format=")
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the inventory is not UTF-8 text", "file") from None
    if not text.strip():
        raise InputError("the inventory is empty", "file")
    records = hosts.read_inventory(text, fmt, "the inventory")
    with get_db(current_app).session() as s:
        added = hosts.import_hosts(s, _cipher(), records)
        body = {"imported": len(added), "hosts": [findings.host_summary(s, h) for h in added]}
    response = jsonify(body)
    response.status_code = 201
    return response


# --- groups --------------------------------------------------------------------------------------

@bp.get("/groups")
@operation(role="viewer", summary="List host groups", tags=["groups"], params=PAGE_PARAMS,
           responses={200: {"$ref": "#/components/schemas/GroupPage"}})
def list_groups():
    with get_db(current_app).session() as s:
        return page(s, select(HostGroup), HostGroup.id, groups.group_dict)


@bp.post("/groups")
@operation(role="admin", summary="Create a host group", errors=(404,), tags=["groups"], body="GroupInput",
           responses={201: ("the group; Location names it", json_content(ref("Group")),
                            {"Location": {"schema": STR}})})
def create_group():
    data = json_body()
    with get_db(current_app).session() as s:
        body = groups.group_dict(groups.create_group(s, data))
    return created(body, url_for("api.get_group", group_id=body["id"]))


@bp.get(f"/groups/<{ID}:group_id>")
@operation(role="viewer", summary="One host group", tags=["groups"], params=[path_id("group_id", "group")],
           responses={200: "Group"})
def get_group(group_id: int):
    with get_db(current_app).session() as s:
        return jsonify(groups.group_dict(groups.get_group(s, group_id)))


@bp.patch(f"/groups/<{ID}:group_id>")
@operation(role="admin", summary="Rename a group, set its hosts, credential or jump host", errors=(404,),
           tags=["groups"],
           body="GroupPatch", params=[path_id("group_id", "group")], responses={200: "Group"})
def update_group(group_id: int):
    data = json_body()
    with get_db(current_app).session() as s:
        return jsonify(groups.group_dict(groups.update_group(s, groups.get_group(s, group_id), data)))


@bp.delete(f"/groups/<{ID}:group_id>")
@operation(role="admin", summary="Remove a group (its hosts stay)", tags=["groups"],
           description="Refused (409) while members reach their jump host through the group.",
           params=[path_id("group_id", "group")], responses={204: None}, errors=(409,))
def delete_group(group_id: int):
    with get_db(current_app).session() as s:
        groups.delete_group(s, groups.get_group(s, group_id))
    return "", 204


# --- credentials ---------------------------------------------------------------------------------

@bp.get("/credentials")
@operation(role="viewer", summary="List credentials (never their passwords)", tags=["credentials"],
           params=PAGE_PARAMS, responses={200: {"$ref": "#/components/schemas/CredentialPage"}})
def list_credentials():
    with get_db(current_app).session() as s:
        return page(s, select(Credential), Credential.id, lambda c: credentials.credential_dict(s, c))


@bp.post("/credentials")
@operation(role="admin", summary="Store a credential (write-only)", tags=["credentials"], body="CredentialInput",
           description="kind key needs key_path (a file on the migrator server), kind password a password "
                       "(stored encrypted, never returned), kind agent uses ssh-agent. Attach it to hosts or "
                       "groups with their `credential` field; a scan uses the host's credential, else its "
                       "first group's, else the host's own fields.",
           responses={201: ("the credential; Location names it", json_content(ref("Credential")),
                            {"Location": {"schema": STR}})})
def create_credential():
    data = json_body()
    with get_db(current_app).session() as s:
        body = credentials.credential_dict(s, credentials.create_credential(s, _cipher(), data))
    return created(body, url_for("api.get_credential", credential_id=body["id"]))


@bp.get(f"/credentials/<{ID}:credential_id>")
@operation(role="viewer", summary="One credential (never its password)", tags=["credentials"],
           params=[path_id("credential_id", "credential")], responses={200: "Credential"})
def get_credential(credential_id: int):
    with get_db(current_app).session() as s:
        return jsonify(credentials.credential_dict(s, credentials.get_credential(s, credential_id)))


@bp.patch(f"/credentials/<{ID}:credential_id>")
@operation(role="admin", summary="Change a credential", tags=["credentials"], body="CredentialPatch",
           params=[path_id("credential_id", "credential")], responses={200: "Credential"})
def update_credential(credential_id: int):
    data = json_body()
    with get_db(current_app).session() as s:
        cred = credentials.update_credential(s, _cipher(), credentials.get_credential(s, credential_id), data)
        return jsonify(credentials.credential_dict(s, cred))


@bp.delete(f"/credentials/<{ID}:credential_id>")
@operation(role="admin", summary="Remove a credential (its hosts and groups fall back)", tags=["credentials"],
           params=[path_id("credential_id", "credential")], responses={204: None})
def delete_credential(credential_id: int):
    with get_db(current_app).session() as s:
        credentials.delete_credential(s, credentials.get_credential(s, credential_id))
    return "", 204


# --- tokens --------------------------------------------------------------------------------------

@bp.get("/tokens")
@operation(role="admin", summary="List API tokens (never their secrets)", tags=["tokens"], params=PAGE_PARAMS,
           responses={200: {"$ref": "#/components/schemas/TokenPage"}})
def list_tokens():
    with get_db(current_app).session() as s:
        return page(s, select(ApiToken), ApiToken.id, tokens.token_dict)


@bp.post("/tokens")
@operation(role="admin", summary="Create an API token; its secret is shown this once", tags=["tokens"],
           description="Refused (409) while a live token has the same name.",
           body="TokenInput", responses={201: ("the token with its secret", json_content(ref("NewToken")),
                                               {"Location": {"schema": STR}})}, errors=(409,))
def create_token():
    data = json_body(fields=("name", "role"))
    with get_db(current_app).session() as s:
        token, secret = tokens.create_token(s, data.get("name"), data.get("role"))
        body = {**tokens.token_dict(token), "secret": secret}
    return created(body, url_for("api.get_token", token_id=body["id"]))


@bp.get(f"/tokens/<{ID}:token_id>")
@operation(role="admin", summary="One API token", tags=["tokens"], params=[path_id("token_id", "token")],
           responses={200: "Token"})
def get_token(token_id: int):
    with get_db(current_app).session() as s:
        return jsonify(tokens.token_dict(tokens.get_token(s, token_id)))


@bp.delete(f"/tokens/<{ID}:token_id>")
@operation(role="admin", summary="Revoke an API token", tags=["tokens"], params=[path_id("token_id", "token")],
           responses={200: "Token"})
def revoke_token(token_id: int):
    with get_db(current_app).session() as s:
        return jsonify(tokens.token_dict(tokens.revoke_token(s, tokens.get_token(s, token_id))))
