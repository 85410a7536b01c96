"""GET /ocserv/health?tier=2|3: the local checks and the end-to-end login, against a real ocserv.

The agent runs inside ocserv's network namespace (the whole suite does), so its /proc/net shows
ocserv's sockets, as on a normal install.
"""

import os
import threading

import pytest

from helpers import assert_error, assert_ok
from lab import OPENCONNECT, Lab, free_port, wait_until

TIER2 = ["ocservProcess", "ocservConf", "tcpListen", "udpListen", "occtlSocket", "certificate",
         "stateDirDisk", "logDirDisk", "agentMemory"]
# The v1 keys, "events" (the event hub, added with GET /ocserv/events) and "limits" (the
# abuse limits' counters, issue 7).
V1_KEYS = {"ok", "agent", "ocserv", "capabilities", "events", "limits"}



def probe_env(user="alice", password="alice-pw"):
    return {"AGENT_PROBE_USER": user, "AGENT_PROBE_PASSWORD": password,
            "OPENCONNECT_PATH": OPENCONNECT, "AGENT_PROBE_TIMEOUT_MS": "15000"}


def health(agent, tier):
    return assert_ok(agent.get(f"/ocserv/health?tier={tier}"))


def checks(body):
    names = [c["name"] for c in body["checks"]]
    assert len(names) == len(set(names)), names
    for c in body["checks"]:
        assert isinstance(c["ok"], bool), c
        assert isinstance(c["detail"], str) and c["detail"], c
    return {c["name"]: c for c in body["checks"]}


def failing(body):
    return sorted(c["name"] for c in body["checks"] if not c["ok"])


def test_tier1_body_unchanged(agent):
    plain = assert_ok(agent.get("/ocserv/health"))
    one = assert_ok(agent.get("/ocserv/health?tier=1"))
    assert set(plain) == V1_KEYS, plain
    assert set(one) == V1_KEYS, one
    assert plain == one


def test_tier2_all_healthy(agent, lab):
    body = health(agent, 2)
    assert set(body) == V1_KEYS | {"tier", "healthy", "checks"}, body
    assert body["tier"] == 2
    assert body["ocserv"] == {"ok": True}
    assert [c["name"] for c in body["checks"]] == TIER2
    assert body["healthy"] is True, failing(body)
    c = checks(body)
    assert c["ocservProcess"]["pid"] == lab.status_json()["Server PID"]
    assert c["ocservConf"]["path"] == lab.conf
    assert c["tcpListen"]["port"] == lab.port and c["tcpListen"]["proto"] == "tcp"
    assert c["udpListen"]["port"] == lab.port and c["udpListen"]["proto"] == "udp"
    assert c["occtlSocket"]["path"] == lab.socket
    cert = c["certificate"]
    assert cert["path"].endswith("server-cert.pem")
    assert 29 <= cert["daysLeft"] <= 30, cert  # the lab's certificate is valid for 30 days
    assert cert["notAfter"].endswith("Z") and cert["notBefore"].endswith("Z")
    assert c["stateDirDisk"]["path"] == agent.state_dir
    assert c["stateDirDisk"]["freeBytes"] > 0
    assert c["stateDirDisk"]["totalBytes"] >= c["stateDirDisk"]["freeBytes"]
    assert c["logDirDisk"]["path"] == "/var/log"
    assert 0 < c["agentMemory"]["rssBytes"] < 256 * 1024 * 1024
    # The agent's identity is the tier-1 one.
    assert body["agent"] == assert_ok(agent.get("/ocserv/health"))["agent"]


@pytest.mark.parametrize("tier", ["0", "4", "02", "2.0", "two", "-1", "3%20", "%2B2"])
def test_bad_tier_is_400(agent, tier):
    assert_error(agent.get(f"/ocserv/health?tier={tier}"), 400, "BAD_REQUEST")


def test_empty_tier_is_tier_1(agent):
    """Empty counts as absent, as for every query argument."""
    body = assert_ok(agent.get("/ocserv/health?tier="))
    assert "checks" not in body and "tier" not in body, body


