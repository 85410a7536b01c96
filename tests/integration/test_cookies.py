"""GET /ocserv/cookies and /ocserv/cookies/{sid}: ocserv's session cookies (occtl `show sessions
all|valid`, `show session SID`) for live, killed-but-resumable, never-used and failed logins,
compared with occtl; plus the lab facts the terminate feature rests on (a killed client's cookie
still resumes; a disconnected live session's cookie does not)."""

import datetime
import re
import signal
import time
import urllib.parse

import pytest

from helpers import ISO_MS_RE, assert_error, assert_ok
from lab import wait_until

COOKIE_KEYS = {
    "sessionId", "fullSessionId", "created", "createdEpoch", "expires", "expiresEpoch", "state",
    "username", "groupname", "vhost", "userAgent", "remoteIp", "sessionIsOpen", "tlsAuthOk",
    "inUse", "resumable",
}
FULL_RE = re.compile(r"^[A-Za-z0-9+/]{27}=$")


@pytest.fixture(scope="module")
def state(lab):
    """alice: live (resumed from a cookie); bob: live (password); dave: cookie of a SIGKILLed
    client (resumable); erin: --authenticate only (never used); carol: one wrong password."""
    for u in ("dave", "erin", "fred", "gail", "hank"):
        lab.add_user(u)
    cookies = {"alice": lab.login_cookie("alice")}
    alice = lab.connect_cookie("alice", cookies["alice"])
    bob = lab.connect_one("bob")
    cookies["dave"] = lab.login_cookie("dave")
    dave = lab.connect_cookie("dave", cookies["dave"])
    dave.kill(signal.SIGKILL)
    lab.forget_client(dave)
    lab.wait_sessions("dave", 0, timeout=10)
    cookies["erin"] = lab.login_cookie("erin")
    rc, _, out = lab.authenticate("carol", "wrong-password")
    assert rc != 0, out
    return {"cookies": cookies, "alice": alice, "bob": bob, "dave": dave}


def cpath(sid):
    """/ocserv/cookies/{sid}: short ids are the first 6 characters of the full one and may hold
    '/' or '+' too, so always percent-encode."""
    return "/ocserv/cookies/" + urllib.parse.quote(sid, safe="")


def by_full(entries, key):
    return {e[key]: e for e in entries}


def occ_of(lab, user):
    found = [c for c in lab.cookies_occtl() if c["Username"] == user]
    assert len(found) == 1, found
    return found[0]


def check_cookie(c, o):
    """One agent cookie object against occtl's object for the same cookie."""
    assert set(c) >= COOKIE_KEYS, COOKIE_KEYS - set(c)
    assert c["sessionId"] == o["Session"] and len(c["sessionId"]) == 6
    assert c["fullSessionId"] == o["Full session"] and FULL_RE.match(c["fullSessionId"])
    assert c["fullSessionId"].startswith(c["sessionId"])
    assert c["state"] == o["State"]
    assert c["username"] == o["Username"]
    assert c["groupname"] == (None if o["Groupname"] == "(none)" else o["Groupname"])
    assert c["vhost"] == o["vhost"]
    assert c["userAgent"] == o["User-Agent"]
    assert c["remoteIp"] == o["Remote IP"]
    for k, ok in (("sessionIsOpen", "session_is_open"), ("tlsAuthOk", "tls_auth_ok"),
                  ("inUse", "in_use")):
        assert c[k] is bool(o[ok]), (k, c[k], o[ok])
    assert isinstance(c["resumable"], bool)
    # created: ISO UTC and epoch agree; occtl prints the local minute
    assert isinstance(c["createdEpoch"], int) and not isinstance(c["createdEpoch"], bool)
    assert abs(c["createdEpoch"] - time.time()) < 3600, c
    assert ISO_MS_RE.match(c["created"]), c["created"]
    iso = datetime.datetime.fromtimestamp(c["createdEpoch"], datetime.timezone.utc)
    assert c["created"].startswith(iso.strftime("%Y-%m-%dT%H:%M:%S")), c
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(c["createdEpoch"])) == o["Created"]
    if "Expires" in o:
        assert isinstance(c["expiresEpoch"], int) and ISO_MS_RE.match(c["expires"]), c
        iso = datetime.datetime.fromtimestamp(c["expiresEpoch"], datetime.timezone.utc)
        assert c["expires"].startswith(iso.strftime("%Y-%m-%dT%H:%M:%S")), c
        assert time.strftime("%Y-%m-%d %H:%M", time.localtime(c["expiresEpoch"])) == o["Expires"]
    else:
        assert c["expires"] is None and c["expiresEpoch"] is None, c


def agent_cookie(agent, user):
    body = assert_ok(agent.get("/ocserv/cookies"))
    found = [c for c in body["cookies"] if c["username"] == user]
    assert len(found) == 1, body
    return found[0]


# ---- the list --------------------------------------------------------------------------------

