"""Path traversal, option injection, control characters and over-long values through every HTTP
field that reaches a root operation: each is refused by the api side (400, or 404 where the API
answers that for a name it does not know) and nothing changes on disk: ocpasswd, ocserv.conf,
the per-user and per-group directories, the backups and the agent's state are byte-identical, and
no file appears anywhere under them (nor the /tmp/evil an `-s /tmp/evil` would make).

The table FIELDS is the whole list: one row per field, with how a value is put into a request.
The agent runs as started by root with the default AGENT_PRIVSEP=auto, so once privilege
separation is in, every request that got through would have crossed the boundary.

The same values sent straight to the root side over the socketpair: test_priv_root.py."""

import os
import re
import urllib.parse

import pytest

from helpers import assert_ok
from lab import REPO, Agent
from priv_harness import ensure_agent_user, lab_snapshot

# The values (name -> text). Each is refused by every field below, except where a row says
# otherwise (FREE_TEXT: a password is any text without NUL or newline).
BAD = {
    "traversal": "../../etc/shadow",
    "absolute": "/etc/shadow",
    "option-x": "-x",
    "option-help": "--help",
    "option-s": "-s /tmp/evil",
    "newline": "ghost\nroot",
    "cr": "ghost\rroot",
    "nul": "ghost\x00root",
    "long": "g" * 5000,
}
# What a free-text member (a password) must still refuse: what would end or split its line.
FREE_TEXT = ("newline", "nul", "long")

GHOST = "ghost"          # an account, a per-user and a per-group file the tests could destroy
GHOST_HASH = "$6$abcdefgh$" + "A" * 86


def q(v):
    """A value as one path segment or query value (everything percent-encoded)."""
    return urllib.parse.quote(v, safe="")


class Field:
    """One HTTP field: build(value) -> (method, path, json body or None, headers or None).
    expect: the acceptable statuses; values: which BAD values apply (default all);
    allow: {value name: statuses} where this field has a documented, harmless answer."""

    def __init__(self, name, build, expect=(400,), values=None, allow=None):
        self.name = name
        self.build = build
        self.expect = set(expect)
        self.values = list(values or BAD)
        self.allow = {k: set(v) for k, v in (allow or {}).items()}

    def __repr__(self):
        return self.name


def path(method, fmt, body=None, headers=None):
    return lambda v: (method, fmt.format(q(v)), body, headers)


def body(method, p, make, headers=None):
    return lambda v: (method, p, make(v), headers)


# A session lookup's user name is only compared with ocserv's list, never a file name: "/" is
# allowed there (a RADIUS or certificate user name may hold one), so "../../etc/shadow" is just
# a user nobody is: 200 with no session (GET) or not_found (POST). Everything that could act as
# an option or split a line is still refused.
SESSION_NAME_OK = {"traversal": {200}, "absolute": {200}}
# A cookie id is base64 text, whose alphabet has "/": "/etc/shadow" is a well-formed id that no
# cookie has (404).
SID_OK = {"absolute": {404}}

CONFIG_DRY = {"dryRun": True}