def test_tier2_detects_stopped_ocserv(agent, lab):
    lab.stop()
    try:
        resp = agent.get("/ocserv/health?tier=2")
        body = assert_ok(resp)  # health never fails because of ocserv
        assert body["healthy"] is False
        assert body["ocserv"]["ok"] is False
        c = checks(body)
        assert c["ocservProcess"]["ok"] is False and c["ocservProcess"]["pid"] is None
        assert "no status from ocserv" in c["ocservProcess"]["detail"]
        assert c["tcpListen"]["ok"] is False and c["udpListen"]["ok"] is False
        assert "nothing" in c["tcpListen"]["detail"]
        assert c["occtlSocket"]["ok"] is False
        # What does not depend on the running server is still fine.
        for name in ("ocservConf", "certificate", "stateDirDisk", "logDirDisk", "agentMemory"):
            assert c[name]["ok"] is True, c[name]
    finally:
        lab.start()
    assert health(agent, 2)["healthy"] is True


def test_tier2_missing_ocserv_conf(make_agent, tmp_path):
    a = make_agent(env={"OCSERV_CONF_PATH": str(tmp_path / "nope.conf")})
    body = health(a, 2)
    assert body["healthy"] is False
    assert body["ocserv"]["ok"] is True  # occtl does not need the file
    c = checks(body)
    assert c["ocservConf"]["ok"] is False and "does not exist" in c["ocservConf"]["detail"]
    for name in ("tcpListen", "udpListen", "certificate"):
        assert c[name]["ok"] is False, c[name]
    assert c["ocservProcess"]["ok"] is True
    assert c["occtlSocket"]["ok"] is True  # OCCTL_SOCKET names it


def test_tier2_bad_conf_line(make_agent, lab, tmp_path):
    tmp_path.chmod(0o755)
    conf = tmp_path / "ocserv.conf"
    conf.write_text(open(lab.conf).read() + "this line has no separator\n")
    body = health(make_agent(env={"OCSERV_CONF_PATH": str(conf)}), 2)
    c = checks(body)
    assert c["ocservConf"]["ok"] is False
    assert "ocserv refuses the file" in c["ocservConf"]["detail"]
    assert body["healthy"] is False
    assert failing(body) == ["ocservConf"]


@pytest.fixture
def cert_lab(netns):
    """A second ocserv of our own, whose certificate the tests replace."""
    the_lab = Lab(port=free_port(), network="192.168.98.0", name="certlab")
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


def test_tier2_expired_certificate(cert_lab, make_agent):
    cert_lab.replace_cert(activation_date="2020-01-01 00:00:00",
                          expiration_date="2021-01-01 00:00:00")
    cert_lab.restart()  # ocserv runs with an expired certificate: only clients would complain
    body = health(make_agent(lab=cert_lab), 2)
    assert body["healthy"] is False
    assert body["ocserv"]["ok"] is True
    cert = checks(body)["certificate"]
    assert cert["ok"] is False
    assert cert["notAfter"] == "2021-01-01T00:00:00.000Z"
    assert cert["notBefore"] == "2020-01-01T00:00:00.000Z"
    assert cert["daysLeft"] < 0
    assert "expired" in cert["detail"]
    assert failing(body) == ["certificate"]


def test_tier2_certificate_near_expiry(cert_lab, make_agent):
    cert_lab.replace_cert(expiration_days=3)
    cert_lab.restart()
    body = health(make_agent(lab=cert_lab), 2)
    cert = checks(body)["certificate"]
    assert cert["ok"] is False
    assert 2 <= cert["daysLeft"] <= 3, cert
    assert "expires in" in cert["detail"]
    assert body["healthy"] is False
    assert failing(body) == ["certificate"]


def test_tier2_certificate_not_yet_valid(cert_lab, make_agent):
    cert_lab.replace_cert(activation_date="2090-01-01 00:00:00",
                          expiration_date="2091-01-01 00:00:00")
    # ocserv keeps the certificate it started with; the check reads the file.
    cert = checks(health(make_agent(lab=cert_lab), 2))["certificate"]
    assert cert["ok"] is False and "not valid before" in cert["detail"]
    assert cert["daysLeft"] > 365


