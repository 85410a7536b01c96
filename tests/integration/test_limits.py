"""Abuse limits on a real agent: the failed-authentication rate limit per client address (429
with Retry-After), body, header and JSON-depth limits, connections per address, the counters
of GET /ocserv/health's "limits", and tokens read from files (systemd credentials).

127.0.0.0/8 is all loopback: a client socket bound to 127.0.0.2 is a second address."""

import http.client
import json
import os
import socket
import time

import pytest

from helpers import assert_error, assert_ok
from lab import Response, run_agent_cli, wait_until

OTHER = "127.0.0.2"


def request(agent, method, path, *, token=..., body=None, headers=None, source=None,
            timeout=10.0):
    """One request on a fresh connection, from source (an address of this host) if given."""
    if token is ...:
        token = agent.token
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return Response(r.status, r.reason, r.getheaders(), r.read(), time.monotonic() - t0)
    finally:
        conn.close()


def limits(agent):
    """The health body's limits counters, asked from OTHER (never rate limited here)."""
    body = assert_ok(request(agent, "GET", "/ocserv/health", source=OTHER))
    assert "limits" in body, "GET /ocserv/health has no limits member"
    return body["limits"]


def nested(depth):
    """An object {"username": "alice", "x": [[...]]} nested depth levels in all."""
    return '{"username": "alice", "x": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


# ---- failed authentication ------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(lab, agent_bin):
    from lab import Agent
    a = Agent(lab=lab, env={"AGENT_AUTH_FAIL_LIMIT": "3", "AGENT_AUTH_FAIL_WINDOW_MS": "3000",
                            "AGENT_MAX_BODY_BYTES": "1024", "AGENT_MAX_HEADER_BYTES": "2048",
                            "AGENT_MAX_JSON_DEPTH": "4", "AGENT_MAX_CONNECTIONS_PER_IP": "3"})
    try:
        a.start()
        yield a
    finally:
        a.close()


def test_rate_limit_per_address(limited):
    before = limits(limited)
    # Authenticated requests never count, however many.
    for _ in range(5):
        assert_ok(request(limited, "GET", "/ocserv/status"))
    for token in ("wrong-1", None, "wrong-3"):
        assert_error(request(limited, "GET", "/ocserv/status", token=token), 401, "UNAUTHORIZED")
    # Over the limit: refused before the token is looked at, the right one included.
    t_refused = time.monotonic()
    resp = request(limited, "GET", "/ocserv/status")
    body = assert_error(resp, 429, "TOO_MANY_REQUESTS")
    assert "retry in" in body["error"]["message"], body
    retry = int(resp.header("Retry-After"))
    assert 1 <= retry <= 3, resp.header("Retry-After")
    assert_error(request(limited, "GET", "/ocserv/health", token="wrong"), 429,
                 "TOO_MANY_REQUESTS")
    # Another address is not affected.
    assert_ok(request(limited, "GET", "/ocserv/status", source=OTHER))
    after = limits(limited)
    assert after["authFailures"] - before["authFailures"] == 3, (before, after)
    assert after["rateLimited"] - before["rateLimited"] == 2, (before, after)
    assert after["addressesTracked"] >= 1
    # When the window of the first failure is over, the right token works again (and
    # not before: Retry-After is a whole number of seconds, rounded up).
    time.sleep(max(0.0, retry - 0.5 - (time.monotonic() - t_refused)))
    wait_until(lambda: request(limited, "GET", "/ocserv/status").status == 200, 4.0,
               what="the rate limit to end")
    assert_ok(request(limited, "GET", "/ocserv/status"))


def test_forgotten_after_the_window(limited):
    """Failures further apart than the window never add up to the limit."""
    for _ in range(3):
        assert_error(request(limited, "GET", "/ocserv/status", token="wrong", source="127.0.0.3"),
                     401, "UNAUTHORIZED")
        time.sleep(1.6)  # two failures at most in any 3 s window
    assert_ok(request(limited, "GET", "/ocserv/status", source="127.0.0.3"))


# ---- body, headers, JSON depth --------------------------------------------------------------

def test_body_over_limit_is_413(limited):
    before = limits(limited)
    body = '{"username": "' + "a" * 2000 + '"}'
    err = assert_error(request(limited, "POST", "/ocserv/disconnectAll", body=body), 413,
                       "PAYLOAD_TOO_LARGE")
    assert "1024" in err["error"]["message"], err
    # Just within the limit: the handler sees it (and refuses the name for itself).
    body = '{"username": "' + "a" * 990 + '"}'
    assert len(body) <= 1024
    err = assert_error(request(limited, "POST", "/ocserv/disconnectAll", body=body), 400,
                       "BAD_REQUEST")
    assert "larger" not in err["error"]["message"]
    after = limits(limited)
    assert after["bodiesTooLarge"] - before["bodiesTooLarge"] == 1, (before, after)
    assert after["transport"]["bodiesTooLarge"] - before["transport"]["bodiesTooLarge"] == 1