FIELDS = [
    # ---- path parameters ----
    Field("GET users/{username}", path("GET", "/ocserv/users/{}"), allow=SESSION_NAME_OK),
    Field("GET sessions/{id}", path("GET", "/ocserv/sessions/{}")),
    Field("GET cookies/{sid}", path("GET", "/ocserv/cookies/{}"), allow=SID_OK),
    Field("DELETE bans/{ip}", path("DELETE", "/ocserv/bans/{}")),
    Field("POST service/{action}", path("POST", "/ocserv/service/{}"), expect=(404, 400)),
    Field("GET accounts/{username}", path("GET", "/ocserv/accounts/{}")),
    Field("PUT accounts/{username}", path("PUT", "/ocserv/accounts/{}", {"password": "pw"})),
    Field("PATCH accounts/{username}", path("PATCH", "/ocserv/accounts/{}", {"password": "pw"})),
    Field("DELETE accounts/{username}", path("DELETE", "/ocserv/accounts/{}")),
    Field("POST accounts/{username}/lock", path("POST", "/ocserv/accounts/{}/lock")),
    Field("POST accounts/{username}/unlock", path("POST", "/ocserv/accounts/{}/unlock")),
    Field("GET config/users/{name}", path("GET", "/ocserv/config/users/{}")),
    Field("PUT config/users/{name}", path("PUT", "/ocserv/config/users/{}",
                                          {"settings": {"mtu": 1400}})),
    Field("PATCH config/users/{name}", path("PATCH", "/ocserv/config/users/{}",
                                            {"settings": {"mtu": 1400}})),
    Field("DELETE config/users/{name}", path("DELETE", "/ocserv/config/users/{}")),
    Field("GET config/groups/{name}", path("GET", "/ocserv/config/groups/{}")),
    Field("PUT config/groups/{name}", path("PUT", "/ocserv/config/groups/{}",
                                           {"settings": {"mtu": 1400}})),
    Field("PATCH config/groups/{name}", path("PATCH", "/ocserv/config/groups/{}",
                                             {"settings": {"mtu": 1400}})),
    Field("DELETE config/groups/{name}", path("DELETE", "/ocserv/config/groups/{}")),
    Field("GET config/backups/{id}", path("GET", "/ocserv/config/backups/{}")),
    Field("POST config/backups/{id}/restore", path("POST", "/ocserv/config/backups/{}/restore",
                                                   CONFIG_DRY)),
    # ---- query parameters ----
    Field("GET session?username=", path("GET", "/ocserv/session?username={}"),
          allow=SESSION_NAME_OK),
    Field("GET session?vpnSessionId=", path("GET", "/ocserv/session?vpnSessionId={}")),
    Field("GET cookies?valid=", path("GET", "/ocserv/cookies?valid={}")),
    # A filter compared with the groups of the file's lines, never a name given to anything:
    # any text is a group no account has (200, empty), or refused.
    Field("GET accounts?group=", path("GET", "/ocserv/accounts?group={}"),
          allow={k: {200} for k in BAD}),
    Field("GET accounts?locked=", path("GET", "/ocserv/accounts?locked={}")),
    Field("DELETE accounts/ghost?disconnect=", path("DELETE",
                                                    "/ocserv/accounts/" + GHOST + "?disconnect={}")),
    Field("GET config?raw=", path("GET", "/ocserv/config?raw={}")),
    Field("GET health?tier=", path("GET", "/ocserv/health?tier={}")),
    # ---- JSON bodies: sessions ----
    Field("POST disconnect {username}", body("POST", "/ocserv/disconnect",
                                             lambda v: {"username": v}), allow=SESSION_NAME_OK),
    Field("POST disconnect {vpnSessionId}", body("POST", "/ocserv/disconnect",
                                                 lambda v: {"vpnSessionId": v})),
    Field("POST disconnectAll {username}", body("POST", "/ocserv/disconnectAll",
                                                lambda v: {"username": v}), allow=SESSION_NAME_OK),
    # (terminate by name on an ocserv that cannot revoke cookies answers 501 before it looks)
    Field("POST terminate {username}", body("POST", "/ocserv/terminate",
                                            lambda v: {"username": v}),
          allow={k: v | {501} for k, v in SESSION_NAME_OK.items()}),
    Field("POST terminate {vpnSessionId}", body("POST", "/ocserv/terminate",
                                                lambda v: {"vpnSessionId": v})),
    # ---- JSON bodies: accounts ----
    Field("PUT accounts/ghost {password}", body("PUT", "/ocserv/accounts/" + GHOST,
                                                lambda v: {"password": v}), values=FREE_TEXT),
    Field("PUT accounts/ghost {groups}", body("PUT", "/ocserv/accounts/" + GHOST,
                                              lambda v: {"password": "pw", "groups": [v]})),
    Field("PATCH accounts/ghost {password}", body("PATCH", "/ocserv/accounts/" + GHOST,
                                                  lambda v: {"password": v}), values=FREE_TEXT),
    Field("PATCH accounts/ghost {groups}", body("PATCH", "/ocserv/accounts/" + GHOST,
                                                lambda v: {"groups": [v]})),
    Field("POST accounts/ghost/lock {disconnect}", body("POST", "/ocserv/accounts/" + GHOST +
                                                        "/lock", lambda v: {"disconnect": v})),
    Field("POST accounts/import {content: user}", body(
        "POST", "/ocserv/accounts/import",
        lambda v: {"content": f"{v}:*:{GHOST_HASH}\n"}),
        # a newline ends the line: "ghost" then "root:*:HASH", a new account, in one import
        # that the dry-run-free merge would write; the value check refuses "ghost" (no hash).
        ),
    Field("POST accounts/import {content: group}", body(
        "POST", "/ocserv/accounts/import",
        lambda v: {"content": f"{GHOST}:{v}:{GHOST_HASH}\n"})),
    Field("POST accounts/import {content: hash}", body(
        "POST", "/ocserv/accounts/import", lambda v: {"content": f"{GHOST}:*:{v}\n"})),
    Field("POST accounts/import {mode}", body("POST", "/ocserv/accounts/import",
                                              lambda v: {"content": "", "mode": v})),
    # ---- JSON bodies: per-user and per-group files ----
    Field("PUT config/users/ghost {settings: key}", body(
        "PUT", "/ocserv/config/users/" + GHOST, lambda v: {"settings": {v: "1"}})),
    Field("PATCH config/users/ghost {settings: key}", body(
        "PATCH", "/ocserv/config/users/" + GHOST, lambda v: {"settings": {v: "1"}})),
    Field("PATCH config/users/ghost {settings: route}", body(
        "PATCH", "/ocserv/config/users/" + GHOST, lambda v: {"settings": {"route": [v]}})),
    Field("PATCH config/users/ghost {settings: hostname}", body(
        "PATCH", "/ocserv/config/users/" + GHOST, lambda v: {"settings": {"hostname": v}})),
    # user-profile is an absolute path by its nature: "/etc/shadow" is a well-formed one (what
    # ocserv would do with it is ocserv's; see docs/security.md), so it is left out here.
    Field("PATCH config/users/ghost {settings: user-profile}", body(
        "PATCH", "/ocserv/config/users/" + GHOST, lambda v: {"settings": {"user-profile": v}}),
        values=[k for k in BAD if k != "absolute"]),
    Field("PATCH config/groups/ghost {settings: key}", body(
        "PATCH", "/ocserv/config/groups/" + GHOST, lambda v: {"settings": {v: "1"}})),
    Field("PATCH config/groups/ghost {settings: dns}", body(
        "PATCH", "/ocserv/config/groups/" + GHOST, lambda v: {"settings": {"dns": [v]}})),
    # ---- JSON bodies: ocserv.conf (dry runs: a value that got through would write nothing) ----
    Field("PATCH config {set: key}", body("PATCH", "/ocserv/config",
                                          lambda v: {"set": {v: "1"}, **CONFIG_DRY})),
    Field("PATCH config {set: route}", body("PATCH", "/ocserv/config",
                                            lambda v: {"set": {"route": [v]}, **CONFIG_DRY})),
    Field("PATCH config {set: default-domain}", body(
        "PATCH", "/ocserv/config", lambda v: {"set": {"default-domain": v}, **CONFIG_DRY})),
    Field("PATCH config {unset}", body("PATCH", "/ocserv/config",
                                       lambda v: {"unset": [v], **CONFIG_DRY})),
    Field("PATCH config {vhost}", body("PATCH", "/ocserv/config",
                                       lambda v: {"set": {"mtu": 1400}, "vhost": v,
                                                  **CONFIG_DRY})),
    Field("PATCH config {apply}", body("PATCH", "/ocserv/config",
                                       lambda v: {"set": {"mtu": 1400}, "apply": v,
                                                  **CONFIG_DRY})),
    Field("POST config/backups/{id}/restore {apply}", body(
        "POST", "/ocserv/config/backups/20200101T000000Z-001/restore",
        lambda v: {"apply": v, **CONFIG_DRY})),
]