def test_tier2_has_no_login_check(make_agent):
    a = make_agent(env=probe_env())
    assert "login" not in checks(health(a, 2))


def test_tier3_login_ok(make_agent, lab):
    a = make_agent(env=probe_env())
    body = health(a, 3)
    assert body["tier"] == 3
    assert [c["name"] for c in body["checks"]] == TIER2 + ["login"]
    login = checks(body)["login"]
    assert login["ok"] is True, login
    assert login["user"] == "alice"
    assert isinstance(login["latencyMs"], int) and 0 <= login["latencyMs"] < 15000
    assert "skipped" not in login
    assert body["healthy"] is True, failing(body)
    # --authenticate stops before the tunnel: no session is left connected.
    wait_until(lambda: "alice" not in [u["Username"] for u in lab.users_json()], 5.0,
               what="no alice session")
    log = a.log()
    assert "alice-pw" not in log and "COOKIE" not in log


def test_tier3_wrong_password(make_agent):
    a = make_agent(env=probe_env(password="not-alices-password"))
    resp = a.get("/ocserv/health?tier=3")
    body = assert_ok(resp)
    login = checks(body)["login"]
    assert login["ok"] is False
    assert "refused" in login["detail"], login
    assert isinstance(login["latencyMs"], int)
    assert body["healthy"] is False
    assert failing(body) == ["login"]
    assert body["ocserv"]["ok"] is True
    log = a.log()
    assert "not-alices-password" not in log
    assert "health login probe failed user=alice" in log


def test_tier3_unknown_user(make_agent):
    body = health(make_agent(env=probe_env(user="nosuchuser")), 3)
    login = checks(body)["login"]
    assert login["ok"] is False and body["healthy"] is False


def test_tier3_without_probe_account_is_skipped(agent):
    body = health(agent, 3)
    login = checks(body)["login"]
    assert login == {"name": "login", "ok": True, "skipped": True,
                     "detail": "AGENT_PROBE_USER is not set"}
    assert body["healthy"] is True, failing(body)


def test_tier3_missing_openconnect(make_agent):
    env = probe_env()
    env["OPENCONNECT_PATH"] = "/nonexistent/openconnect"
    login = checks(health(make_agent(env=env), 3))["login"]
    assert login["ok"] is False and "not installed" in login["detail"]


def test_tier3_probe_timeout(make_agent, lab):
    env = probe_env()
    env["AGENT_PROBE_TIMEOUT_MS"] = "700"
    a = make_agent(env=env)
    lab.pause()  # ocserv accepts TCP (the kernel does) but never answers TLS
    try:
        resp = a.get("/ocserv/health?tier=3", timeout=30)
    finally:
        lab.resume()
    body = assert_ok(resp)
    login = checks(body)["login"]
    assert login["ok"] is False and "AGENT_PROBE_TIMEOUT_MS" in login["detail"], login
    assert login["latencyMs"] < 5000


def test_tier3_password_stays_out_of_argv(make_agent, lab):
    """The password reaches openconnect on stdin only (argv is world-readable in /proc)."""
    env = probe_env()
    env["AGENT_PROBE_TIMEOUT_MS"] = "3000"
    a = make_agent(env=env)
    lab.pause()
    seen = []
    try:
        t = threading.Thread(target=lambda: seen.append(a.get("/ocserv/health?tier=3",
                                                                timeout=30)))
        t.start()

        def cmdline():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        args = f.read().split(b"\0")
                except OSError:
                    continue
                if args and args[0] == OPENCONNECT.encode() and b"--authenticate" in args:
                    return args
            return None

        args = wait_until(cmdline, 3.0, interval=0.02, what="the probe's openconnect")
        t.join(30)
    finally:
        lab.resume()
    assert b"alice-pw" not in b" ".join(args)
    assert b"--passwd-on-stdin" in args and b"--user=alice" in args
    assert any(a_.startswith(b"pin-sha256:") for a_ in args)
    assert seen and seen[0].status == 200
