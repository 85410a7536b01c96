"""GET /ocserv/status, /ocserv/sessions and /ocserv/session against real sessions, compared with
what occtl itself reports for the same state."""

import datetime
import threading
import time
import urllib.parse

import pytest

from helpers import ISO_MS_RE, assert_error, assert_ok
from lab import wait_until

SESSION_KEYS = {
    "vpnSessionId", "username", "groupname", "clientIp", "ip", "device", "status", "vhost",
    "remoteIp", "localDeviceIp", "p2pIpv4", "ipv6", "connectedAt", "rawConnectedAt",
    "sinceSeconds", "rxBytes", "txBytes", "avgRx", "avgTx", "userAgent", "session",
    "fullSession", "tlsCiphersuite", "dtlsCipher", "mtu", "dns", "routes", "rawLine",
}
# Values that move while a session is up (traffic counters, elapsed time).
VOLATILE = {"sinceSeconds", "rxBytes", "txBytes", "avgRx", "avgTx"}
MATCH_KEYS = {"vpnSessionId", "username", "ip", "clientIp", "device", "status"}


@pytest.fixture(scope="module")
def state(lab):
    """alice x1, bob (group staff) x2, carol x1; dave exists but has no session."""
    lab.add_user("dave", "dave-pw")
    clients = {
        "alice": lab.connect("alice", 1),
        "bob": lab.connect("bob", 2),
        "carol": lab.connect("carol", 1),
    }
    ids = {u: lab.session_ids(u) for u in clients}
    assert len(ids["bob"]) == 2 and len(ids["alice"]) == 1 and len(ids["carol"]) == 1
    return {"clients": clients, "ids": ids}


def q(params):
    return "/ocserv/session?" + urllib.parse.urlencode(params)


def check_against_occtl(s, u):
    """One agent session object against occtl's own JSON object for it."""
    assert set(s) >= SESSION_KEYS, SESSION_KEYS - set(s)
    assert s["vpnSessionId"] == u["ID"] and isinstance(s["vpnSessionId"], int)
    assert s["username"] == u["Username"]
    if u["Groupname"] == "(none)":
        assert s["groupname"] is None, s["groupname"]  # occtl's placeholder, not a group
    else:
        assert s["groupname"] == u["Groupname"]
    assert s["clientIp"] == u["Remote IP"] == "127.0.0.1"
    assert s["ip"] == u["IPv4"]
    assert s["ip"].startswith("192.168.99.")
    assert s["device"] == u["Device"]
    assert s["status"] == u["State"] == "connected"
    assert s["vhost"] == u["vhost"]
    assert s["remoteIp"] in (u["Remote IP"], u["P-t-P IPv4"]), s["remoteIp"]
    assert s["localDeviceIp"] == u["Local Device IP"]
    assert s["p2pIpv4"] == u["P-t-P IPv4"]
    # This ocserv prints no IPv6 (no IPv6 pool) and 1.1.6 has no raw_connected_at: null, not guessed.
    assert s["ipv6"] == u.get("IPv6")
    assert s["rawConnectedAt"] == u.get("raw_connected_at")
    # 1.4.1 renamed occtl's "Connected at" to "Last connected at" (OA_OCSERV_VERSION=1.5.0).
    assert s["connectedAt"] == u.get("Connected at", u.get("Last connected at")), u
    assert s["sinceSeconds"] is None or (isinstance(s["sinceSeconds"], int) and 0 <= s["sinceSeconds"] < 3600)
    for k in ("rxBytes", "txBytes"):
        assert isinstance(s[k], int) and not isinstance(s[k], bool) and s[k] >= 0, (k, s[k])
    assert s["userAgent"] == u["User-Agent"]
    assert "AnyConnect" in s["userAgent"]
    assert s["session"] == u["Session"]
    assert s["fullSession"] == u["Full session"]
    assert s["tlsCiphersuite"] == u["TLS ciphersuite"]
    assert s["dtlsCipher"] == u["DTLS cipher"]
    assert str(s["mtu"]) == str(u["MTU"])
    assert isinstance(s["dns"], list) and s["dns"] == u["DNS"]
    assert isinstance(s["routes"], list)
    if u["Username"] == "bob":
        assert s["routes"] == ["192.168.50.0/255.255.255.0"]
        assert s["dns"] == ["192.168.50.53"]
    assert s["rawLine"] is None


