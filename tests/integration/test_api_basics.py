"""Auth, routing, the response envelope, request ids, token rotation and the request log."""

import re
import socket
import time

import pytest

from helpers import assert_error, assert_ok
from lab import http_request, wait_until

ENDPOINTS = [
    ("GET", "/ocserv/health"),
    ("GET", "/ocserv/status"),
    ("GET", "/ocserv/sessions"),
    ("GET", "/ocserv/session?username=alice"),
    ("POST", "/ocserv/disconnect"),
    ("POST", "/ocserv/disconnectAll"),
    ("GET", "/ocserv/radius-config"),
]


# ---- authentication -------------------------------------------------------------------------

def bad_auth_headers(token):
    return {
        "no header": None,
        "basic scheme": f"Basic {token}",
        "wrong token": "Bearer not-the-token",
        "extra char": f"Bearer {token}x",
        "prefix only": f"Bearer {token[:-1]}",
        "empty bearer": "Bearer ",
        "bare scheme": "Bearer",
        "token only": token,
        "double space": f"Bearer  {token}x",
        "empty": "",
    }


@pytest.mark.parametrize("case", list(bad_auth_headers("t").keys()))
@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_bad_auth_is_401(agent, lab, method, path, case):
    value = bad_auth_headers(agent.token)[case]
    headers = {} if value is None else {"Authorization": value}
    body = b'{"username":"alice"}' if method == "POST" else None
    resp = http_request(agent.port, method, path, headers=headers, body=body)
    assert_error(resp, 401, "UNAUTHORIZED")


def test_good_token_is_accepted(agent):
    assert_ok(agent.get("/ocserv/health"))


def test_auth_is_checked_before_routing(agent):
    assert_error(agent.get("/ocserv/nope", token=None), 401, "UNAUTHORIZED")
    assert_error(agent.get("/ocserv/nope", token="wrong"), 401, "UNAUTHORIZED")
    assert_error(agent.request("POST", "/ocserv/health", token=None), 401, "UNAUTHORIZED")
    assert_error(agent.get("/ocserv/nope"), 404, "NOT_FOUND")


# ---- routing --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/ocserv", "/ocserv/", "/ocserv/nope", "/ocserv/sessionsx",
                                  "/ocserv/health/extra", "/OCSERV/HEALTH", "/health", "/v1/ocserv/health"])
def test_unknown_route_is_404(agent, path):
    assert_error(agent.get(path), 404, "NOT_FOUND")


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/ocserv/health", "GET"),
    ("DELETE", "/ocserv/health", "GET"),
    ("PUT", "/ocserv/sessions", "GET"),
    ("POST", "/ocserv/status", "GET"),
    ("POST", "/ocserv/session", "GET"),
    ("POST", "/ocserv/radius-config", "GET"),
    ("GET", "/ocserv/disconnect", "POST"),
    ("GET", "/ocserv/disconnectAll", "POST"),
    ("DELETE", "/ocserv/disconnect", "POST"),
])
def test_wrong_method_is_405_with_allow(agent, lab, method, path, allowed):
    before = lab.session_ids()
    resp = agent.request(method, path, body=b'{"username":"alice"}' if method != "GET" else None)
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")
    allow = resp.header("Allow")
    assert allow, "405 without an Allow header"
    assert allowed in [m.strip() for m in allow.split(",")], allow
    assert lab.session_ids() == before


def test_query_string_does_not_change_route(agent):
    body = assert_ok(agent.get("/ocserv/health?x=1"))
    assert body["agent"]["name"] == "ocserv-agent"


# ---- envelope and request ids ---------------------------------------------------------------

def test_every_response_has_json_and_request_id(agent):
    cases = [
        agent.get("/ocserv/health"),
        agent.get("/ocserv/sessions"),
        agent.get("/ocserv/nope"),
        agent.get("/ocserv/health", token=None),
        agent.request("POST", "/ocserv/health"),
        agent.request("POST", "/ocserv/disconnect", body=b"{"),
        agent.get("/ocserv/radius-config"),
    ]
    ids = []
    for r in cases:
        assert r.header("Content-Type").split(";")[0].strip() == "application/json", r
        rid = r.header("X-Request-Id")
        assert rid and len(rid) >= 8 and rid.isprintable() and " " not in rid, rid
        assert isinstance(r.json()["ok"], bool)
        ids.append(rid)
    assert len(set(ids)) == len(ids)


def test_request_ids_unique(agent):
    ids = [agent.get("/ocserv/health").header("X-Request-Id") for _ in range(50)]
    ids += [agent.get("/nope", token=None).header("X-Request-Id") for _ in range(20)]
    assert len(set(ids)) == len(ids) == 70


