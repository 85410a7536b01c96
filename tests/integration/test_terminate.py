"""POST /ocserv/terminate: end a user's (or one) VPN session AND keep the client from coming back
with its cookie. ocserv 1.1.6 has no terminate command: a client that was killed (SIGKILL) leaves
a cookie it can resume with, without a password, until cookie-timeout; a plain disconnect does not
touch it. The agent's method there is its connect hook: ocserv's connect-script runs
`ocserv-agent hook --socket SOCK` and the agent refuses a connection that resumes a revoked
cookie. Without the hook the agent must say 501 NOT_SUPPORTED and touch nothing.

Two labs: `hooked` (this module's ocserv, its connect/disconnect-script is the agent's hook) and
the plain conftest `lab` (no hook)."""

import json
import re
import signal

import pytest

from helpers import assert_error, assert_ok
import lab_chroot
from lab import LabError, audit_line, free_port, pid_alive, read_log, start_hooked_lab, wait_until

NOT_FOUND_ID = 999999
# What terminate uses with the hook configured (terminate.h).
METHOD = "native" if lab_chroot.at_least(1, 4, 2) else "hook"


@pytest.fixture(scope="module")
def hooked(netns, agent_bin):
    """The ocserv of OA_OCSERV_VERSION with the agent's hook as its connect-script (a chroot lab
    copies the agent binary and its libraries in). Below 1.4.2 terminate uses the hook; from
    1.4.2 on it is native, with the hook still configured."""
    lab, agent = start_hooked_lab(port=free_port(), network="192.168.96.0", name="term",
                                  lab_factory=lab_chroot.make_lab)
    try:
        for u in ("dave", "erin", "fred", "gus", "hal", "ivy", "jo"):
            lab.add_user(u)
        yield lab, agent
    finally:
        try:
            agent.close()
        finally:
            lab.close()


@pytest.fixture(scope="module")
def hlab(hooked):
    return hooked[0]


@pytest.fixture(scope="module")
def hagent(hooked):
    return hooked[1]


@pytest.fixture(scope="module")
def bystander(hlab):
    """dave, connected by cookie: no terminate of another user may touch him."""
    cookie = hlab.login_cookie("dave")
    c = hlab.connect_cookie("dave", cookie)
    return {"client": c, "cookie": cookie}


def assert_bystander(lab, bystander):
    c = bystander["client"]
    assert c.alive(), c
    assert lab.session_ids("dave") == [c.session_id]


def kill9(lab, client):
    """SIGKILL an openconnect: its session leaves `show users`, its cookie stays resumable."""
    user = client.user
    client.kill(signal.SIGKILL)
    lab.forget_client(client)
    lab.wait_sessions(user, 0, timeout=15)
    cookies = [o for o in lab.cookies_occtl() if o["Username"] == user and o["in_use"] == 0
               and o["State"] == "authenticated"]
    assert cookies and all("Expires" in o for o in cookies), lab.cookies_occtl()


def resume_refused(lab, user, cookie, timeout=15.0):
    """Try to resume with cookie: True when ocserv refused it (openconnect exits non-zero, or at
    least no session of user appears); a resumed session is killed and False returned."""
    before = set(lab.session_ids(user))
    try:
        c, out = lab.try_connect(user, cookie=cookie, timeout=timeout)
    except LabError:
        c, out = None, "no session appeared"
    if c is not None:
        c.kill()
        lab.forget_client(c)
        return False
    assert set(lab.session_ids(user)) <= before, (user, lab.session_ids(user), out)
    return True


def fresh_login_works(lab, user):
    c = lab.connect_one(user)
    assert c.alive() and lab.session_ids(user) == [c.session_id]
    lab.kill_clients(user)
    lab.wait_sessions(user, 0, timeout=10)
    return True


def check_terminated(entries, expected):
    """terminated: [{vpnSessionId, username, ...}] for exactly the expected {id: username}."""
    assert isinstance(entries, list), entries
    got = {}
    for e in entries:
        assert {"vpnSessionId", "username"} <= set(e), e
        assert isinstance(e["vpnSessionId"], int) and not isinstance(e["vpnSessionId"], bool)
        got[e["vpnSessionId"]] = e["username"]
    assert got == expected, (entries, expected)


def check_audit(agent, resp, *needles):
    line = audit_line(agent, resp)
    assert line is not None, agent.log()[-2000:]
    assert re.search(r"op=\S*terminate", line), line
    for n in needles:
        assert n in line, (n, line)
    assert agent.token not in agent.log()


# ---- the hooked lab itself -------------------------------------------------------------------