def stable(s):
    return {k: v for k, v in s.items() if k not in VOLATILE}


# ---- /ocserv/status -------------------------------------------------------------------------

def test_status_matches_occtl(agent, lab, state):
    body = assert_ok(agent.get("/ocserv/status"))
    st = body["status"]
    occ = lab.status_json()
    assert st["status"] == "online"
    assert st["serverPid"] == lab.pid == occ["Server PID"]
    assert st["secModPid"] == occ["Sec-mod PID"]
    assert st["activeSessions"] == occ["Active sessions"] == 4
    assert st["rawUpSince"] == occ["raw_up_since"]
    # upSince: normalised to ISO-8601 UTC from raw_up_since (occtl prints local minutes).
    assert ISO_MS_RE.match(st["upSince"]), st["upSince"]
    iso = datetime.datetime.fromtimestamp(occ["raw_up_since"], datetime.timezone.utc)
    assert st["upSince"] == iso.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert st["totalSessions"] == occ["Total sessions"]
    assert st["sessionsHandled"] == occ["Sessions handled"]
    assert st["ipsInBanList"] == occ["IPs in ban list"]
    assert st["rxBytes"] == occ["raw_rx"] and st["txBytes"] == occ["raw_tx"]
    assert abs(st["uptimeSeconds"] - occ["uptime"]) <= 3
    for k in ("uptimeSeconds", "activeSessions", "totalSessions", "totalAuthFailures", "authFailures",
              "ipsInBanList", "rxBytes", "txBytes", "sessionsHandled", "timedOutSessions",
              "timedOutIdleSessions", "closedDueToErrorSessions", "avgAuthTimeSeconds",
              "maxAuthTimeSeconds", "avgSessionTimeSeconds", "maxSessionTimeSeconds", "serverPid",
              "secModPid", "rawUpSince"):
        assert isinstance(st[k], (int, float)) and not isinstance(st[k], bool), (k, st[k])
        assert st[k] >= 0, (k, st[k])


# ---- /ocserv/sessions -----------------------------------------------------------------------

def test_sessions_match_occtl(agent, lab, state):
    body = assert_ok(agent.get("/ocserv/sessions"))
    occ = lab.users_json()
    sessions = body["sessions"]
    assert body["count"] == len(sessions) == len(occ) == 4
    # occtl's order, id by id.
    assert [s["vpnSessionId"] for s in sessions] == [u["ID"] for u in occ]
    for s, u in zip(sessions, occ):
        check_against_occtl(s, u)
    assert sorted(s["username"] for s in sessions) == ["alice", "bob", "bob", "carol"]
    assert len({s["ip"] for s in sessions}) == 4
    assert len({s["device"] for s in sessions}) == 4


def test_sessions_track_connects_and_disconnects(agent, lab, state):
    c = lab.connect_one("dave")
    try:
        body = assert_ok(agent.get("/ocserv/sessions"))
        assert body["count"] == 5
        assert c.session_id in [s["vpnSessionId"] for s in body["sessions"]]
    finally:
        c.kill()
        lab.wait_sessions("dave", 0, timeout=10)
    body = assert_ok(agent.get("/ocserv/sessions"))
    assert body["count"] == 4
    assert c.session_id not in [s["vpnSessionId"] for s in body["sessions"]]


def test_sessions_exclude_unauthenticated(agent, lab, state):
    """A client stuck at the password prompt is in occtl's list as '(none)'/pre-auth: no session."""
    tls = lab.open_preauth()
    try:
        def preauth_listed():
            raw = lab.occtl_json("show", "users") or []
            return [u for u in raw if u.get("State") == "pre-auth" and u.get("Username") == "(none)"]

        pre = wait_until(preauth_listed, 5, what="occtl to list the pre-auth connection")
        body = assert_ok(agent.get("/ocserv/sessions"))
        assert body["count"] == 4
        ids = [s["vpnSessionId"] for s in body["sessions"]]
        assert pre[0]["ID"] not in ids
        assert all(s["username"] not in (None, "", "(none)") for s in body["sessions"])
        # and it is no match for a lookup by its id either
        assert assert_ok(agent.get(q({"vpnSessionId": pre[0]["ID"]})))["session"] is None
    finally:
        tls.close()


