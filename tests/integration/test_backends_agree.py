"""The native control-socket backend (OCSERV_BACKEND=ctl) and the occtl backend
(OCSERV_BACKEND=occtl) answer every read endpoint the same for one real ocserv with real
sessions, and the write endpoints work through ctl the way they do through occtl.

State: alice (no group, an iroute from her per-user file), bob (group staff: a route and a DNS)
twice, carol, and "jürgen" (a UTF-8 name); a peer namespace (10.77.0.2) banned by wrong
passwords and ban points on 127.0.0.1; every login leaves a cookie.

Where the two differ, occtl is wrong and ctl right: occtl -j prints each byte >= 0x80 of a name
as \\u00ff (1.1.6 .. 1.5.0), so jürgen's name is lost through occtl. Those entries are compared
with the name taken out, and the name itself is checked on ctl's side.

Fields dropped before comparing, and why (each is read at a different moment by the two
agents, one request after the other, so it may move between them):
  sessions: rxBytes, txBytes (the tun counters grow with keepalives/DPD), avgRx, avgTx
            (counters over elapsed time), sinceSeconds (elapsed time);
  status:   uptimeSeconds (elapsed time);
  bans:     expires/expiresEpoch compared to within 2 s (occtl counts down from its own
            second);
  errors:   error.requestId (a new one per request);
  capabilities: ocserv.backend and ocserv.backendInUse (the configured backend: what differs
            by construction).
"""

import copy
import urllib.parse

import pytest

from helpers import assert_error, assert_ok
from lab import Agent, PeerNS, free_port, wait_until
import lab_chroot

PEER = "10.77.0.2"
UTF8_USER = "jürgen"
SESSION_VOLATILE = {"rxBytes", "txBytes", "avgRx", "avgTx", "sinceSeconds"}


@pytest.fixture(scope="module")
def peer(netns):
    p = PeerNS(local_ip="10.77.0.1", peer_ip=PEER).create()
    yield p
    p.destroy()


def connect_utf8(lab, user):
    """lab.connect() waits for occtl to list `user` by name, which occtl never does."""
    before = set(lab.session_ids())
    c, proc = lab._spawn_client(user)
    assert proc.wait(30) == 0, c.log()[-1500:]
    c.pid = wait_until(c.read_pid, 10, what="pid file")
    lab.clients.append(c)
    c.session_id = wait_until(lambda: [i for i in lab.session_ids() if i not in before], 30,
                              what=f"a session of {user}")[0]
    return c


@pytest.fixture(scope="module")
def alab(peer):
    the_lab = lab_chroot.make_lab(port=free_port(), listen_all=True, max_ban_score=20,
                                  min_reauth_time=300, route_add_cmd="/bin/true",
                                  network="192.168.95.0", name="agree")
    try:
        the_lab.user_config("alice", "iroute = 192.168.200.0/255.255.255.0\n")
        the_lab.add_user(UTF8_USER)
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


@pytest.fixture(scope="module")
def state(alab, peer):
    clients = {"alice": alab.connect("alice", 1), "bob": alab.connect("bob", 2),
               "carol": alab.connect("carol", 1), UTF8_USER: [connect_utf8(alab, UTF8_USER)]}
    for _ in range(2):   # 2 x (10 + 1) points over max-ban-score 20: banned
        rc, _, _ = alab.authenticate("bob", "wrong-password", peer=peer)
        assert rc != 0
    alab.authenticate("carol", "wrong-password")   # points on 127.0.0.1 (never enforced)
    return {"clients": clients, "utf8_id": clients[UTF8_USER][0].session_id}


@pytest.fixture(scope="module")
def agents(alab, agent_bin):
    made = {}
    try:
        for backend in ("ctl", "occtl"):
            made[backend] = Agent(lab=alab, env={"OCSERV_BACKEND": backend})
            made[backend].start()
        yield made
    finally:
        for a in made.values():
            a.close()


def get_both(agents, path):
    out = {}
    for backend, a in agents.items():
        resp = a.get(path)
        out[backend] = (resp.status, resp.json())
    return out