@pytest.fixture(scope="module")
def inj(lab, agent_bin):
    """The module's agent (root, AGENT_PRIVSEP default), with backups in the lab dir, and the
    ghost account and files that a value that got through could change."""
    ensure_agent_user()
    lab.add_user(GHOST, "ghost-pw")
    lab.user_config(GHOST, "mtu = 1300\n")
    lab.group_config(GHOST, "mtu = 1300\n")
    backups = os.path.join(lab.dir, "conf-backups-injection")
    os.makedirs(backups, exist_ok=True)
    a = Agent(lab=lab, env={"OCSERV_CONF_BACKUP_DIR": backups})
    try:
        a.start()
        yield a
    finally:
        a.close()
        lab.user_config(GHOST, None)
        lab.group_config(GHOST, None)


def api_routes():
    """(method, path pattern) of every route in src/api_*.c."""
    out = []
    for fn in os.listdir(os.path.join(REPO, "src")):
        if re.fullmatch(r"api_\w+\.c", fn):
            with open(os.path.join(REPO, "src", fn)) as f:
                text = f.read()
            out += re.findall(r'api_route_\w+\s*=\s*\{\s*"(\w+)",\s*"([^"]+)"', text)
    return out


def query_keys():
    """{query key} read by src/api_*.c, with the file."""
    out = set()
    for fn in os.listdir(os.path.join(REPO, "src")):
        if re.fullmatch(r"api_\w+\.c", fn):
            with open(os.path.join(REPO, "src", fn)) as f:
                out |= {(fn, k) for k in re.findall(r'http_request_query\(rq, "(\w+)"\)',
                                                    f.read())}
    return out


