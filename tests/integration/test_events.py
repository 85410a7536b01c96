"""GET /ocserv/events: the live event stream (Server-Sent Events) against a real ocserv with real
openconnect clients.

One ocserv for the module (OA_OCSERV_VERSION picks the version), whose connect-script and
disconnect-script are the agent's hook on a fixed socket (LABDIR/hook.sock), so that every test
can start its own agent (a fresh event hub: ids from 1, an empty ring) on the same server. Only
one agent runs at a time: ocserv serves one events subscriber.

Sources: ocserv's events subscription (OCSERV_EVENTS=true, the agent runs as root here) gives
connects and disconnects with ocserv's reason; the hook gives the disconnect's byte counts and
duration (STATS_*), and everything when OCSERV_EVENTS=false. Tests that need many events fast
send fake hook reports straight to the hook socket (lab.hook_send), as `ocserv-agent hook` does.

ocserv's disconnect reasons, as seen on its control socket (1.1.6, 1.3.0, 1.5.0): 2 "user
disconnected" when the client says goodbye (openconnect on SIGTERM), 3 "server disconnected"
for occtl's (and so the agent's) disconnect, 6 "unspecified error" when the client dies without
a word (SIGKILL)."""

import contextlib
import os
import re
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest

from helpers import ISO_MS_RE, assert_error, assert_ok
import lab_chroot
from lab import (OCCTL, Agent, LabError, PeerNS, SSEStream, free_port, hook_send, http_request,
                 pid_alive, read_log, unix_peer_pids, wait_until)

REASON_USER = 2      # the client said goodbye
REASON_SERVER = 3    # occtl disconnect (the agent's POST /ocserv/disconnect)
REASON_ERROR = 6     # the client vanished (SIGKILL)

EVENT_KEYS = {"id", "type", "time", "vpnSessionId", "username", "groupname", "vhost", "clientIp",
              "ip", "device", "reason", "rxBytes", "txBytes", "durationSeconds"}
USAGE_WAIT_MS = 1500
PEER_LOCAL, PEER_IP = "10.77.93.1", "10.77.93.2"


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def elab(netns, agent_bin):
    """ocserv with the agent's hook as connect/disconnect-script on LABDIR/hook.sock; listens on
    every address so that a client in a PeerNS can send real traffic through its tunnel."""
    lab = lab_chroot.make_lab(port=free_port(), network="192.168.93.0", name="events",
                              listen_all=True)
    try:
        lab.hook_sock = os.path.join(lab.dir, "hook.sock")
        script = lab.hook_script(lab.hook_sock)
        lab.set_conf_option("connect-script", script)
        lab.set_conf_option("disconnect-script", script)
        lab.write_conf()
        for u in ("dave", "erin", "fred", "gus"):
            lab.add_user(u)
        lab.start()
        yield lab
    finally:
        lab.close()


def ctl_subscribed(lab, agent):
    """True while the agent holds a connection to ocserv's control socket (between requests,
    the only one is its events subscription)."""
    return agent.pid in unix_peer_pids(lab.socket)


class Env:
    """What one test started: agents, event streams; all closed at the test's end, and every
    VPN client killed, so the next test starts from an idle server."""

    def __init__(self, lab):
        self.lab = lab
        self.agents = []
        self.streams = []
        self.procs = []

    def agent(self, events=True, hook=True, wait_live=True, **env):
        e = {"OCSERV_EVENTS": "true" if events else "false",
             "EVENTS_HEARTBEAT_MS": "2000",
             "EVENTS_USAGE_WAIT_MS": str(USAGE_WAIT_MS)}
        if hook:
            e["AGENT_HOOK_SOCKET"] = self.lab.hook_sock
        e.update({k: str(v) for k, v in env.items()})
        a = Agent(lab=self.lab, env=e)
        self.agents.append(a)
        a.start()
        if hook:
            wait_until(lambda: os.path.exists(self.lab.hook_sock), 5, what="the hook socket")
        if events and wait_live:
            wait_until(lambda: ctl_subscribed(self.lab, a), 10,
                       what="the agent's events subscription on ocserv's control socket")
            wait_until(lambda: hub_stats(a)["source"] == "ctl", 5, what="events.source ctl")
        return a

    def sse(self, agent, query="", token=..., **kw):
        s = SSEStream(agent.port, "/ocserv/events" + query,
                      token=agent.token if token is ... else token, **kw)
        self.streams.append(s)
        return s

    def close(self):
        for s in self.streams:
            s.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        errors = []
        for a in self.agents:
            try:
                a.close()
            except LabError as exc:
                errors.append(exc)
        self.lab.kill_clients()
        wait_until(lambda: not self.lab.users_json(), 15, what="no session left")
        if errors:
            raise errors[0]


