"""POST /ocserv/disconnect and /ocserv/disconnectAll against real openconnect clients: the session
really goes away in occtl and the client process exits; guarded cases change nothing."""

import json

import pytest

from helpers import assert_error, assert_ok
from lab import pid_alive, wait_until

NOT_FOUND_ID = 999999


@pytest.fixture(scope="module")
def bystanders(lab):
    """Sessions that no test in this module may touch: alice x1, bob x2."""
    clients = lab.connect("alice", 1) + lab.connect("bob", 2)
    return clients


@pytest.fixture
def user(lab, request):
    """A fresh user for one test (its own sessions, nothing shared)."""
    name = "u" + request.node.name.split("[")[0].replace("test_", "")[:20].replace("_", "")
    lab.add_user(name, f"{name}-pw")
    yield name
    lab.kill_clients(name)


def assert_untouched(lab, bystanders):
    ids = set(lab.session_ids())
    for c in bystanders:
        assert c.alive(), c
    assert len(lab.session_ids("alice")) == 1 and len(lab.session_ids("bob")) == 2, ids


def wait_client_gone(client, timeout=10):
    wait_until(lambda: not pid_alive(client.pid), timeout, what=f"openconnect {client.pid} to exit")


def test_disconnect_by_id(agent, lab, bystanders, user):
    c = lab.connect_one(user)
    body = assert_ok(agent.post("/ocserv/disconnect", {"vpnSessionId": c.session_id}))
    assert body["disconnected"] is True
    assert body["vpnSessionId"] == c.session_id
    assert body["username"] == user
    lab.wait_sessions(user, 0, timeout=5)
    assert c.session_id not in lab.session_ids()
    wait_client_gone(c)
    assert_untouched(lab, bystanders)
    # The agent agrees.
    assert assert_ok(agent.get(f"/ocserv/session?vpnSessionId={c.session_id}"))["session"] is None


def test_disconnects_are_audited(agent, lab, bystanders, user):
    """Every state change leaves a NOTICE audit line with the request id, target and result."""
    c = lab.connect_one(user)
    r1 = agent.post("/ocserv/disconnect", {"vpnSessionId": c.session_id})
    assert_ok(r1)
    r2 = agent.post("/ocserv/disconnectAll", {"username": "nosuchuser"})
    assert_ok(r2)
    log = agent.log()
    line1 = next(ln for ln in log.splitlines() if r1.header("X-Request-Id") in ln and "audit" in ln)
    assert "notice" in line1 and "op=disconnect " in line1, line1
    assert f"vpnSessionId={c.session_id}" in line1 and "result=disconnected" in line1, line1
    assert f"disconnected=[{c.session_id}]" in line1, line1
    line2 = next(ln for ln in log.splitlines() if r2.header("X-Request-Id") in ln and "audit" in ln)
    assert 'op=disconnectAll username="nosuchuser" result=not_found' in line2, line2
    assert agent.token not in log


def test_disconnect_by_username_single_session(agent, lab, bystanders, user):
    c = lab.connect_one(user)
    body = assert_ok(agent.post("/ocserv/disconnect", {"username": user}))
    assert body["disconnected"] is True
    assert body["vpnSessionId"] == c.session_id
    assert body["username"] == user
    lab.wait_sessions(user, 0, timeout=5)
    wait_client_gone(c)
    assert_untouched(lab, bystanders)


def test_disconnect_id_preferred_over_username(agent, lab, bystanders, user):
    c = lab.connect_one(user)
    # username "bob" has two sessions (would be a 409); the id must win and only it goes.
    body = assert_ok(agent.post("/ocserv/disconnect", {"vpnSessionId": c.session_id, "username": "bob"}))
    assert body["disconnected"] is True and body["vpnSessionId"] == c.session_id
    assert body["username"] == user
    lab.wait_sessions(user, 0, timeout=5)
    assert_untouched(lab, bystanders)


def test_disconnect_username_with_several_sessions_is_409(agent, lab, bystanders, user):
    clients = lab.connect(user, 2)
    ids = sorted(lab.session_ids(user))
    resp = agent.post("/ocserv/disconnect", {"username": user})
    body = assert_error(resp, 409, "MULTIPLE_SESSIONS")
    assert sorted(m["vpnSessionId"] for m in body["matches"]) == ids
    for m in body["matches"]:
        assert m["username"] == user
        assert {"vpnSessionId", "username", "ip", "clientIp", "device", "status"} <= set(m)
    # Nothing was disconnected.
    assert sorted(lab.session_ids(user)) == ids
    assert all(c.alive() for c in clients)
    assert_untouched(lab, bystanders)