def test_keep_alive_connection_serves_several_requests(agent):
    """Two requests on one HTTP/1.1 connection both get complete, distinct answers."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
    try:
        rids = []
        for _ in range(3):
            conn.request("GET", "/ocserv/health", headers={"Authorization": f"Bearer {agent.token}"})
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200 and b'"ok"' in data
            rids.append(r.getheader("X-Request-Id"))
        assert len(set(rids)) == 3
    finally:
        conn.close()


# ---- token rotation -------------------------------------------------------------------------

def test_token_rotation(make_agent):
    old, new = "old-token-" + "a" * 20, "new-token-" + "b" * 20
    a = make_agent(token=new, previous=old)
    assert_ok(a.get("/ocserv/health", token=new))
    assert_ok(a.get("/ocserv/health", token=old))
    assert_ok(a.get("/ocserv/sessions", token=old))
    assert_error(a.get("/ocserv/health", token="other"), 401, "UNAUTHORIZED")
    # Rotation done: restart without PREVIOUS; the old token is refused.
    a.restart(AGENT_AUTH_TOKEN_PREVIOUS=None)
    assert_ok(a.get("/ocserv/health", token=new))
    assert_error(a.get("/ocserv/health", token=old), 401, "UNAUTHORIZED")
    assert_error(a.get("/ocserv/sessions", token=old), 401, "UNAUTHORIZED")


def test_empty_previous_token_does_not_open_the_door(make_agent):
    a = make_agent(env={"AGENT_AUTH_TOKEN_PREVIOUS": ""})
    assert_ok(a.get("/ocserv/health"))
    assert_error(a.get("/ocserv/health", token=""), 401, "UNAUTHORIZED")
    assert_error(a.get("/ocserv/health", headers={"Authorization": "Bearer "}, token=None),
                 401, "UNAUTHORIZED")


def test_token_is_trimmed(make_agent):
    a = make_agent(env={"AGENT_AUTH_TOKEN_CURRENT": "  trimmed-token-123 \t"})
    assert_ok(a.get("/ocserv/health", token="trimmed-token-123"))
    # The stored token is the trimmed one: the untrimmed string with its inner content changed,
    # or the token plus the surrounding characters as token characters, are refused.
    assert_error(a.get("/ocserv/health", token="_trimmed-token-123"), 401, "UNAUTHORIZED")
    assert_error(a.get("/ocserv/health", token="trimmed-token-123_"), 401, "UNAUTHORIZED")


# ---- the request log ------------------------------------------------------------------------

def _log_line_with(agent, rid, timeout=5):
    def find():
        return [ln for ln in agent.log().splitlines() if rid in ln]

    return wait_until(find, timeout, what=f"a log line with request id {rid}")


def test_log_one_line_per_request(make_agent):
    a = make_agent(previous="previous-token-" + "p" * 16)
    r = a.get("/ocserv/sessions")
    assert r.status == 200
    rid = r.header("X-Request-Id")

    def access_lines(x, path):
        """The request's access lines, once there is one: other lines carry its id too (the
        root process logs the calls it serves for it), and may come first."""
        hits = [ln for ln in _log_line_with(a, x) if "GET" in ln and path in ln]
        return hits or None

    access = wait_until(lambda: access_lines(rid, "/ocserv/sessions"), 5, what="the access line")
    assert len(access) == 1 and "200" in access[0], access
    line = access[0]
    assert re.search(r"\d+(\.\d+)?\s*(ms|us|µs|s)\b|duration", line), f"no duration in: {line}"
    # one line per request: three more requests, three more lines with their ids
    rids = [a.get("/ocserv/health").header("X-Request-Id") for _ in range(3)]
    for x in rids:
        hits = wait_until(lambda: access_lines(x, "/ocserv/health"), 5, what="the access line")
        assert len(hits) == 1, hits


def test_log_errors_have_request_id_and_code(make_agent):
    a = make_agent()
    cases = [
        (a.get("/ocserv/nope"), 404, "NOT_FOUND"),
        (a.get("/ocserv/health", token="bad-token-value-123"), 401, "UNAUTHORIZED"),
        (a.request("POST", "/ocserv/disconnect", body=b"{oops"), 400, "BAD_REQUEST"),
        (a.request("POST", "/ocserv/health"), 405, "METHOD_NOT_ALLOWED"),
    ]
    for resp, status, code in cases:
        assert_error(resp, status, code)
        rid = resp.header("X-Request-Id")
        lines = _log_line_with(a, rid)
        assert any(code in ln for ln in lines), (code, lines)
        assert any(str(status) in ln for ln in lines), (status, lines)


def test_log_never_contains_tokens(make_agent):
    cur, prev = "cur-SECRET-token-" + "c" * 16, "prev-SECRET-token-" + "d" * 16
    a = make_agent(token=cur, previous=prev)
    a.get("/ocserv/health", token=cur)
    a.get("/ocserv/health", token=prev)
    a.get("/ocserv/sessions", token="wrong-SECRET-token-zzzz")
    a.get("/ocserv/nope", token=cur)
    a.request("POST", "/ocserv/disconnect", token=cur, body=b"{bad")
    rc = a.stop()
    assert rc == 0
    log = a.log()
    assert log.strip(), "the agent logged nothing"
    for secret in (cur, prev, "wrong-SECRET-token-zzzz", "SECRET"):
        assert secret not in log, f"{secret!r} found in the agent log"


def test_http_garbage_does_not_kill_the_agent(agent):
    with socket.create_connection(("127.0.0.1", agent.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(1024)
        except OSError:
            pass
    with socket.create_connection(("127.0.0.1", agent.port), timeout=5) as s:
        s.sendall(b"GET /ocserv/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n")  # never finished
    time.sleep(0.2)
    assert_ok(agent.get("/ocserv/health"))