def test_headers_over_limit_are_431(limited):
    before = limits(limited)
    resp = request(limited, "GET", "/ocserv/status", headers={"X-Padding": "p" * 3000})
    assert resp.status == 431, resp
    assert resp.json()["ok"] is False
    assert resp.json()["error"]["code"] == "HEADERS_TOO_LARGE", resp
    # Within the limit: fine.
    assert_ok(request(limited, "GET", "/ocserv/status", headers={"X-Padding": "p" * 1000}))
    after = limits(limited)
    assert (after["transport"]["headersTooLarge"] - before["transport"]["headersTooLarge"]
            == 1), (before, after)


def test_json_too_deep_is_400(limited):
    before = limits(limited)
    err = assert_error(request(limited, "POST", "/ocserv/disconnectAll", body=nested(5)), 400,
                       "BAD_REQUEST")
    assert err["error"]["message"] == "JSON body nested too deeply (limit 4)", err
    # Unclosed, and far deeper than jansson itself would go: the same answer, at once.
    err = assert_error(request(limited, "POST", "/ocserv/disconnectAll", body="[" * 1000), 400,
                       "BAD_REQUEST")
    assert "nested too deeply" in err["error"]["message"], err
    # At the limit the handler decides (an unknown member here), and brackets in strings
    # are only text.
    err = assert_error(request(limited, "POST", "/ocserv/disconnectAll", body=nested(4)), 400,
                       "BAD_REQUEST")
    assert "nested" not in err["error"]["message"], err
    body = assert_ok(request(limited, "POST", "/ocserv/disconnectAll",
                             body=json.dumps({"username": "[[[[[{{{{{"})))
    assert body["disconnectedCount"] == 0
    after = limits(limited)
    assert after["jsonTooDeep"] - before["jsonTooDeep"] == 2, (before, after)


# ---- connections per address ----------------------------------------------------------------

def connection_refused(port, source=None):
    """Whether the agent drops a new connection (from source) without answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(b"GET /ocserv/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            data = s.recv(100)
        except ConnectionResetError:
            return True
        return data == b""
    finally:
        s.close()


def test_connections_per_address(limited):
    before = limits(limited)
    held = []
    try:
        for _ in range(3):
            held.append(socket.create_connection(("127.0.0.1", limited.port), timeout=5))
        time.sleep(0.3)  # accepted by the server, idle
        assert connection_refused(limited.port)
        # Another address still gets in.
        assert not connection_refused(limited.port, source=OTHER)
    finally:
        for s in held:
            s.close()
    wait_until(lambda: not connection_refused(limited.port), 5.0, what="connections to close")
    after = limits(limited)
    assert (after["transport"]["connectionsRefused"] - before["transport"]["connectionsRefused"]
            >= 1), (before, after)


# ---- tokens from files ----------------------------------------------------------------------

def write_token(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test_token_from_file(make_agent, tmp_path):
    tmp_path.chmod(0o755)
    tok = "file-token-0123456789abcdef"
    path = str(tmp_path / "token")
    write_token(path, tok + "\n")
    a = make_agent(token=tok, env={"AGENT_AUTH_TOKEN_CURRENT": None,
                                   "AGENT_AUTH_TOKEN_CURRENT_FILE": path})
    assert "AGENT_AUTH_TOKEN_CURRENT" not in a.env
    assert_ok(a.get("/ocserv/status"))
    assert_error(a.get("/ocserv/status", token="not-it"), 401, "UNAUTHORIZED")


def test_token_from_credentials_directory(make_agent, tmp_path):
    """systemd's LoadCredential=: a bare name in $CREDENTIALS_DIRECTORY, both tokens."""
    creds = tmp_path / "creds"
    creds.mkdir(mode=0o700)
    write_token(str(creds / "current"), "cred-current-0123456789", 0o400)
    write_token(str(creds / "previous"), "cred-previous-0123456789", 0o400)
    a = make_agent(token="cred-current-0123456789",
                   env={"AGENT_AUTH_TOKEN_CURRENT": None, "CREDENTIALS_DIRECTORY": str(creds),
                        "AGENT_AUTH_TOKEN_CURRENT_FILE": "current",
                        "AGENT_AUTH_TOKEN_PREVIOUS_FILE": "previous"})
    assert_ok(a.get("/ocserv/status"))
    assert_ok(a.get("/ocserv/status", token="cred-previous-0123456789"))
    assert_error(a.get("/ocserv/status", token="cred"), 401, "UNAUTHORIZED")


def test_token_file_refused(agent_bin, tmp_path):
    tmp_path.chmod(0o755)
    path = str(tmp_path / "token")
    env = {"AGENT_HOST": "127.0.0.1", "AGENT_PORT": "8", "AGENT_STATE_DIR": str(tmp_path),
           "AGENT_AUTH_TOKEN_CURRENT_FILE": path}
    write_token(path, "world-readable", 0o644)
    r = run_agent_cli(["--check-config"], env=env)
    assert r.returncode != 0
    assert "AGENT_AUTH_TOKEN_CURRENT_FILE" in r.stderr + r.stdout
    assert "world-readable" not in r.stderr + r.stdout  # never the token itself
    write_token(path, "fine-now", 0o600)
    r = run_agent_cli(["--check-config"], env=dict(env, AGENT_AUTH_TOKEN_CURRENT="also"))
    assert r.returncode != 0
    assert "not both" in r.stderr + r.stdout
    r = run_agent_cli(["--check-config"], env=env)
    assert r.returncode == 0, r.stderr
    assert "fine-now" not in r.stdout + r.stderr
