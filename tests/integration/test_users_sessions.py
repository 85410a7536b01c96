"""GET /ocserv/users/{username} (one user's sessions) and GET /ocserv/sessions/{vpnSessionId}
(one session in detail) against real sessions, compared with occtl `show user` / `show id`."""

import pytest

from helpers import assert_error, assert_ok
from lab import wait_until
from test_sessions import SESSION_KEYS, VOLATILE, check_against_occtl

DETAIL_KEYS = {
    "noRoutes", "iroutes", "nbns", "splitDnsDomains", "restrictedToRoutes", "restrictedToPorts",
    "keepalive", "dpd", "hostname",
}
CAROL_CONF = (
    "iroute = 192.168.200.0/255.255.255.0\n"
    "iroute = 192.168.201.0/24\n"
    "route = 10.20.0.0/255.255.0.0\n"
    "no-route = 10.20.5.0/255.255.255.0\n"
    "nbns = 192.168.50.10\n"
    "keepalive = 111\n"
    "dpd = 77\n"
)


@pytest.fixture(scope="module")
def state(lab):
    """alice x1, bob (staff) x2, carol x1 (with a per-user file), dave has no session."""
    lab.add_user("dave", "dave-pw")
    lab.user_config("carol", CAROL_CONF)
    clients = {"alice": lab.connect("alice", 1), "bob": lab.connect("bob", 2),
               "carol": lab.connect("carol", 1)}
    yield {"clients": clients, "ids": {u: lab.session_ids(u) for u in clients}}
    lab.user_config("carol", None)


def stable(s):
    return {k: v for k, v in s.items() if k not in VOLATILE}


# ---- GET /ocserv/users/{username} ----------------------------------------------------------

@pytest.mark.parametrize("user", ["alice", "bob", "carol"])
def test_user_sessions_match_occtl(agent, lab, state, user):
    body = assert_ok(agent.get(f"/ocserv/users/{user}"))
    assert body["username"] == user
    occ = lab.occtl_json("show", "user", user)
    assert body["count"] == len(body["sessions"]) == len(occ) == len(state["ids"][user])
    assert sorted(s["vpnSessionId"] for s in body["sessions"]) == sorted(state["ids"][user])
    occ_by = {u["ID"]: u for u in occ}
    for s in body["sessions"]:
        check_against_occtl(s, occ_by[s["vpnSessionId"]])
    # the same objects as in the full list
    listed = {s["vpnSessionId"]: s for s in assert_ok(agent.get("/ocserv/sessions"))["sessions"]}
    for s in body["sessions"]:
        assert stable(s) == stable(listed[s["vpnSessionId"]])


@pytest.mark.parametrize("user", ["dave", "nosuchuser", "a" * 63, "Alice"])
def test_user_without_sessions_is_empty(agent, state, user):
    body = assert_ok(agent.get(f"/ocserv/users/{user}"))
    assert body["username"] == user
    assert body["sessions"] == [] and body["count"] == 0


def test_user_path_is_percent_decoded(agent, state):
    body = assert_ok(agent.get("/ocserv/users/al%69ce"))
    assert body["username"] == "alice"
    assert [s["vpnSessionId"] for s in body["sessions"]] == state["ids"]["alice"]
    assert assert_ok(agent.get("/ocserv/users/%62%6F%62"))["count"] == 2


def test_user_excludes_preauth(agent, lab, state):
    tls = lab.open_preauth()
    try:
        body = assert_ok(agent.get("/ocserv/users/%28none%29"))  # "(none)", occtl's placeholder
        assert body["count"] == 0 and body["sessions"] == []
    finally:
        tls.close()


def test_user_tracks_disconnects(agent, lab, state):
    c = lab.connect_one("dave")
    body = assert_ok(agent.get("/ocserv/users/dave"))
    assert [s["vpnSessionId"] for s in body["sessions"]] == [c.session_id]
    lab.kill_clients("dave")
    lab.wait_sessions("dave", 0, timeout=10)
    assert assert_ok(agent.get("/ocserv/users/dave"))["count"] == 0


@pytest.mark.parametrize("name", [
    "-x", "--help", "a%20%20b", "%20alice", "alice%20", "a" * 64, "a" * 300, "%01", "bo%01b",
    "bob%0A", "bob%00", "%00", "bob%7F", "al%FFice",
])
def test_user_bad_name_is_400(agent, state, name):
    assert_error(agent.get(f"/ocserv/users/{name}"), 400, "BAD_REQUEST")


def test_users_need_auth(agent, state):
    assert_error(agent.get("/ocserv/users/alice", token=None), 401, "UNAUTHORIZED")
    assert_error(agent.get("/ocserv/sessions/1", token="wrong"), 401, "UNAUTHORIZED")


# ---- GET /ocserv/sessions/{vpnSessionId} ----------------------------------------------------