def test_hook_runs_on_connect_and_lets_users_in(hlab, hagent, bystander):
    """The connect-script is the agent's hook (it ran for dave) and does not refuse anyone."""
    dave = bystander["client"]
    hook_log = read_log(hlab.dir + "/agent-hook.log")
    assert re.search(rf"\bconnect ID={dave.session_id} USERNAME=dave\b", hook_log), hook_log
    assert "agent-hook.sh" in open(hlab.conf).read()
    assert fresh_login_works(hlab, "erin")
    wait_until(lambda: " disconnect " in read_log(hlab.dir + "/agent-hook.log"), 10,
               what="the disconnect-script (hook) to run")
    caps = assert_ok(hagent.get("/ocserv/capabilities"))["capabilities"]["terminate"]
    assert caps["supported"] is True and caps["method"] == METHOD, caps
    # The hook has run since the agent started: proof it is live, not only configured.
    assert isinstance(caps["lastHookEventAt"], str) and caps["lastHookEventAt"].endswith("Z"), caps


def test_control_killed_client_resumes_through_the_hook(hlab, hagent, bystander):
    """Without a terminate, a SIGKILLed client resumes with its cookie: the key test below
    would prove nothing if the hook refused every resume."""
    cookie = hlab.login_cookie("fred")
    c1 = hlab.connect_cookie("fred", cookie)
    kill9(hlab, c1)
    c2 = hlab.connect_cookie("fred", cookie)
    assert c2.session_id != c1.session_id and hlab.session_ids("fred") == [c2.session_id]
    hlab.kill_clients("fred")
    assert_bystander(hlab, bystander)


# ---- the key test: a killed client's cookie is revoked --------------------------------------

def test_terminate_user_revokes_a_killed_clients_cookie(hlab, hagent, bystander):
    cookie = hlab.login_cookie("alice")
    c = hlab.connect_cookie("alice", cookie)
    sid = {u["ID"]: u for u in hlab.users_json()}[c.session_id]["Session"]
    kill9(hlab, c)
    listed = [k for k in assert_ok(hagent.get("/ocserv/cookies"))["cookies"] if k["sessionId"] == sid]
    assert len(listed) == 1 and listed[0]["resumable"] is True, listed

    resp = hagent.post("/ocserv/terminate", {"username": "alice"})
    body = assert_ok(resp)
    check_terminated(body["terminated"], {})          # nothing was live
    assert isinstance(body["cookiesRevoked"], int) and body["cookiesRevoked"] >= 1, body
    assert body["method"] == METHOD, body
    check_audit(hagent, resp, "alice")

    # the old cookie no longer gets alice in ...
    assert resume_refused(hlab, "alice", cookie), "the terminated cookie resumed a session"
    assert hlab.session_ids("alice") == []
    # ... but terminate is not a lock: her password still works
    assert fresh_login_works(hlab, "alice")
    assert resume_refused(hlab, "alice", cookie)       # and the old cookie stays dead
    assert_bystander(hlab, bystander)


def test_terminate_session_by_id(hlab, hagent, bystander):
    """A live session: it ends (the client exits) and its cookie cannot bring it back."""
    cookie = hlab.login_cookie("bob")
    c = hlab.connect_cookie("bob", cookie)
    resp = hagent.post("/ocserv/terminate", {"vpnSessionId": c.session_id})
    body = assert_ok(resp)
    check_terminated(body["terminated"], {c.session_id: "bob"})
    assert body["method"] == METHOD
    hlab.wait_sessions("bob", 0, timeout=10)
    wait_until(lambda: not pid_alive(c.pid), 15, what="bob's openconnect to exit")
    hlab.forget_client(c)
    assert resume_refused(hlab, "bob", cookie)
    assert fresh_login_works(hlab, "bob")
    assert_bystander(hlab, bystander)
    check_audit(hagent, resp, str(c.session_id))


def test_terminate_user_with_live_and_killed_sessions(hlab, hagent, bystander):
    old = hlab.login_cookie("carol")
    c_old = hlab.connect_cookie("carol", old)
    kill9(hlab, c_old)
    live = hlab.login_cookie("carol")
    c_live = hlab.connect_cookie("carol", live)
    resp = hagent.post("/ocserv/terminate", {"username": "carol"})
    body = assert_ok(resp)
    check_terminated(body["terminated"], {c_live.session_id: "carol"})
    assert body["cookiesRevoked"] >= 1
    hlab.wait_sessions("carol", 0, timeout=10)
    wait_until(lambda: not pid_alive(c_live.pid), 15, what="carol's openconnect to exit")
    hlab.forget_client(c_live)
    assert resume_refused(hlab, "carol", old)
    assert resume_refused(hlab, "carol", live)
    assert fresh_login_works(hlab, "carol")
    assert_bystander(hlab, bystander)


def test_terminate_user_with_only_an_unused_cookie(hlab, hagent, bystander):
    """--authenticate without connecting: a cookie that was never used still logs in later."""
    cookie = hlab.login_cookie("gus")
    body = assert_ok(hagent.post("/ocserv/terminate", {"username": "gus"}))
    check_terminated(body["terminated"], {})
    assert body["cookiesRevoked"] >= 1
    assert resume_refused(hlab, "gus", cookie)
    assert fresh_login_works(hlab, "gus")