def strip_session(s, utf8_id):
    s = {k: v for k, v in s.items() if k not in SESSION_VOLATILE}
    if s.get("vpnSessionId") == utf8_id:
        s.pop("username")   # occtl's defect, checked on its own
    return s


def normalise(body, utf8_id):
    """The body without the fields that may move between the two reads (module docstring)."""
    body = copy.deepcopy(body)
    body.pop("requestId", None)
    if isinstance(body.get("error"), dict):
        body["error"].pop("requestId", None)
    if "sessions" in body:
        body["sessions"] = [strip_session(s, utf8_id) for s in body["sessions"]]
    if isinstance(body.get("session"), dict):
        body["session"] = strip_session(body["session"], utf8_id)
    if isinstance(body.get("status"), dict):
        body["status"].pop("uptimeSeconds", None)
    for key in ("cookies", "iroutes"):
        for e in body.get(key, []):
            if e.get("username") not in ("alice", "bob", "carol", None):
                e.pop("username")   # jürgen, mangled by occtl
    if isinstance(body.get("ocserv"), dict):
        body["ocserv"].pop("backend", None)
        body["ocserv"].pop("backendInUse", None)
    return body


def read_paths(alab, state):
    ids = alab.session_ids()
    cookies = alab.cookies_occtl("all")
    sid = next(c["Session"] for c in cookies if c.get("Username") == "alice")
    full = next(c["Full session"] for c in cookies if c.get("Username") == "bob")
    return ["/ocserv/status", "/ocserv/sessions", "/ocserv/users/alice", "/ocserv/users/bob",
            "/ocserv/users/nosuchuser", f"/ocserv/sessions/{ids[0]}",
            f"/ocserv/sessions/{state['utf8_id']}", "/ocserv/sessions/999999",
            "/ocserv/session?" + urllib.parse.urlencode({"username": "carol"}),
            "/ocserv/cookies", "/ocserv/cookies?valid=true", f"/ocserv/cookies/{sid}",
            "/ocserv/cookies/" + urllib.parse.quote(full, safe=""), "/ocserv/cookies/zzzzzz",
            "/ocserv/iroutes", "/ocserv/bans", "/ocserv/ban-points", "/ocserv/capabilities"]


def test_the_two_agents_use_the_two_backends(agents, state):
    for backend, a in agents.items():
        caps = assert_ok(a.get("/ocserv/capabilities"))
        assert caps["ocserv"]["backend"] == backend
        assert caps["ocserv"]["backendInUse"] == backend


def test_default_backend_is_ctl_as_root(alab, agent_bin):
    """OCSERV_BACKEND unset (auto): the control socket answers root, so ctl serves."""
    a = Agent(lab=alab, env={"OCSERV_BACKEND": None})
    try:
        a.start()
        caps = assert_ok(a.get("/ocserv/capabilities"))
        assert caps["ocserv"]["backend"] == "auto"
        assert caps["ocserv"]["backendInUse"] == "ctl"
    finally:
        a.close()


def test_every_read_endpoint_agrees(alab, agents, state):
    for path in read_paths(alab, state):
        both = get_both(agents, path)
        (cs, cb), (os_, ob) = both["ctl"], both["occtl"]
        assert cs == os_, (path, both)
        if path == "/ocserv/bans":
            for c, o in zip(cb.get("bans", []), ob.get("bans", [])):
                assert abs(c.pop("expiresEpoch") - o.pop("expiresEpoch")) <= 2, (c, o)
                c.pop("expires", None)
                o.pop("expires", None)
        assert normalise(cb, state["utf8_id"]) == normalise(ob, state["utf8_id"]), path


