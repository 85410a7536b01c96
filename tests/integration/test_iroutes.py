"""GET /ocserv/iroutes: the routes clients announce (per-user `iroute`), compared with occtl
`show iroutes` (which 1.1.6 prints as one invalid object around every session)."""

import pytest

from helpers import assert_error, assert_ok

IROUTE_KEYS = {"vpnSessionId", "username", "vhost", "device", "ip", "iroutes"}
CAROL = ["192.168.200.0/255.255.255.0", "192.168.201.0/255.255.255.0"]


@pytest.fixture(scope="module")
def state(lab):
    """carol has two iroutes (a per-user file), erin one; alice and bob (x2) none."""
    lab.add_user("erin")
    lab.user_config("carol", "iroute = 192.168.200.0/255.255.255.0\niroute = 192.168.201.0/24\n")
    lab.user_config("erin", "iroute = 10.55.0.0/255.255.0.0\n")
    clients = {"alice": lab.connect("alice", 1), "bob": lab.connect("bob", 2),
               "carol": lab.connect("carol", 1), "erin": lab.connect("erin", 1)}
    yield {"clients": clients, "ids": {u: lab.session_ids(u) for u in clients}}
    lab.user_config("carol", None)
    lab.user_config("erin", None)


def check_against_occtl(body, lab):
    occ = lab.iroutes_occtl()
    assert body["count"] == len(body["iroutes"]) == len(occ)
    got = {e["vpnSessionId"]: e for e in body["iroutes"]}
    assert len(got) == len(body["iroutes"]), "a session listed twice"
    assert set(got) == {o["ID"] for o in occ}
    users = {u["ID"]: u for u in lab.users_json()}
    for o in occ:
        e = got[o["ID"]]
        assert set(e) >= IROUTE_KEYS, IROUTE_KEYS - set(e)
        assert isinstance(e["vpnSessionId"], int)
        assert e["username"] == o["Username"]
        assert e["vhost"] == o["vhost"]
        assert e["device"] == o["Device"] == users[o["ID"]]["Device"]
        assert e["ip"] == o["IP"] == users[o["ID"]]["IPv4"]
        assert e["iroutes"] == o["iRoutes"]
    return got


def test_iroutes_match_occtl(agent, lab, state):
    got = check_against_occtl(assert_ok(agent.get("/ocserv/iroutes")), lab)
    carol = state["ids"]["carol"][0]
    assert got[carol]["username"] == "carol"
    assert got[carol]["iroutes"] == CAROL          # "/24" comes back as a netmask
    assert got[state["ids"]["erin"][0]]["iroutes"] == ["10.55.0.0/255.255.0.0"]
    for user in ("alice", "bob"):
        for sid in state["ids"][user]:
            assert got[sid]["iroutes"] == [] and got[sid]["username"] == user


def test_iroutes_agree_with_session_detail(agent, state):
    sid = state["ids"]["carol"][0]
    detail = assert_ok(agent.get(f"/ocserv/sessions/{sid}"))["session"]
    listed = {e["vpnSessionId"]: e for e in assert_ok(agent.get("/ocserv/iroutes"))["iroutes"]}
    assert listed[sid]["iroutes"] == detail["iroutes"] == CAROL
    assert listed[sid]["device"] == detail["device"] and listed[sid]["ip"] == detail["ip"]


def test_iroutes_follow_connects_and_disconnects(agent, lab, state):
    lab.add_user("fay")
    lab.user_config("fay", "iroute = 172.30.0.0/255.255.0.0\n")
    try:
        c = lab.connect_one("fay")
        got = check_against_occtl(assert_ok(agent.get("/ocserv/iroutes")), lab)
        assert got[c.session_id]["iroutes"] == ["172.30.0.0/255.255.0.0"]
        lab.kill_clients("fay")
        lab.wait_sessions("fay", 0, timeout=10)
        got = check_against_occtl(assert_ok(agent.get("/ocserv/iroutes")), lab)
        assert c.session_id not in got
    finally:
        lab.user_config("fay", None)


def test_iroutes_need_auth(agent, state):
    assert_error(agent.get("/ocserv/iroutes", token=None), 401, "UNAUTHORIZED")


def test_iroutes_empty_without_sessions(agent, lab, state):
    """Last in the module: with nobody connected the list is empty (occtl prints nothing)."""
    lab.kill_clients()
    wait = [lab.wait_sessions(u, 0, timeout=10) for u in ("alice", "bob", "carol", "erin")]
    assert wait == [[], [], [], []]
    assert lab.iroutes_occtl() == []
    body = assert_ok(agent.get("/ocserv/iroutes"))
    assert body["iroutes"] == [] and body["count"] == 0