# Routes whose input reaches no root operation, or that take none: left out on purpose.
NOT_ROOT = {("POST", "/ocserv/reload"),            # no parameter, no body member
            ("POST", "/ocserv/accounts/{}/unlock")}  # covered as a path; takes no body
# Query keys the api process alone uses (the event stream's filters).
QUERY_API_ONLY = {("api_events.c", "since"), ("api_events.c", "type"),
                  ("api_events.c", "username")}


def test_every_field_is_listed():
    """Every route with a path parameter has a row, every route that takes a body has a body
    row, and every query key the handlers read has a row: a route or key added later without
    one fails here."""
    rows = []
    for f in FIELDS:
        method, p, b, _ = f.build("x")
        rows.append((method, p.split("?")[0], p.split("?")[1] if "?" in p else "", b, f.name))
    missing = []
    for method, pattern in api_routes():
        rx = re.compile("^" + re.escape(pattern).replace(r"\{\}", "[^/]+") + "$")
        mine = [r for r in rows if r[0] == method and rx.match(r[1])]
        if "{}" in pattern and not mine:
            missing.append(f"{method} {pattern}: no path row")
        if method != "GET" and "{}" not in pattern and (method, pattern) not in NOT_ROOT and \
                not any(r[3] is not None and "{" in r[4].split(" ", 2)[-1] for r in mine):
            missing.append(f"{method} {pattern}: no body row")
    for fn, key in query_keys() - QUERY_API_ONLY:
        if not any(r[2].startswith(key + "=") for r in rows):
            missing.append(f"?{key}= ({fn}): no query row")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
def test_refused_and_nothing_changed(inj, lab, field):
    snap = lab_snapshot(lab, inj.env)
    assert not os.path.exists("/tmp/evil")
    wrong = []
    for vname in field.values:
        method, p, b, headers = field.build(BAD[vname])
        r = inj.request(method, p, json_body=b, headers=headers)
        ok = field.allow.get(vname, set()) | field.expect
        if r.status not in ok:
            wrong.append(f"{vname}: {r.status} {r.text[:200]}")
        elif r.status == 200:
            # A harmless lookup: it found nothing and did nothing.
            body = r.json()
            assert body.get("sessions", []) == [] and body.get("session") is None and \
                body.get("disconnected") in (None, False) and \
                body.get("terminated", []) == [] and body.get("accounts", []) == [], \
                (vname, body)
        changed = snap.changes()
        if changed:
            wrong.append(f"{vname}: changed on disk: {changed}")
            snap = lab_snapshot(lab, inj.env)
        if os.path.exists("/tmp/evil"):
            wrong.append(f"{vname}: /tmp/evil exists")
    assert not wrong, "\n".join(wrong)


def test_ghost_is_intact(inj, lab):
    """The account and files the table aimed at are still there (so refusals, not absence,
    kept them), and the API still works on them with good values."""
    acc = assert_ok(inj.get(f"/ocserv/accounts/{GHOST}"))["account"]
    assert acc["locked"] is False
    cfg = assert_ok(inj.get(f"/ocserv/config/users/{GHOST}"))["config"]
    assert cfg["settings"] == {"mtu": 1300}
    with open(lab.passwd) as f:
        assert sum(1 for ln in f if ln.startswith("root:")) == 0
