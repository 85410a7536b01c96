"""GET /ocserv/bans, GET /ocserv/ban-points and DELETE /ocserv/bans/{ip} against a real ban.

ocserv never enforces a ban on an address of its own subnets (and only lists bans on 127/8), so
the client here runs in a second network namespace joined by a veth pair: it connects from
10.77.0.2 to 10.77.0.1. With max-ban-score = 20 two wrong passwords (10 points each, plus 1 per
connection) ban it for min-reauth-time (300 s; 1.1.6 ignores ban-time); then even the right
password is refused until the address is unbanned.
"""

import time
import urllib.parse

import pytest

from helpers import ISO_MS_RE, assert_error, assert_ok
from lab import Agent, PeerNS, audit_line, free_port, wait_until
from lab_chroot import make_lab

PEER = "10.77.0.2"
MAX_BAN_SCORE = 20
BAN_SECONDS = 300


@pytest.fixture(scope="module")
def peer(netns):
    p = PeerNS(local_ip="10.77.0.1", peer_ip=PEER).create()
    yield p
    p.destroy()


@pytest.fixture(scope="module")
def banlab(peer):
    """ocserv listening on every address (so on 10.77.0.1 too), banning at score 20 (the ocserv
    version under test: OA_OCSERV_VERSION)."""
    the_lab = make_lab(port=free_port(), listen_all=True, max_ban_score=MAX_BAN_SCORE,
                  min_reauth_time=BAN_SECONDS, network="192.168.97.0", name="bans")
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()
        # nothing of ours may outlive the module in the peer namespace either
        assert not [p for p in peer.pids() if p], "processes left in the peer namespace"


@pytest.fixture(scope="module")
def bagent(banlab, agent_bin):
    a = Agent(lab=banlab)
    try:
        a.start()
        yield a
    finally:
        a.close()


@pytest.fixture
def clean(banlab):
    """Each test starts with the peer address unbanned (score 0) and no client connected."""
    banlab.occtl("unban", "ip", PEER)
    banlab.kill_clients()
    yield
    banlab.kill_clients()
    banlab.occtl("unban", "ip", PEER)


def occtl_entry(entries, ip):
    found = [e for e in entries if e.get("IP") == ip]
    assert len(found) <= 1, entries
    return found[0] if found else None


def fail_logins(banlab, peer, n, user="bob"):
    for _ in range(n):
        rc, values, out = banlab.authenticate(user, "wrong-password", peer=peer)
        assert rc != 0 and "COOKIE" not in values, out[-800:]


def ban_peer(banlab, peer):
    """Make ocserv ban the peer for real: wrong passwords until occtl lists it as banned."""
    fail_logins(banlab, peer, 2)
    wait_until(lambda: occtl_entry(banlab.bans_occtl(), PEER), 5, what=f"occtl to ban {PEER}")


# ---- the lab itself (no agent): the peer really is banned and let back in -----------------

def test_lab_peer_client_comes_from_peer_address(banlab, peer, bagent, clean):
    c = banlab.connect_from(peer, "alice")
    occ = {u["ID"]: u for u in banlab.users_json()}
    assert occ[c.session_id]["Remote IP"] == PEER
    # and the agent sees the same client address
    body = assert_ok(bagent.get("/ocserv/sessions"))
    mine = [s for s in body["sessions"] if s["vpnSessionId"] == c.session_id]
    assert len(mine) == 1 and mine[0]["clientIp"] == PEER, body
    assert c.pid in peer.pids()


def test_lab_ban_is_enforced_and_occtl_unban_lifts_it(banlab, peer, clean):
    ban_peer(banlab, peer)
    c, out = banlab.try_connect("alice", peer=peer)
    assert c is None, "a banned address logged in"
    assert "authentication" in out.lower() or "ssl" in out.lower(), out[-600:]
    r = banlab.occtl("unban", "ip", PEER)
    assert r.returncode == 0 and f"IP '{PEER}' was unbanned" in r.stdout, r
    assert banlab.connect_from(peer, "alice").alive()


# ---- GET /ocserv/bans, /ocserv/ban-points ---------------------------------------------------