def check_detail(s, u):
    """The detail members against occtl's `show id` object."""
    assert set(s) >= SESSION_KEYS | DETAIL_KEYS, (SESSION_KEYS | DETAIL_KEYS) - set(s)
    check_against_occtl(s, u)
    assert s["noRoutes"] == u["No-routes"]
    assert s["iroutes"] == u["iRoutes"]
    assert s["nbns"] == u["NBNS"]
    assert s["splitDnsDomains"] == u["Split-DNS-Domains"]
    assert s["restrictedToRoutes"] is {"True": True, "False": False}[u["Restricted to routes"]]
    assert s["restrictedToPorts"] == u["Restricted to ports"]
    for k in ("keepalive", "dpd"):
        assert isinstance(s[k], int) and not isinstance(s[k], bool), (k, s[k])
    assert s["keepalive"] == int(u["KeepAlive"])
    assert s["dpd"] == int(u["DPD"])
    assert s["hostname"] == u["Hostname"]


def test_session_detail_with_per_user_config(agent, lab, state):
    sid = state["ids"]["carol"][0]
    body = assert_ok(agent.get(f"/ocserv/sessions/{sid}"))
    s = body["session"]
    u = lab.occtl_json("show", "id", str(sid))[0]
    check_detail(s, u)
    assert s["vpnSessionId"] == sid and s["username"] == "carol"
    assert s["iroutes"] == ["192.168.200.0/255.255.255.0", "192.168.201.0/255.255.255.0"]
    assert s["noRoutes"] == ["10.20.5.0/255.255.255.0"]
    assert s["routes"] == ["10.20.0.0/255.255.0.0"]
    assert s["nbns"] == ["192.168.50.10"]
    assert s["keepalive"] == 111 and s["dpd"] == 77
    assert s["restrictedToRoutes"] is False and s["restrictedToPorts"] == []
    assert isinstance(s["hostname"], str) and s["hostname"]


def test_session_detail_defaults(agent, lab, state):
    sid = state["ids"]["alice"][0]
    s = assert_ok(agent.get(f"/ocserv/sessions/{sid}"))["session"]
    check_detail(s, lab.occtl_json("show", "id", str(sid))[0])
    assert s["iroutes"] == [] and s["noRoutes"] == [] and s["nbns"] == []
    assert s["keepalive"] == 32400 and s["dpd"] == 90     # the lab's ocserv.conf
    # alice has no routes: occtl's duplicate "Routes": [] / "defaultroute" must not leak
    assert s["routes"] == [] or s["routes"] == ["defaultroute"], s["routes"]
    # its v1 members are those of GET /ocserv/session
    v1 = assert_ok(agent.get(f"/ocserv/session?vpnSessionId={sid}"))["session"]
    assert {k: v for k, v in stable(s).items() if k in v1} == stable(v1)


def test_session_detail_of_a_group_member(agent, lab, state):
    for sid in state["ids"]["bob"]:
        s = assert_ok(agent.get(f"/ocserv/sessions/{sid}"))["session"]
        check_detail(s, lab.occtl_json("show", "id", str(sid))[0])
        assert s["groupname"] == "staff"
        assert s["routes"] == ["192.168.50.0/255.255.255.0"] and s["dns"] == ["192.168.50.53"]


@pytest.mark.parametrize("sid", ["999999", "2147483647", "1"])
def test_session_detail_absent_is_404(agent, lab, state, sid):
    assert int(sid) not in lab.session_ids()
    assert_error(agent.get(f"/ocserv/sessions/{sid}"), 404, "NOT_FOUND")


def test_session_detail_gone_after_disconnect(agent, lab, state):
    c = lab.connect_one("dave")
    assert assert_ok(agent.get(f"/ocserv/sessions/{c.session_id}"))["session"]["username"] == "dave"
    lab.kill_clients("dave")
    lab.wait_sessions("dave", 0, timeout=10)
    assert_error(agent.get(f"/ocserv/sessions/{c.session_id}"), 404, "NOT_FOUND")


def test_session_detail_preauth_is_404(agent, lab, state):
    tls = lab.open_preauth()
    try:
        pre = wait_until(lambda: [u for u in (lab.occtl_json("show", "users") or [])
                                  if u.get("State") == "pre-auth"], 5, what="a pre-auth entry")
        assert_error(agent.get(f"/ocserv/sessions/{pre[0]['ID']}"), 404, "NOT_FOUND")
    finally:
        tls.close()


@pytest.mark.parametrize("sid", ["0", "-1", "abc", "2147483648", "99999999999999999999", "1.5",
                                 "0x10", "%2012", "12%20", "+12", "12abc", "%00"])
def test_session_detail_bad_id_is_400(agent, state, sid):
    assert_error(agent.get("/ocserv/sessions/" + sid), 400, "BAD_REQUEST")


def test_sessions_list_route_unchanged(agent, state):
    """/ocserv/sessions (no id) is still the whole list beside /ocserv/sessions/{id}."""
    body = assert_ok(agent.get("/ocserv/sessions"))
    assert body["count"] == 4
    assert sorted(s["username"] for s in body["sessions"]) == ["alice", "bob", "bob", "carol"]