def test_state_is_what_the_lab_made(agents, state):
    """The comparison above is not of two empty answers."""
    a = agents["ctl"]
    sessions = assert_ok(a.get("/ocserv/sessions"))["sessions"]
    assert sorted(s["username"] for s in sessions) == sorted(
        ["alice", "bob", "bob", "carol", UTF8_USER])
    bans = assert_ok(a.get("/ocserv/bans"))["bans"]
    assert [b["ip"] for b in bans] == [PEER]
    points = {b["ip"] for b in assert_ok(a.get("/ocserv/ban-points"))["banPoints"]}
    assert {PEER, "127.0.0.1"} <= points
    iroutes = assert_ok(a.get("/ocserv/iroutes"))["iroutes"]
    assert ["192.168.200.0/255.255.255.0"] in [e["iroutes"] for e in iroutes]
    assert len(assert_ok(a.get("/ocserv/cookies"))["cookies"]) >= 5


def test_utf8_name_right_through_ctl_wrong_through_occtl(agents, state):
    """occtl prints the name's bytes >= 0x80 as \\u00ff: the occtl backend cannot know it."""
    path = f"/ocserv/sessions/{state['utf8_id']}"
    ctl = assert_ok(agents["ctl"].get(path))["session"]
    occ = assert_ok(agents["occtl"].get(path))["session"]
    assert ctl["username"] == UTF8_USER
    assert occ["username"] != UTF8_USER
    # and by name: ctl finds the user, occtl's listing never shows the name
    users = assert_ok(agents["ctl"].get("/ocserv/users/" + urllib.parse.quote(UTF8_USER)))
    assert [s["vpnSessionId"] for s in users["sessions"]] == [state["utf8_id"]]
    names = [s["username"] for s in assert_ok(agents["occtl"].get("/ocserv/sessions"))["sessions"]]
    assert UTF8_USER not in names


def test_writes_through_ctl(alab, agents, state):
    """disconnect by id and by name, unban, a missing target, terminate and reload through ctl,
    each with the answer the occtl backend gives."""
    ctl, occ = agents["ctl"], agents["occtl"]
    # targets that are not there: the same answer from both
    for method, path, body in (("POST", "/ocserv/disconnect", {"vpnSessionId": 999999}),
                               ("POST", "/ocserv/disconnect", {"username": "nosuchuser"}),
                               ("POST", "/ocserv/disconnectAll", {"username": "nosuchuser"}),
                               ("DELETE", "/ocserv/bans/10.9.9.9", None)):
        answers = [a.request(method, path, json_body=body) for a in (ctl, occ)]
        assert answers[0].status == answers[1].status, (path, answers)
        assert (normalise(answers[0].json(), None) == normalise(answers[1].json(), None)), \
            (path, answers)
    assert_error(ctl.request("DELETE", "/ocserv/bans/10.9.9.9"), 404, "NOT_FOUND")
    # by id
    bob_ids = alab.session_ids("bob")
    body = assert_ok(ctl.post("/ocserv/disconnect", {"vpnSessionId": bob_ids[0]}))
    assert body["disconnected"] is True
    alab.wait_sessions("bob", 1, timeout=10)
    # by name (one session)
    assert_ok(ctl.post("/ocserv/disconnect", {"username": "carol"}))
    alab.wait_sessions("carol", 0, timeout=10)
    # unban
    assert_ok(ctl.request("DELETE", f"/ocserv/bans/{PEER}"))
    assert PEER not in [b["IP"] for b in alab.bans_occtl()]
    # once more (ocserv keeps the entry at score 0): whatever ocserv says, both say it
    again = [a.request("DELETE", f"/ocserv/bans/{PEER}") for a in (ctl, occ)]
    assert again[0].status == again[1].status, again
    # terminate: 501 below 1.4.2 without the hook, the same answer as occtl's
    if not lab_chroot.at_least(1, 4, 2):
        rc, rb = [(r.status, r.json()["error"]["code"]) for r in
                  (ctl.post("/ocserv/terminate", {"username": "alice"}),
                   occ.post("/ocserv/terminate", {"username": "alice"}))]
        assert rc == rb == (501, "NOT_SUPPORTED")
        assert alab.session_ids("alice")
    # reload
    pid = alab.pid
    assert assert_ok(ctl.request("POST", "/ocserv/reload"))["reloaded"] is True
    assert alab.pid == pid and alab.session_ids("alice")