def check_ban(entry, occ, now):
    assert set(entry) >= {"ip", "score", "expires", "expiresEpoch"}, entry
    assert entry["ip"] == occ["IP"]
    assert entry["score"] == occ["Score"] and isinstance(entry["score"], int)
    assert entry["score"] >= MAX_BAN_SCORE
    assert isinstance(entry["expiresEpoch"], int) and not isinstance(entry["expiresEpoch"], bool)
    # banned for min-reauth-time from (about) now; occtl gives the rest to the second
    assert BAN_SECONDS - 60 <= entry["expiresEpoch"] - now <= BAN_SECONDS + 5, (entry, now)
    assert isinstance(entry["expires"], str) and ISO_MS_RE.match(entry["expires"]), entry
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry["expiresEpoch"]))
    assert entry["expires"].startswith(iso), entry
    # occtl prints the end as local "YYYY-MM-DD HH:MM" in "Since"
    # (the agent may add occtl's remaining seconds to its own clock: allow a second or two)
    near = {time.strftime("%Y-%m-%d %H:%M", time.localtime(entry["expiresEpoch"] + d))
            for d in (-2, -1, 0, 1, 2)}
    assert occ["Since"] in near, (entry, occ)


def test_bans_list_the_banned_peer(banlab, peer, bagent, clean):
    before = assert_ok(bagent.get("/ocserv/bans"))
    assert PEER not in [b["ip"] for b in before["bans"]]
    assert before["count"] == len(before["bans"])
    ban_peer(banlab, peer)
    now = time.time()
    body = assert_ok(bagent.get("/ocserv/bans"))
    occ = banlab.bans_occtl()
    assert body["count"] == len(body["bans"]) == len(occ)
    assert sorted(b["ip"] for b in body["bans"]) == sorted(o["IP"] for o in occ)
    mine = [b for b in body["bans"] if b["ip"] == PEER]
    assert len(mine) == 1, body
    check_ban(mine[0], occtl_entry(occ, PEER), now)


def test_ban_points_without_ban(banlab, peer, bagent, clean):
    """One wrong password: points (10 + 1 per connection) but no ban."""
    fail_logins(banlab, peer, 1)
    occ = occtl_entry(banlab.ban_points_occtl(), PEER)
    assert occ and 10 <= occ["Score"] < MAX_BAN_SCORE, occ
    assert occtl_entry(banlab.bans_occtl(), PEER) is None
    body = assert_ok(bagent.get("/ocserv/ban-points"))
    assert body["count"] == len(body["banPoints"])
    mine = [b for b in body["banPoints"] if b["ip"] == PEER]
    assert mine == [{"ip": PEER, "score": occ["Score"]}] or (
        len(mine) == 1 and mine[0]["score"] == occ["Score"] and set(mine[0]) >= {"ip", "score"}), body
    all_occ = banlab.ban_points_occtl()
    assert sorted((b["ip"], b["score"]) for b in body["banPoints"]) == \
        sorted((o["IP"], o["Score"]) for o in all_occ)
    bans = assert_ok(bagent.get("/ocserv/bans"))
    assert PEER not in [b["ip"] for b in bans["bans"]], bans
    # and the peer still logs in
    assert banlab.connect_from(peer, "alice").alive()


# ---- DELETE /ocserv/bans/{ip}: the real flow ------------------------------------------------

def test_unban_lets_the_banned_client_back_in(banlab, peer, bagent, clean):
    ban_peer(banlab, peer)
    assert PEER in [b["ip"] for b in assert_ok(bagent.get("/ocserv/bans"))["bans"]]
    c, _ = banlab.try_connect("alice", peer=peer)
    assert c is None, "the banned peer logged in with the right password"
    resp = bagent.request("DELETE", f"/ocserv/bans/{PEER}")
    body = assert_ok(resp)
    assert body["deleted"] is True and body["ip"] == PEER, body
    # ocserv agrees, and the client gets in
    assert occtl_entry(banlab.bans_occtl(), PEER) is None
    assert PEER not in [b["ip"] for b in assert_ok(bagent.get("/ocserv/bans"))["bans"]]
    c = banlab.connect_from(peer, "alice")
    assert c.alive()
    assert {u["ID"]: u for u in banlab.users_json()}[c.session_id]["Remote IP"] == PEER
    line = audit_line(bagent, resp)
    assert line is not None, bagent.log()[-2000:]
    assert "op=" in line and "ban" in line.split("op=", 1)[1].split()[0], line
    assert PEER in line, line
    assert bagent.token not in bagent.log()


