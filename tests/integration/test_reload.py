"""POST /ocserv/reload: `ocserv -t -c OCSERV_CONF_PATH` first; a config ocserv would die on is
refused (409 CONFIG_INVALID, ocserv untouched), a good one is reloaded with the sessions kept.

Careful: a reload of a config that does not parse makes a real ocserv exit. Every test here
restores the good config, whatever happens."""

import subprocess

import pytest

from helpers import assert_error, assert_ok
from lab import OCSERV, audit_line, pid_alive, wait_until


@pytest.fixture(scope="module")
def state(lab):
    clients = lab.connect("alice", 1) + lab.connect("bob", 1)
    return {"clients": clients, "ids": sorted(lab.session_ids())}


@pytest.fixture
def conf(lab):
    """The test may break ocserv.conf (lab.write_conf(extra) / set_conf_option); it is restored
    after, and ocserv must still be the same process."""
    pid = lab.pid
    saved = dict(lab.conf_options)
    yield lab
    lab.conf_options.clear()
    lab.conf_options.update(saved)
    lab.write_conf()
    assert lab.pid == pid and lab.running(), lab.server_log()[-2000:]
    # back to the lab's running config too (a good file: safe to reload)
    before = len(lab.server_log())
    assert lab.occtl("reload").returncode == 0
    wait_until(lambda: len(lab.server_log()) > before, 5, what="ocserv to reload")


def assert_untouched(lab, state, pid):
    assert lab.running() and lab.pid == pid and pid_alive(pid), lab.server_log()[-2000:]
    assert lab.status_json()["Server PID"] == pid
    assert sorted(lab.session_ids()) == state["ids"]
    assert all(c.alive() for c in state["clients"])


def ocserv_check(lab):
    return subprocess.run([OCSERV, "-t", "-c", lab.conf], capture_output=True, text=True,
                          timeout=30)


def new_session_dpd(lab, user="carol"):
    c = lab.connect_one(user)
    try:
        return int(lab.occtl_json("show", "id", str(c.session_id))[0]["DPD"])
    finally:
        lab.kill_clients(user)
        lab.wait_sessions(user, 0, timeout=10)


@pytest.mark.parametrize("body", [None, b"{}"], ids=["no-body", "empty-object"])
def test_reload_applies_a_good_config(agent, lab, state, conf, body):
    pid = lab.pid
    dpd = 45 if body is None else 50
    lab.set_conf_option("dpd", dpd)
    lab.write_conf()
    assert ocserv_check(lab).returncode == 0
    log_before = len(lab.server_log())
    resp = agent.request("POST", "/ocserv/reload", body=body)
    out = assert_ok(resp)
    assert out["reloaded"] is True, out
    # the same ocserv, the same sessions, answering
    assert_untouched(lab, state, pid)
    # and it really reloaded: a new session gets the new dpd (old ones keep theirs)
    wait_until(lambda: len(lab.server_log()) > log_before, 5, what="ocserv to log the reload")
    assert new_session_dpd(lab) == dpd
    old = lab.occtl_json("show", "id", str(state["ids"][0]))[0]
    assert int(old["DPD"]) == 90
    line = audit_line(agent, resp)
    assert line is not None and "op=reload" in line, agent.log()[-2000:]


@pytest.mark.parametrize("extra,needle", [
    ('auth = "nosuchmodule"\n', "nosuchmodule"),
    ("server-cert = /nonexistent/server-cert.pem\n", "/nonexistent/server-cert.pem"),
], ids=["unknown-auth", "missing-cert"])
def test_reload_refuses_a_broken_config(agent, lab, state, conf, extra, needle):
    pid = lab.pid
    dpd_before = new_session_dpd(lab)
    lab.set_conf_option("dpd", 33)   # would show if ocserv had reloaded anyway
    lab.write_conf(extra)
    check = ocserv_check(lab)
    assert check.returncode != 0 and needle in check.stdout + check.stderr, check
    log_before = len(lab.server_log())
    resp = agent.request("POST", "/ocserv/reload", body=b"{}")
    body = assert_error(resp, 409, "CONFIG_INVALID")
    assert needle in body["error"]["message"], body
    assert isinstance(body["checkOutput"], str) and needle in body["checkOutput"], body
    # ocserv was not touched: same process, same sessions, no reload in its log, old config
    assert_untouched(lab, state, pid)
    assert lab.server_log()[log_before:].strip() == ""
    assert new_session_dpd(lab) == dpd_before != 33     # the running config is the old one
    line = audit_line(agent, resp)
    assert line is not None and "op=reload" in line, agent.log()[-2000:]


def test_reload_without_ocserv_binary_changes_nothing(make_agent, lab, state, conf):
    """OCSERV_PATH pointing nowhere: the check cannot run, so no reload either."""
    a = make_agent(env={"OCSERV_PATH": "/nonexistent/ocserv"})
    pid = lab.pid
    resp = a.request("POST", "/ocserv/reload")
    assert resp.status >= 400 and resp.json()["ok"] is False, resp
    assert_untouched(lab, state, pid)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"x"', b"42", b'{"force": true}',
                                  b'{"config": "/etc/passwd"}'])
def test_reload_bad_body_is_400(agent, lab, state, body):
    pid = lab.pid
    log_before = len(lab.server_log())
    assert_error(agent.request("POST", "/ocserv/reload", body=body), 400, "BAD_REQUEST")
    assert_untouched(lab, state, pid)
    assert lab.server_log()[log_before:].strip() == ""


def test_reload_needs_auth_and_post(agent, lab, state):
    assert_error(agent.request("POST", "/ocserv/reload", token=None), 401, "UNAUTHORIZED")
    resp = agent.get("/ocserv/reload")
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in (resp.header("Allow") or "")