def test_cookies_match_occtl(agent, lab, state):
    body = assert_ok(agent.get("/ocserv/cookies"))
    occ = lab.cookies_occtl("all")
    assert body["count"] == len(body["cookies"]) == len(occ)
    assert len(occ) >= 5
    agent_by = by_full(body["cookies"], "fullSessionId")
    occ_by = by_full(occ, "Full session")
    assert set(agent_by) == set(occ_by)
    for full, o in occ_by.items():
        check_cookie(agent_by[full], o)
    users = {c["username"] for c in body["cookies"]}
    assert {"alice", "bob", "dave", "erin", "carol"} <= users


def test_live_session_cookie(agent, lab, state):
    c = agent_cookie(agent, "alice")
    o = occ_of(lab, "alice")
    check_cookie(c, o)
    assert c["state"] == "authenticated"
    assert c["inUse"] is True and c["sessionIsOpen"] is True
    assert c["expires"] is None            # no expiry while a session uses it
    assert c["resumable"] is False         # in use: nothing to resume
    # the same session id as occtl's view of the VPN session
    u = {x["ID"]: x for x in lab.users_json()}[state["alice"].session_id]
    assert c["fullSessionId"] == u["Full session"] and c["sessionId"] == u["Session"]
    assert c["groupname"] is None
    assert agent_cookie(agent, "bob")["groupname"] == "staff"


def test_killed_client_cookie_is_resumable(agent, lab, state):
    c = agent_cookie(agent, "dave")
    o = occ_of(lab, "dave")
    check_cookie(c, o)
    # ocserv (1.1.6, 1.3.0, 1.5.0) keeps session_is_open 1 here: in_use 0 and an expiry are
    # what tell a resumable cookie (test_killed_client_resumes_with_its_cookie resumes one)
    assert o["in_use"] == 0 and "Expires" in o, o
    assert c["state"] == "authenticated" and c["inUse"] is False
    assert c["expiresEpoch"] > time.time() - 60
    assert c["resumable"] is True, (c, o)


def test_unused_cookie_is_resumable(agent, lab, state):
    """--authenticate only: authenticated, no session ever opened on it, an expiry set."""
    c = agent_cookie(agent, "erin")
    o = occ_of(lab, "erin")
    check_cookie(c, o)
    assert o["session_is_open"] == 0 and o["in_use"] == 0
    assert c["sessionIsOpen"] is False and c["inUse"] is False
    assert c["resumable"] is True


def test_failed_login_cookie_is_not_resumable(agent, lab, state):
    body = assert_ok(agent.get("/ocserv/cookies"))
    failed = [c for c in body["cookies"] if c["username"] == "carol"]
    assert failed, body
    for c in failed:
        assert c["state"] != "authenticated", c
        assert c["resumable"] is False, c


def test_valid_filter(agent, lab, state):
    valid = assert_ok(agent.get("/ocserv/cookies?valid=true"))
    occ_valid = lab.cookies_occtl("valid")
    assert valid["count"] == len(valid["cookies"]) == len(occ_valid)
    assert {c["fullSessionId"] for c in valid["cookies"]} == {o["Full session"] for o in occ_valid}
    allc = assert_ok(agent.get("/ocserv/cookies"))
    failed = {c["fullSessionId"] for c in allc["cookies"] if c["username"] == "carol"}
    assert failed and not failed & {c["fullSessionId"] for c in valid["cookies"]}
    invalid = assert_ok(agent.get("/ocserv/cookies?valid=false"))
    assert invalid["count"] == len(invalid["cookies"])
    got = {c["fullSessionId"] for c in invalid["cookies"]}
    assert failed <= got                       # the failed login is not valid
    assert got <= {c["fullSessionId"] for c in allc["cookies"]}


@pytest.mark.parametrize("query", ["valid=yes", "valid=1", "valid=TRUE", "valid=truex",
                                   "valid=%00"])
def test_bad_valid_is_400(agent, state, query):
    assert_error(agent.get("/ocserv/cookies?" + query), 400, "BAD_REQUEST")


def test_empty_valid_means_absent(agent, state):
    """As for every query argument (v1's ?vpnSessionId= too): empty is not given."""
    empty = assert_ok(agent.get("/ocserv/cookies?valid="))
    every = assert_ok(agent.get("/ocserv/cookies"))
    assert {c["fullSessionId"] for c in empty["cookies"]} == \
        {c["fullSessionId"] for c in every["cookies"]}


# ---- one cookie ----------------------------------------------------------------------------

def test_cookie_by_short_and_full_id(agent, lab, state):
    o = occ_of(lab, "dave")
    short = assert_ok(agent.get(cpath(o["Session"])))["cookie"]
    check_cookie(short, o)
    full = assert_ok(agent.get(cpath(o["Full session"])))
    assert full["cookie"] == short
    listed = agent_cookie(agent, "dave")
    assert listed == short