@pytest.fixture
def env(elab):
    e = Env(elab)
    try:
        yield e
    finally:
        e.close()


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def of(type_, user=None, sid=None):
    """A predicate on SSE messages: events of type_ (and user, and session id)."""
    def pred(m):
        if m.is_comment or m.event != type_:
            return False
        d = m.json()
        return (user is None or d["username"] == user) and (sid is None or d["vpnSessionId"] == sid)
    return pred


def check_shape(msg):
    """The SSE framing and the JSON object of one event."""
    d = msg.json()
    assert set(d) == EVENT_KEYS, d
    assert msg.id is not None and msg.id == str(d["id"]), (msg, d)
    assert isinstance(d["id"], int) and d["id"] >= 1, d
    assert msg.event == d["type"], (msg, d)
    assert d["type"] in ("connect", "disconnect", "resync"), d
    assert ISO_MS_RE.match(d["time"]), d
    t = datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(t.timestamp() - time.time()) < 120, d
    return d


def hub_stats(agent):
    """The event hub's numbers in GET /ocserv/health (events)."""
    return agent.get("/ocserv/health").json()["events"]


def api_session(agent, sid):
    body = assert_ok(agent.get("/ocserv/sessions"))
    found = [s for s in body["sessions"] if s["vpnSessionId"] == sid]
    assert len(found) == 1, (sid, body)
    return found[0]


def check_matches_session(d, sess):
    """An event's session fields equal what GET /ocserv/sessions says of the same session."""
    for key in ("vpnSessionId", "username", "groupname", "vhost", "clientIp", "ip", "device"):
        assert d[key] == sess[key], (key, d, sess)


def check_usage(d, lifetime=None):
    for key in ("rxBytes", "txBytes", "durationSeconds"):
        assert isinstance(d[key], int) and not isinstance(d[key], bool) and d[key] >= 0, (key, d)
    if lifetime is not None:
        assert lifetime - 2 <= d["durationSeconds"] <= lifetime + 2, (lifetime, d)


def fake_hook(lab, reason, sid, user, **extra):
    """A fake connect/disconnect-script report (REASON, ID, USERNAME, ...) to the hook socket."""
    v = {"REASON": reason, "ID": str(sid), "USERNAME": user, "GROUPNAME": "", "VHOST": "default",
         "DEVICE": "vpns9", "IP_REAL": "127.0.0.9", "IP_REMOTE": "192.168.93.250"}
    if reason == "disconnect":
        v.update({"STATS_BYTES_IN": "10", "STATS_BYTES_OUT": "20", "STATS_DURATION": "3"})
    v.update(extra)
    answer = hook_send(lab.hook_sock, v)
    assert answer.startswith("allow"), answer
    return answer


def quiet(stream, seconds, pred=None):
    """The events (matching pred) that arrive in the next `seconds` (expect none, usually)."""
    n = len(stream.events(pred))
    time.sleep(seconds)
    return stream.events(pred)[n:]


def api_disconnect(agent, sid):
    body = assert_ok(agent.post("/ocserv/disconnect", {"vpnSessionId": sid}))
    assert body["disconnected"] is True, body