def test_terminate_leaves_other_users_cookies_alone(hlab, hagent, bystander):
    """After all the terminates above dave's session is untouched and his cookie still resumes."""
    assert_bystander(hlab, bystander)
    cookie = hlab.login_cookie("hal")
    c = hlab.connect_cookie("hal", cookie)
    kill9(hlab, c)
    assert_error(hagent.post("/ocserv/terminate", {"username": "ivy"}), 404, "NOT_FOUND")
    c2 = hlab.connect_cookie("hal", cookie)
    assert c2.alive()
    hlab.kill_clients("hal")


# ---- nothing to do, bad requests -------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    {"username": "nosuchuser"},
    {"username": "jo"},              # a known user who never logged in
    {"vpnSessionId": NOT_FOUND_ID},
])
def test_terminate_nothing_is_404(hlab, hagent, bystander, payload):
    before = sorted(hlab.session_ids())
    assert_error(hagent.post("/ocserv/terminate", payload), 404, "NOT_FOUND")
    assert sorted(hlab.session_ids()) == before
    assert_bystander(hlab, bystander)


BAD_BODIES = [
    b"", b"not json", b"{", b"[]", b'"alice"', b"42", b"null", b"{}",
    b'{"username": ""}', b'{"username": 5}', b'{"username": null}', b'{"username": ["alice"]}',
    b'{"username": "-alice"}', b'{"username": " alice"}', b'{"username": "al\\u0001ice"}',
    b'{"username": "' + b"a" * 64 + b'"}',
    b'{"vpnSessionId": 0}', b'{"vpnSessionId": -1}', b'{"vpnSessionId": "12"}',
    b'{"vpnSessionId": 1.5}', b'{"vpnSessionId": true}', b'{"vpnSessionId": 2147483648}',
    b'{"user": "alice"}', b'{"username": "alice", "force": true}',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: b[:40].decode(errors="replace") or "empty")
def test_terminate_bad_body_is_400(hlab, hagent, bystander, body):
    before = sorted(hlab.session_ids())
    assert_error(hagent.request("POST", "/ocserv/terminate", body=body), 400, "BAD_REQUEST")
    assert sorted(hlab.session_ids()) == before
    assert_bystander(hlab, bystander)


def test_terminate_needs_auth_and_post(hagent, bystander):
    assert_error(hagent.post("/ocserv/terminate", {"username": "dave"}, token=None), 401,
                 "UNAUTHORIZED")
    assert_error(hagent.get("/ocserv/terminate"), 405, "METHOD_NOT_ALLOWED")


# ---- without the hook (the conftest lab): 501 and nothing touched --------------------------

@pytest.mark.skipif(lab_chroot.at_least(1, 4, 2), reason="ocserv >= 1.4.2 terminates natively")
@pytest.mark.parametrize("how", ["killed", "unused"])
def test_terminate_without_hook_is_501(lab, agent, how):
    user = f"nohook{how}"
    lab.add_user(user)
    cookie = lab.login_cookie(user)
    if how == "killed":
        kill9(lab, lab.connect_cookie(user, cookie))
    before = [o for o in lab.cookies_occtl() if o["Username"] == user]
    assert "connect-script" not in open(lab.conf).read()
    caps = assert_ok(agent.get("/ocserv/capabilities"))["capabilities"]["terminate"]
    assert caps["supported"] is False and caps["method"] is None, caps
    resp = agent.post("/ocserv/terminate", {"username": user})
    body = assert_error(resp, 501, "NOT_SUPPORTED")
    assert "hook" in json.dumps(body).lower() or "1.4.2" in json.dumps(body), body
    # nothing touched: the cookie is still there and still resumes
    assert [o for o in lab.cookies_occtl() if o["Username"] == user] == before
    c = lab.connect_cookie(user, cookie)
    assert c.alive()
    lab.kill_clients(user)


@pytest.mark.skipif(not lab_chroot.at_least(1, 4, 2), reason="needs ocserv >= 1.4.2 (terminate)")
@pytest.mark.parametrize("how", ["killed", "unused", "live"])
def test_terminate_native(lab, agent, how):
    """ocserv >= 1.4.2 (no hook): `occtl terminate` ends the session and invalidates the cookie."""
    user = f"native{how}"
    lab.add_user(user)
    cookie = lab.login_cookie(user)
    live = None
    if how == "killed":
        kill9(lab, lab.connect_cookie(user, cookie))
    elif how == "live":
        live = lab.connect_cookie(user, cookie)
    caps = assert_ok(agent.get("/ocserv/capabilities"))["capabilities"]["terminate"]
    assert caps["supported"] is True and caps["method"] == "native", caps
    resp = agent.post("/ocserv/terminate", {"username": user})
    body = assert_ok(resp)
    assert body["method"] == "native", body
    check_terminated(body["terminated"], {live.session_id: user} if live else {})
    if live:
        lab.wait_sessions(user, 0, timeout=10)
        wait_until(lambda: not pid_alive(live.pid), 15, what="openconnect to exit")
        lab.forget_client(live)
    else:
        assert body["cookiesRevoked"] >= 1, body
    assert resume_refused(lab, user, cookie)
    assert fresh_login_works(lab, user)
    check_audit(agent, resp, user)