def test_unban_ipv4_mapped_address_is_normalised(banlab, peer, bagent, clean):
    ban_peer(banlab, peer)
    body = assert_ok(bagent.request("DELETE", "/ocserv/bans/" + urllib.parse.quote("::ffff:" + PEER)))
    assert body["deleted"] is True and body["ip"] == PEER, body
    assert occtl_entry(banlab.bans_occtl(), PEER) is None
    assert banlab.connect_from(peer, "alice").alive()


def test_unban_ipv6_is_normalised(banlab, bagent, clean):
    """A wrong password over IPv6 loopback gives ::1 points (1.1.6 keeps IPv6 entries per /64 and
    lists them as "::"): DELETE /ocserv/bans/0:0::1 unbans it and answers with "::1"."""
    rc, _, out = banlab.authenticate("bob", "wrong-password", host="::1")
    assert rc != 0, out[-500:]
    before = banlab.ban_points_occtl()
    assert any(e["Score"] >= 10 and ":" in e["IP"] for e in before), before
    points = assert_ok(bagent.get("/ocserv/ban-points"))["banPoints"]
    assert sorted((b["ip"], b["score"]) for b in points) == sorted((e["IP"], e["Score"]) for e in before)
    resp = bagent.request("DELETE", "/ocserv/bans/0:0::1")
    body = assert_ok(resp)
    assert body["deleted"] is True and body["ip"] == "::1", body
    after = banlab.ban_points_occtl()
    assert all(e["Score"] == 0 for e in after if ":" in e["IP"]), after
    assert "::1" in (audit_line(bagent, resp) or ""), bagent.log()[-1500:]


def test_unban_points_only_address_resets_its_points(banlab, peer, bagent, clean):
    """ocserv's unban works on any address in its ban database, banned or not: for one that only
    has points it answers "was unbanned" (exit 0) and zeroes them, so the agent says 200."""
    fail_logins(banlab, peer, 1)
    assert occtl_entry(banlab.bans_occtl(), PEER) is None
    assert occtl_entry(banlab.ban_points_occtl(), PEER)["Score"] >= 10
    body = assert_ok(bagent.request("DELETE", f"/ocserv/bans/{PEER}"))
    assert body["deleted"] is True and body["ip"] == PEER
    assert occtl_entry(banlab.ban_points_occtl(), PEER)["Score"] == 0
    points = assert_ok(bagent.get("/ocserv/ban-points"))["banPoints"]
    assert [b["score"] for b in points if b["ip"] == PEER] in ([0], []), points


@pytest.mark.parametrize("ip", ["10.9.9.9", "2001:db8::7"])
def test_unban_unknown_address_is_404(banlab, bagent, clean, ip):
    r = banlab.occtl("unban", "ip", ip)  # ocserv itself: never seen, nothing to unban
    assert r.returncode != 0 and "could not unban" in r.stdout, r
    resp = bagent.request("DELETE", "/ocserv/bans/" + urllib.parse.quote(ip))
    assert_error(resp, 404, "NOT_FOUND")


@pytest.mark.parametrize("ip", [
    "1.2.3", "10.0.0.256", "abc", "1.2.3.4%2F24", "1.2.3.4:80", "%201.2.3.4", "1.2.3.4%20",
    "1.2.3.4%00", "fe80::1%25eth0", "::g", "1..2.3", "-1.2.3.4", "a" * 100,
])
def test_unban_bad_address_is_400(banlab, peer, bagent, clean, ip):
    ban_peer(banlab, peer)
    assert_error(bagent.request("DELETE", f"/ocserv/bans/{ip}"), 400, "BAD_REQUEST")
    assert occtl_entry(banlab.bans_occtl(), PEER), "a bad request unbanned the peer"


def test_bans_need_auth(bagent):
    for method, path in (("GET", "/ocserv/bans"), ("GET", "/ocserv/ban-points"),
                         ("DELETE", f"/ocserv/bans/{PEER}")):
        assert_error(bagent.request(method, path, token=None), 401, "UNAUTHORIZED")