def wait_gone(lab, client):
    """openconnect exits when ocserv disconnects it; drop it from the lab's list."""
    wait_until(lambda: not client.alive(), 15, what=f"openconnect {client.pid} to exit")
    lab.forget_client(client)


# ---------------------------------------------------------------------------------------------
# real connects and disconnects
# ---------------------------------------------------------------------------------------------

def test_stream_starts_with_ok_and_event_stream_headers(env):
    a = env.agent()
    s = env.sse(a)
    assert s.status == 200, s.response
    assert s.header("Content-Type").startswith("text/event-stream"), s.headers
    assert "no-cache" in (s.header("Cache-Control") or ""), s.headers
    first = s.wait(lambda msgs: msgs[:1], 5, what="the first line")[0]
    assert first.is_comment and first.comment == "ok", first


def test_connect_and_api_disconnect(env, elab):
    """A real connect and the API's disconnect: one connect and one disconnect event, whose
    fields equal the session's in GET /ocserv/sessions; reason 3 (server disconnect); usage from
    the disconnect-script."""
    a = env.agent()
    s = env.sse(a)
    t0 = time.monotonic()
    c = elab.connect_one("bob")              # group staff
    conn = s.wait_event(of("connect", "bob"), 15, "bob's connect event")
    d = check_shape(conn)
    assert d["vpnSessionId"] == c.session_id, (d, c)
    sess = api_session(a, c.session_id)
    check_matches_session(d, sess)
    assert d["groupname"] == "staff" and d["clientIp"] == "127.0.0.1", d
    assert d["ip"].startswith("192.168.93."), d
    assert d["reason"] is None, d
    assert d["rxBytes"] is None and d["txBytes"] is None and d["durationSeconds"] is None, d

    time.sleep(1.2)
    api_disconnect(a, c.session_id)
    disc = s.wait_event(of("disconnect", "bob"), 15, "bob's disconnect event")
    lifetime = time.monotonic() - t0
    dd = check_shape(disc)
    assert dd["id"] > d["id"], (d, dd)
    check_matches_session(dd, sess)
    assert dd["reason"]["code"] == REASON_SERVER, dd
    assert isinstance(dd["reason"]["text"], str) and dd["reason"]["text"], dd
    check_usage(dd, lifetime)
    wait_gone(elab, c)

    # Each published once: the hook's copies are merged, not repeated.
    assert quiet(s, USAGE_WAIT_MS / 1000 + 0.5, of("connect", sid=c.session_id)) == []
    assert len(s.events(of("connect", sid=c.session_id))) == 1, s.events()
    assert len(s.events(of("disconnect", sid=c.session_id))) == 1, s.events()


def test_group_less_user_and_client_goodbye(env, elab):
    """alice has no group: groupname as GET /ocserv/sessions says; openconnect stopped with
    SIGTERM says goodbye: reason 2 (user disconnect)."""
    a = env.agent()
    s = env.sse(a)
    c = elab.connect_one("alice")
    d = check_shape(s.wait_event(of("connect", "alice"), 15, "alice's connect"))
    check_matches_session(d, api_session(a, c.session_id))
    c.kill(signal.SIGTERM)
    elab.forget_client(c)
    dd = check_shape(s.wait_event(of("disconnect", "alice"), 15, "alice's disconnect"))
    assert dd["vpnSessionId"] == c.session_id, dd
    assert dd["reason"]["code"] == REASON_USER, dd
    check_usage(dd)


def test_client_killed_reason(env, elab):
    """A client that dies without a word (SIGKILL): reason 6 (error), still with usage."""
    a = env.agent()
    s = env.sse(a)
    c = elab.connect_one("carol")
    s.wait_event(of("connect", "carol"), 15, "carol's connect")
    c.kill(signal.SIGKILL)
    elab.forget_client(c)
    dd = check_shape(s.wait_event(of("disconnect", "carol"), 30, "carol's disconnect"))
    assert dd["vpnSessionId"] == c.session_id, dd
    assert dd["reason"]["code"] == REASON_ERROR, dd
    assert dd["reason"]["text"], dd
    check_usage(dd)