@pytest.fixture(scope="module")
def special_ids(lab, state):
    """Cookies whose full id holds a '/' or a '+', and whose short id (its first 6 characters)
    does (random: log in until all four turn up; 120 logins miss one about once in 10^4)."""
    want = {"/": None, "+": None, "short/": None, "short+": None}
    for _ in range(120):
        for o in lab.cookies_occtl("all"):
            if o["State"] != "authenticated":
                continue
            for key in want:
                text = o["Session"] if key.startswith("short") else o["Full session"]
                if want[key] is None and key[-1] in text:
                    want[key] = o
        if all(want.values()):
            return want
        lab.login_cookie("hank")
    pytest.fail(f"no session ids with '/' and '+' after 120 logins: {want}")


@pytest.mark.parametrize("ch", ["/", "+"])
def test_cookie_short_id_with_slash_and_plus(agent, lab, special_ids, ch):
    o = special_ids["short" + ch]
    assert ch in o["Session"]
    c = assert_ok(agent.get(cpath(o["Session"])))["cookie"]
    check_cookie(c, o)
    assert c["sessionId"] == o["Session"]


@pytest.mark.parametrize("ch", ["/", "+"])
def test_cookie_full_id_with_slash_and_plus(agent, lab, special_ids, ch):
    o = special_ids[ch]
    encoded = urllib.parse.quote(o["Full session"], safe="")   # '/' -> %2F, '+' -> %2B
    assert ("%2F" if ch == "/" else "%2B") in encoded
    c = assert_ok(agent.get("/ocserv/cookies/" + encoded))["cookie"]
    check_cookie(c, o)
    lower = encoded.replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d")
    assert assert_ok(agent.get("/ocserv/cookies/" + lower))["cookie"] == c
    if ch == "+":  # a raw '+' in a path is a plus, not a space
        raw = urllib.parse.quote(o["Full session"], safe="+")
        assert assert_ok(agent.get("/ocserv/cookies/" + raw))["cookie"] == c


@pytest.mark.parametrize("sid", ["AAAAAA", "zzzzzz", "A" * 27 + "=", "Zm9vYmFy"])
def test_cookie_not_found_is_404(agent, lab, state, sid):
    known = {o["Session"] for o in lab.cookies_occtl()} | {o["Full session"] for o in lab.cookies_occtl()}
    assert sid not in known
    assert_error(agent.get("/ocserv/cookies/" + urllib.parse.quote(sid, safe="")), 404, "NOT_FOUND")


@pytest.mark.parametrize("sid", ["a" * 65, "ab$cd", "ab.cd", "ab%20cd", "%20abcd", "abc%00",
                                 "ab%01cd", "ab%0Acd", "ab%C3%A9cd", "ab%25cd", "ab;cd"])
def test_cookie_bad_id_is_400(agent, state, sid):
    assert_error(agent.get("/ocserv/cookies/" + sid), 400, "BAD_REQUEST")


def test_cookies_need_auth(agent, state):
    assert_error(agent.get("/ocserv/cookies", token=None), 401, "UNAUTHORIZED")
    assert_error(agent.get("/ocserv/cookies/AAAAAA", token="wrong"), 401, "UNAUTHORIZED")


# ---- what terminate is about: resume after a kill works, after a disconnect it does not --------

def test_killed_client_resumes_with_its_cookie(agent, lab, state):
    """Control for test_terminate: a SIGKILLed client comes back with its cookie and no password."""
    cookie = lab.login_cookie("fred")
    c1 = lab.connect_cookie("fred", cookie)
    sid = occ_of(lab, "fred")["Session"]
    c1.kill(signal.SIGKILL)
    lab.forget_client(c1)
    lab.wait_sessions("fred", 0, timeout=10)
    o = occ_of(lab, "fred")          # the cookie outlives the session
    assert o["Session"] == sid and o["State"] == "authenticated" and o["in_use"] == 0
    assert "Expires" in o
    c = assert_ok(agent.get(cpath(sid)))["cookie"]
    assert c["resumable"] is True and c["inUse"] is False
    c2 = lab.connect_cookie("fred", cookie)
    assert c2.session_id != c1.session_id
    assert lab.session_ids("fred") == [c2.session_id]
    assert {u["ID"]: u for u in lab.users_json()}[c2.session_id]["Session"] == sid
    c = assert_ok(agent.get(cpath(sid)))["cookie"]
    assert c["inUse"] is True and c["resumable"] is False and c["expires"] is None
    lab.kill_clients("fred")


def test_disconnected_session_cookie_is_gone(agent, lab, state):
    cookie = lab.login_cookie("gail")
    c1 = lab.connect_cookie("gail", cookie)
    sid = occ_of(lab, "gail")["Session"]
    assert_ok(agent.get(cpath(sid)))
    r = lab.occtl("disconnect", "id", str(c1.session_id))
    assert r.returncode == 0, r
    lab.wait_sessions("gail", 0, timeout=10)
    wait_until(lambda: not [o for o in lab.cookies_occtl() if o["Username"] == "gail"], 10,
               what="gail's cookie to go")
    assert_error(agent.get(cpath(sid)), 404, "NOT_FOUND")
    c2, out = lab.try_connect("gail", cookie=cookie)
    assert c2 is None, "a disconnected session's cookie resumed"
    assert "Cookie" in out, out[-600:]
    assert lab.session_ids("gail") == []
    lab.forget_client(c1)