# ---- /ocserv/session ------------------------------------------------------------------------

def test_session_by_id(agent, lab, state):
    alice_id = state["ids"]["alice"][0]
    body = assert_ok(agent.get(q({"vpnSessionId": alice_id})))
    s = body["session"]
    occ = {u["ID"]: u for u in lab.users_json()}
    check_against_occtl(s, occ[alice_id])
    listed = {x["vpnSessionId"]: x for x in agent.get("/ocserv/sessions").json()["sessions"]}
    assert stable(listed[alice_id]) == stable(s)


def test_session_by_username(agent, lab, state):
    body = assert_ok(agent.get(q({"username": "carol"})))
    assert body["session"]["username"] == "carol"
    assert body["session"]["vpnSessionId"] == state["ids"]["carol"][0]
    check_against_occtl(body["session"], {u["ID"]: u for u in lab.users_json()}[state["ids"]["carol"][0]])


def test_session_id_wins_over_username(agent, state):
    alice_id = state["ids"]["alice"][0]
    body = assert_ok(agent.get(q({"vpnSessionId": alice_id, "username": "carol"})))
    assert body["session"]["vpnSessionId"] == alice_id
    assert body["session"]["username"] == "alice"
    # ...and with an id that matches nothing, the username is not used as a fallback.
    body = assert_ok(agent.get(q({"vpnSessionId": 999999, "username": "carol"})))
    assert body["session"] is None


@pytest.mark.parametrize("params", [
    {"vpnSessionId": 999999},
    {"username": "nosuchuser"},
    {"username": "dave"},          # a known user with no session
    {"username": "a" * 63},
])
def test_session_not_found_is_null(agent, state, params):
    body = assert_ok(agent.get(q(params)))
    assert "session" in body and body["session"] is None, body


def test_session_multiple_is_409_with_matches(agent, lab, state):
    resp = agent.get(q({"username": "bob"}))
    body = assert_error(resp, 409, "MULTIPLE_SESSIONS")
    matches = body["matches"]
    assert sorted(m["vpnSessionId"] for m in matches) == sorted(state["ids"]["bob"])
    occ = {u["ID"]: u for u in lab.users_json()}
    for m in matches:
        assert set(m) >= MATCH_KEYS, m
        u = occ[m["vpnSessionId"]]
        assert m["username"] == "bob"
        assert m["ip"] == u["IPv4"]
        assert m["clientIp"] == u["Remote IP"]
        assert m["device"] == u["Device"]
        assert m["status"] == u["State"]


@pytest.mark.parametrize("query", [
    "",
    "?",
    "?vpnSessionId=",
    "?vpnSessionId=0",
    "?vpnSessionId=-1",
    "?vpnSessionId=abc",
    "?vpnSessionId=1.5",
    "?vpnSessionId=12abc",
    "?vpnSessionId=%2012",
    "?vpnSessionId=0x10",
    "?vpnSessionId=99999999999999999999",
    "?vpnSessionId=-99999999999999999999",
    "?username=",
    "?username=" + "a" * 300,
    "?username=-bob",
    "?username=%20alice",
    "?username=alice%20",
    "?username=al%20%20ice",
    "?username=--help",
    "?username=bo%01b",
    "?username=bob%0A",
    "?username=bob%00x",
    "?other=1",
])
def test_session_bad_query_is_400(agent, state, query):
    assert_error(agent.get("/ocserv/session" + query), 400, "BAD_REQUEST")


# ---- concurrency ----------------------------------------------------------------------------

def test_concurrent_sessions_requests(agent, lab, state):
    expected = [u["ID"] for u in lab.users_json()]
    results, errors = [], []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            try:
                r = agent.get("/ocserv/sessions", timeout=30)
                with lock:
                    results.append(r)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - t0
    assert not errors, errors[:5]
    assert len(results) == 320
    for r in results:
        body = assert_ok(r)
        assert [s["vpnSessionId"] for s in body["sessions"]] == expected
        assert body["count"] == len(expected)
    ids = [r.header("X-Request-Id") for r in results]
    assert len(set(ids)) == 320, "request ids are not unique"
    assert elapsed < 60, elapsed