def test_usage_counts_real_tunnel_traffic(env, elab):
    """A client in another namespace pings the server through its tunnel: the disconnect event's
    rxBytes/txBytes (the disconnect-script's STATS_BYTES_IN/OUT) count those packets, and
    durationSeconds the session's life."""
    a = env.agent()
    s = env.sse(a)
    peer = PeerNS(local_ip=PEER_LOCAL, peer_ip=PEER_IP).create()
    try:
        t0 = time.monotonic()
        c = elab.connect_from(peer, "dave")
        s.wait_event(of("connect", "dave"), 15, "dave's connect")
        sess = api_session(a, c.session_id)
        assert sess["clientIp"] == PEER_IP, sess
        links = peer.run(["ip", "-o", "link", "show"]).stdout
        tun = [ln.split(":")[1].strip() for ln in links.splitlines() if ": tun" in ln]
        assert len(tun) == 1, links
        for cmd in (["ip", "addr", "add", sess["ip"], "peer", sess["p2pIpv4"], "dev", tun[0]],
                    ["ip", "link", "set", tun[0], "up"]):
            r = peer.run(cmd)
            assert r.returncode == 0, r
        count, size = 10, 1000
        r = peer.run(["ping", "-c", str(count), "-i", "0.2", "-s", str(size), "-W", "2",
                      sess["p2pIpv4"]])
        assert r.returncode == 0, r.stdout + r.stderr
        time.sleep(max(0.0, 4.0 - (time.monotonic() - t0)))   # a life of a few seconds
        c.kill(signal.SIGTERM)
        elab.forget_client(c)
        dd = check_shape(s.wait_event(of("disconnect", "dave"), 15, "dave's disconnect"))
        lifetime = time.monotonic() - t0
    finally:
        peer.destroy()
    packet = size + 28   # ICMP + IPv4 headers
    assert dd["clientIp"] == PEER_IP, dd
    check_usage(dd, lifetime)
    assert count * packet <= dd["rxBytes"] <= count * packet + 16384, dd
    assert count * packet <= dd["txBytes"] <= count * packet + 16384, dd
    assert dd["durationSeconds"] >= 3, dd
    assert dd["reason"]["code"] == REASON_USER, dd


def test_hook_only_events(env, elab):
    """OCSERV_EVENTS=false: no subscription; connects and disconnects come from the hook, with
    the session's fields and usage, and no reason (the script has none)."""
    a = env.agent(events=False)
    time.sleep(0.3)
    assert not ctl_subscribed(elab, a)
    s = env.sse(a)
    c = elab.connect_one("bob")
    d = check_shape(s.wait_event(of("connect", "bob"), 15, "bob's connect from the hook"))
    check_matches_session(d, api_session(a, c.session_id))
    assert d["reason"] is None, d
    c.kill(signal.SIGTERM)
    elab.forget_client(c)
    dd = check_shape(s.wait_event(of("disconnect", "bob"), 15, "bob's disconnect from the hook"))
    assert dd["vpnSessionId"] == c.session_id and dd["username"] == "bob", dd
    assert dd["reason"] is None, dd
    check_usage(dd)
    assert quiet(s, 0.5) == [], s.events()
    assert [m.event for m in s.events()] == ["connect", "disconnect"], s.events()


# ---------------------------------------------------------------------------------------------
# replay
# ---------------------------------------------------------------------------------------------