@pytest.mark.parametrize("payload", [
    {"vpnSessionId": NOT_FOUND_ID},
    {"username": "nosuchuser"},
    {"username": "carol"},  # a known user with no session
])
def test_disconnect_not_found(agent, lab, bystanders, payload):
    before = sorted(lab.session_ids())
    body = assert_ok(agent.post("/ocserv/disconnect", payload))
    assert body["disconnected"] is False
    assert body["reason"] == "not_found"
    assert sorted(lab.session_ids()) == before
    assert_untouched(lab, bystanders)


def test_disconnect_all(agent, lab, bystanders, user):
    clients = lab.connect(user, 3)
    ids = sorted(lab.session_ids(user))
    assert len(ids) == 3
    body = assert_ok(agent.post("/ocserv/disconnectAll", {"username": user}))
    assert body["username"] == user
    assert body["disconnectedCount"] == 3
    assert sorted(body["disconnectedSessionIds"]) == ids
    lab.wait_sessions(user, 0, timeout=5)
    for c in clients:
        wait_client_gone(c)
    assert_untouched(lab, bystanders)


def test_disconnect_all_single_session(agent, lab, bystanders, user):
    c = lab.connect_one(user)
    body = assert_ok(agent.post("/ocserv/disconnectAll", {"username": user}))
    assert body["disconnectedCount"] == 1
    assert body["disconnectedSessionIds"] == [c.session_id]
    lab.wait_sessions(user, 0, timeout=5)
    assert_untouched(lab, bystanders)


@pytest.mark.parametrize("name", ["carol", "nosuchuser"])
def test_disconnect_all_without_sessions(agent, lab, bystanders, name):
    body = assert_ok(agent.post("/ocserv/disconnectAll", {"username": name}))
    assert body["username"] == name
    assert body["disconnectedCount"] == 0
    assert body["disconnectedSessionIds"] == []
    assert_untouched(lab, bystanders)


# ---- bad bodies: a precise 400/413, and nothing happens --------------------------------------

BAD_BODIES = [
    b"",
    b"not json",
    b"{",
    b'{"vpnSessionId": 1,}',
    b"[1]",
    b'[{"username": "bob"}]',
    b'"bob"',
    b"42",
    b"null",
    b"{}",
    b'{"vpnSessionId": "12"}',
    b'{"vpnSessionId": 0}',
    b'{"vpnSessionId": -3}',
    b'{"vpnSessionId": 1.5}',
    b'{"vpnSessionId": true}',
    b'{"vpnSessionId": null}',
    b'{"vpnSessionId": 99999999999999999999999}',
    b'{"username": 5}',
    b'{"username": ""}',
    b'{"username": ["bob"]}',
    b'{"username": "-bob"}',
    b'{"username": "bo\\u0001b"}',
    b'{"username": "' + b"a" * 300 + b'"}',
    b'{"user": "bob"}',
    b'{"username": "bob", "force": true}',
    b'{"vpnSessionId": 1, "reason": "x"}',
    b'{"username": " bob"}',
    b'{"username": "bob "}',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: b[:40].decode(errors="replace") or "empty")
def test_disconnect_bad_body_is_400(agent, lab, bystanders, body):
    before = sorted(lab.session_ids())
    assert_error(agent.request("POST", "/ocserv/disconnect", body=body), 400, "BAD_REQUEST")
    assert sorted(lab.session_ids()) == before


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b'"bob"', b"{}", b'{"username": 5}', b'{"username": ""}',
    b'{"username": "-x"}', b'{"vpnSessionId": 12}', b'{"username": null}',
    b'{"username": "bob", "vpnSessionId": 12}', b'{"username": "bob "}',
], ids=lambda b: b[:40].decode(errors="replace") or "empty")
def test_disconnect_all_bad_body_is_400(agent, lab, bystanders, body):
    before = sorted(lab.session_ids())
    assert_error(agent.request("POST", "/ocserv/disconnectAll", body=body), 400, "BAD_REQUEST")
    assert sorted(lab.session_ids()) == before


@pytest.mark.parametrize("path", ["/ocserv/disconnect", "/ocserv/disconnectAll"])
def test_body_over_64k_is_413(agent, lab, bystanders, path):
    before = sorted(lab.session_ids())
    big = json.dumps({"username": "bob", "pad": "x" * (70 * 1024)}).encode()
    assert len(big) > 64 * 1024
    assert_error(agent.request("POST", path, body=big), 413, "PAYLOAD_TOO_LARGE")
    assert sorted(lab.session_ids()) == before
    assert_untouched(lab, bystanders)
    # The agent is still fine afterwards.
    assert_ok(agent.get("/ocserv/health"))


def test_body_just_under_64k_is_not_413(agent, lab, bystanders):
    """A body within the limit is parsed (here: valid JSON, not-found user)."""
    body = json.dumps({"username": "nosuchuser", "pad": "x" * (60 * 1024)}).encode()
    assert len(body) < 64 * 1024
    resp = agent.request("POST", "/ocserv/disconnect", body=body)
    assert resp.status in (200, 400), resp
    assert resp.status != 413