def test_replay_last_event_id_and_since(env, elab):
    """A client that comes back with Last-Event-ID (or ?since=) gets exactly the events it
    missed, in order, the same as a client that stayed, then live ones."""
    a = env.agent()
    watch = env.sse(a)
    first = env.sse(a)
    c = elab.connect_one("erin")
    seen = first.wait_event(of("connect", "erin"), 15, "erin's connect")
    first.close()
    last = int(seen.id)

    c.kill(signal.SIGTERM)
    elab.forget_client(c)
    watch.wait_event(of("disconnect", "erin"), 15, "erin's disconnect")
    c2 = elab.connect_one("fred")
    watch.wait_event(of("connect", "fred"), 15, "fred's connect")
    missed = [m for m in watch.events() if int(m.id) > last]
    assert [m.event for m in missed] == ["disconnect", "connect"], missed

    backs = []
    for how in ({"headers": {"Last-Event-ID": str(last)}}, {"query": f"?since={last}"}):
        back = env.sse(a, **how)
        got = back.wait_events(len(missed), 5, what=f"the replay ({how})")
        assert [(m.id, m.event, m.data) for m in got] == \
            [(m.id, m.event, m.data) for m in missed], (how, got, missed)
        assert quiet(back, 0.3) == [], how
        backs.append(back)

    # Replay with a filter: only the missed connects.
    conn_only = env.sse(a, "?type=connect", headers={"Last-Event-ID": str(last)})
    got = conn_only.wait_events(1, 5, what="the filtered replay")
    assert [m.id for m in got] == [m.id for m in missed if m.event == "connect"], got

    # Then live: a replayed stream goes on with new events.
    back = backs[0]
    c2.kill(signal.SIGTERM)
    elab.forget_client(c2)
    live = back.wait_event(of("disconnect", "fred"), 15, "fred's disconnect, live")
    assert int(live.id) > int(missed[-1].id), live
    ids = [int(m.id) for m in back.events()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids


def test_replay_gap_gives_resync(env, elab):
    """EVENTS_BUFFER=5: asking for events that left the ring gives a resync event (no id), then
    what the ring still holds; a replay inside the ring has no resync."""
    a = env.agent(events=False, EVENTS_BUFFER=5)
    watch = env.sse(a)
    for i in range(6):
        fake_hook(elab, "connect", 70000 + i, "ringuser")
        fake_hook(elab, "disconnect", 70000 + i, "ringuser")
    evs = watch.wait_events(12, 10, what="12 hook events")
    ids = [int(m.id) for m in evs]
    assert ids == list(range(ids[0], ids[0] + 12)), ids
    kept = evs[-5:]

    back = env.sse(a, f"?since={ids[0]}")
    got = back.wait_events(6, 5, what="resync + the ring")
    assert got[0].event == "resync" and got[0].id is None, got[0]
    assert got[0].json()["type"] == "resync", got[0].data
    assert [(m.id, m.data) for m in got[1:]] == [(m.id, m.data) for m in kept], got
    assert quiet(back, 0.3) == []

    inside = env.sse(a, headers={"Last-Event-ID": kept[1].id})
    got = inside.wait_events(3, 5, what="a replay inside the ring")
    assert [m.id for m in got] == [m.id for m in kept[2:]], got
    assert quiet(inside, 0.3) == []

    none = env.sse(a, f"?since={kept[-1].id}")
    assert quiet(none, 0.5) == [], none.events()

    # since=0: everything kept, after a resync (ids 1.. are gone).
    everything = env.sse(a, "?since=0")
    got = everything.wait_events(6, 5, what="since=0")
    assert got[0].event == "resync" and [m.id for m in got[1:]] == [m.id for m in kept], got

    # An id this agent never gave (the client knew the agent before it restarted): every event
    # of this agent is new to it, so resync, what is kept, then live events.
    future = env.sse(a, headers={"Last-Event-ID": str(int(kept[-1].id) + 1000)})
    got = future.wait_events(6, 5, what="a resync for an id from the future")
    assert got[0].event == "resync" and got[0].id is None, got
    assert [m.id for m in got[1:]] == [m.id for m in kept], got
    assert quiet(future, 0.3) == [], future.events()
    fake_hook(elab, "connect", 70100, "ringuser")
    new_one = future.wait_events(7, 5, what="the next live event")[6]
    assert int(new_one.id) == int(kept[-1].id) + 1, new_one


# ---------------------------------------------------------------------------------------------
# fan-out, slow subscribers, the cap
# ---------------------------------------------------------------------------------------------

def test_two_clients_same_events_same_order(env, elab):
    a = env.agent()
    s1, s2 = env.sse(a), env.sse(a)
    clients = [elab.connect_one(u) for u in ("alice", "bob", "carol")]
    for i in range(20):   # fake disconnects of sessions ocserv never had: after the usage wait
        fake_hook(elab, "disconnect", 80000 + i, "nobody")
    for c in clients:
        c.kill(signal.SIGTERM)
        elab.forget_client(c)
    total = 3 + 20 + 3
    e1 = s1.wait_events(total, 30, what=f"{total} events on the first stream")
    s2.wait_events(total, 30, what=f"{total} events on the second stream")
    assert quiet(s1, 0.5) == [] and quiet(s2, 0.2) == []
    assert [(m.id, m.event, m.data) for m in s1.events()] == \
        [(m.id, m.event, m.data) for m in s2.events()]
    ids = [int(m.id) for m in e1]
    assert ids == sorted(ids) and len(set(ids)) == total, ids


@contextlib.contextmanager
def netns_sysctl(name, value):
    """Set a sysctl of the test's own network namespace (/proc/sys/net is per namespace) for the
    duration of the block."""
    path = os.path.join("/proc/sys", name)
    with open(path) as f:
        old = f.read()
    with open(path, "w") as f:
        f.write(value)
    try:
        yield
    finally:
        with open(path, "w") as f:
            f.write(old)


def test_stalled_client_does_not_delay_others(env, elab):
    """A subscriber that never reads (small receive buffer) does not slow the others: each event
    reaches a reading client quickly while the stalled one is stuck; the stalled one is dropped
    once it is a whole ring (EVENTS_BUFFER=64) behind. The namespace's TCP send buffers are
    capped at 64 KiB so that the kernel does not absorb the whole test (it autotunes a
    loopback socket's send buffer up to 4 MiB)."""
    with netns_sysctl("net/ipv4/tcp_wmem", "4096 16384 65536"):
        a = env.agent(events=False, EVENTS_BUFFER=64)
        stalled = env.sse(a, read=False, rcvbuf=2048)
        fast = env.sse(a)
        fast.wait(lambda msgs: msgs, 5, what="': ok' on the reading stream")
        name = "slow" + "x" * 1000      # about 1.3 KB per event
        latencies = []
        n = 600
        for i in range(n):
            t = time.monotonic()
            fake_hook(elab, "connect" if i % 2 == 0 else "disconnect", 90000 + i // 2, name)
            m = fast.wait_events(i + 1, 5, what=f"event {i + 1} on the reading stream")[i]
            latencies.append(m.t - t)
    lat = sorted(latencies)
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
    assert p50 < 0.05 and p99 < 0.25, (p50, p99, lat[-5:])
    assert len(fast.events()) == n
    ids = [int(m.id) for m in fast.events()]
    assert ids == list(range(ids[0], ids[0] + n)), ids[:5]

    data, closed = stalled.drain(10)
    got = len(re.findall(rb"\nevent: ", data))
    assert closed, f"the stalled subscriber was not dropped (it got {got} of {n} events)"
    assert 0 < got < n - 64, got
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert re.search(r"dropped \d+ subscriber", a.log()), a.log()[-2000:]
    assert not fast.ended
    st = hub_stats(a)
    assert st["droppedSubscribers"] == 1 and st["subscribers"] == 1, st


def test_subscriber_cap(env):
    """EVENTS_MAX_SUBSCRIBERS=2: a third stream gets 429 with Retry-After; a place is free again
    once a subscriber has gone (noticed at the latest when a heartbeat cannot be sent)."""
    a = env.agent(EVENTS_MAX_SUBSCRIBERS=2, EVENTS_HEARTBEAT_MS=300)
    s1, s2 = env.sse(a), env.sse(a)
    for s in (s1, s2):
        assert s.status == 200
        s.wait(lambda msgs: msgs, 5, what="': ok'")
    third = env.sse(a)
    assert third.status == 429, third.response
    assert_error(third.response, 429, "TOO_MANY_REQUESTS")
    ra = third.header("Retry-After")
    assert ra is not None and ra.isdigit() and int(ra) >= 1, third.headers
    st = hub_stats(a)
    assert st["refusedSubscribers"] == 1 and st["subscribers"] == 2, st
    s1.close()

    def admitted():
        s = env.sse(a)
        return s if s.status == 200 else None

    s3 = wait_until(admitted, 10, interval=0.2, what="a place after one subscriber left")
    assert s3.wait(lambda msgs: msgs, 5, what="': ok'")[0].comment == "ok"


def test_heartbeat(env):
    a = env.agent(EVENTS_HEARTBEAT_MS=200)
    s = env.sse(a)
    hb = s.wait(lambda msgs: [m for m in msgs if m.comment == "heartbeat"][4:5], 5,
                what="5 heartbeats")
    beats = [m.t for m in s.comments() if m.comment == "heartbeat"]
    gaps = [b - a_ for a_, b in zip(beats, beats[1:])]
    assert hb and all(0.1 <= g <= 1.0 for g in gaps), gaps
    assert s.events() == []


# ---------------------------------------------------------------------------------------------
# ocserv restarts, a second subscriber, filters, errors, shutdown
# ---------------------------------------------------------------------------------------------

def test_ocserv_restart_gives_resync_then_events(env, elab):
    a = env.agent()
    s = env.sse(a)
    filtered = env.sse(a, "?type=connect&username=nobody")   # resyncs pass every filter
    c = elab.connect_one("alice")
    before = s.wait_event(of("connect", "alice"), 15, "alice's connect")
    elab.kill_clients()
    s.wait_event(of("disconnect", "alice"), 15, "alice's disconnect")
    elab.restart()
    rs = s.wait_event(lambda m: m.event == "resync", 15, "a resync after ocserv restarted")
    d = check_shape(rs)
    assert int(rs.id) > int(before.id), (before, rs)
    assert d["reason"] is None or isinstance(d["reason"]["text"], str), d
    wait_until(lambda: ctl_subscribed(elab, a), 15, what="the agent's new subscription")
    c = elab.connect_one("alice")
    after = s.wait_event(lambda m: of("connect", "alice")(m) and int(m.id) > int(rs.id), 15,
                         "alice's connect after the restart")
    assert after.json()["vpnSessionId"] == c.session_id
    assert not s.ended
    assert [(m.id, m.event) for m in filtered.events()] == [(rs.id, "resync")], filtered.events()


def test_admin_show_events_does_not_take_the_agents_stream(env, elab):
    """ocserv serves ONE events subscriber, the first: an admin's `occtl show events` started
    while the agent is subscribed gets the user list and then nothing; the agent's stream keeps
    working, during and after."""
    a = env.agent()
    s = env.sse(a)
    out_path = os.path.join(elab.dir, "occtl-events.out")
    with open(out_path, "wb") as out:
        p = subprocess.Popen(elab.tool_argv(["stdbuf", "-o0", OCCTL, "-s", elab.socket, "show",
                                             "events"]),
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    env.procs.append(p)
    wait_until(lambda: "Press" in read_log(out_path) or p.poll() is not None, 10,
               what="occtl show events to start")
    assert p.poll() is None, read_log(out_path)
    c = elab.connect_one("gus")
    s.wait_event(of("connect", "gus"), 15, "gus's connect while occtl watches")
    c.kill(signal.SIGTERM)
    elab.forget_client(c)
    s.wait_event(of("disconnect", "gus"), 15, "gus's disconnect while occtl watches")
    time.sleep(0.5)
    assert "gus" not in read_log(out_path), read_log(out_path)
    p.terminate()
    p.wait(5)
    c = elab.connect_one("gus")
    s.wait_event(of("connect", "gus", c.session_id), 15, "gus's connect after occtl left")
    assert ctl_subscribed(elab, a)


def test_agent_subscribing_second_gets_disconnects_from_the_hook(env, elab):
    """The other order: the admin's `occtl show events` holds ocserv's only subscription when
    the agent starts. ocserv tells the agent nothing then (docs/operations.md); the
    disconnect-script still does, so disconnects still reach the stream, with usage."""
    out_path = os.path.join(elab.dir, "occtl-events-first.out")
    with open(out_path, "wb") as out:
        p = subprocess.Popen(elab.tool_argv(["stdbuf", "-o0", OCCTL, "-s", elab.socket, "show",
                                             "events"]),
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    env.procs.append(p)
    wait_until(lambda: "Press" in read_log(out_path), 10, what="occtl show events to start")
    a = env.agent()
    s = env.sse(a)
    c = elab.connect_one("gus")
    c.kill(signal.SIGTERM)
    elab.forget_client(c)
    dd = check_shape(s.wait_event(of("disconnect", "gus", c.session_id), 15,
                                  "gus's disconnect from the hook"))
    check_usage(dd)
    wait_until(lambda: f"'gus' ({c.session_id})" in read_log(out_path), 5,
               what="occtl to see gus (it holds the subscription)")


def test_filters(env, elab):
    a = env.agent()
    only_disc = env.sse(a, "?type=disconnect")
    only_bob = env.sse(a, "?username=bob")
    alice_conn = env.sse(a, "?type=connect&username=alice")
    both = env.sse(a, "?type=connect,disconnect")
    every = env.sse(a)
    for u in ("alice", "bob"):
        c = elab.connect_one(u)
        c.kill(signal.SIGTERM)
        elab.forget_client(c)
    every.wait_events(4, 20, what="4 events")
    time.sleep(0.3)
    assert [m.event for m in only_disc.events()] == ["disconnect", "disconnect"], only_disc.events()
    assert {m.json()["username"] for m in only_bob.events()} == {"bob"}
    assert [m.event for m in only_bob.events()] == ["connect", "disconnect"]
    assert [(m.event, m.json()["username"]) for m in alice_conn.events()] == [("connect", "alice")]
    assert [m.id for m in both.events()] == [m.id for m in every.events()]


@pytest.mark.parametrize("query,headers", [
    ("?type=bogus", None), ("?type=connect,bogus", None), ("?type=connect,", None),
    ("?type=CONNECT", None), ("?since=abc", None), ("?since=-1", None), ("?since=1x", None),
    ("?since=18446744073709551616", None), ("?username=-x", None), ("?username=" + "u" * 64, None),
    ("", {"Last-Event-ID": "abc"}), ("?since=1", {"Last-Event-ID": "-5"}),
    ("?since=zz", {"Last-Event-ID": "5"}),
])
def test_bad_query_400(env, query, headers):
    a = env.agent(wait_live=False)
    s = env.sse(a, query, headers=headers)
    assert_error(s.response, 400, "BAD_REQUEST")


def test_unauthorized(env):
    a = env.agent(wait_live=False)
    for token in (None, "wrong-token"):
        s = env.sse(a, token=token)
        assert_error(s.response, 401, "UNAUTHORIZED")
    r = http_request(a.port, "POST", "/ocserv/events", token=a.token)
    assert_error(r, 405, "METHOD_NOT_ALLOWED")


def test_sigterm_with_live_streams_exits_promptly(env, elab):
    a = env.agent()
    readers = [env.sse(a) for _ in range(3)]
    stalled = env.sse(a, read=False, rcvbuf=2048)
    for s in readers:
        s.wait(lambda msgs: msgs, 5, what="': ok'")
    t0 = time.monotonic()
    rc = a.stop(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, (rc, a.log()[-2000:])
    assert took < 3.0, took
    for s in readers:
        assert s.wait_end(2), "a stream was not ended by the shutdown"
    _, closed = stalled.drain(3)
    assert closed
    assert not pid_alive(a.pid)
