"""GET /ocserv/service and POST /ocserv/service/{action} on a host where systemd is not running
(this one, and containers): 503 SYSTEMD_UNAVAILABLE with the envelope, and nothing run, neither
systemctl nor the configuration check. Routing, authentication, the body rule and the audit
line are the same with or without systemd. With systemd, the command lines, the parse of
`systemctl show` and the failures are proven against fake programs in tests/unit/test_service.c;
the sudoers rule for them in test_install.py and test_sudo.py."""

import os
import re

import pytest

from helpers import assert_error
from lab import http_request

ACTIONS = ["start", "stop", "restart", "reload"]

pytestmark = pytest.mark.skipif(os.path.isdir("/run/systemd/system"),
                                reason="systemd runs here: these tests are for a host without it")


@pytest.fixture
def fakes(tmp_path):
    """A systemctl and an ocserv (the configuration checker) that only leave a mark if run."""
    marks = tmp_path / "ran"
    paths = {}
    for name in ("systemctl", "ocserv"):
        p = tmp_path / name
        p.write_text(f'#!/bin/sh\necho "{name} $*" >> {marks}\n')
        p.chmod(0o755)
        paths[name] = str(p)
    paths["marks"] = marks
    return paths


@pytest.fixture
def service_agent(make_agent, fakes):
    return make_agent(env={"SYSTEMCTL_PATH": fakes["systemctl"], "OCSERV_PATH": fakes["ocserv"]})


def assert_unavailable(resp):
    body = assert_error(resp, 503, "SYSTEMD_UNAVAILABLE")
    assert "systemd is not running" in body["error"]["message"], body
    assert "/run/systemd/system" in body["error"]["message"], body
    return body


def test_get_without_systemd(service_agent, fakes):
    body = assert_unavailable(service_agent.get("/ocserv/service"))
    assert set(body) == {"ok", "error"}, body
    assert not fakes["marks"].exists(), fakes["marks"].read_text()


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_without_systemd_run_nothing(service_agent, fakes, action):
    assert_unavailable(service_agent.post(f"/ocserv/service/{action}"))
    assert_unavailable(service_agent.post(f"/ocserv/service/{action}", json_body={}))
    assert not fakes["marks"].exists(), fakes["marks"].read_text()
    # Refused or not, every attempt to change the unit is audited.
    lines = re.findall(rf'audit op=service-{action} unit="ocserv.service" result=(\w+)',
                       service_agent.log())
    assert lines == ["SYSTEMD_UNAVAILABLE"] * 2, service_agent.log()[-2000:]


def test_the_configured_unit_is_the_target(make_agent, fakes):
    a = make_agent(env={"SYSTEMCTL_PATH": fakes["systemctl"], "OCSERV_UNIT": "ocserv@vpn1.service"})
    assert_unavailable(a.post("/ocserv/service/restart"))
    assert 'audit op=service-restart unit="ocserv@vpn1.service" result=SYSTEMD_UNAVAILABLE' in a.log()


def test_action_names_are_percent_decoded(service_agent):
    assert_unavailable(service_agent.post("/ocserv/service/%72estart"))
    assert "op=service-restart" in service_agent.log()


@pytest.mark.parametrize("path", [
    "/ocserv/service/status", "/ocserv/service/Start", "/ocserv/service/enable",
    "/ocserv/service/daemon-reload", "/ocserv/service/restart%20", "/ocserv/service/re%00start",
    "/ocserv/service/restart/now", "/ocserv/service/", "/ocserv/service//restart",
])
def test_unknown_action(service_agent, fakes, path):
    """An action that does not exist is a path that does not exist (a NUL byte: 400)."""
    r = service_agent.post(path)
    if "%00" in path:
        assert_error(r, 400, "BAD_REQUEST")
    else:
        body = assert_error(r, 404, "NOT_FOUND")
        if path.count("/") == 3 and not path.endswith("/"):
            assert "start, stop, restart, reload" in body["error"]["message"], body
    assert "op=service-" not in service_agent.log()
    assert not fakes["marks"].exists()


def test_methods(service_agent):
    r = service_agent.request("POST", "/ocserv/service")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET"
    r = service_agent.get("/ocserv/service/restart")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "POST"


@pytest.mark.parametrize("body", [b'{"force": true}', b'{"unit": "sshd.service"}', b"[]", b"{",
                                  b'{"a":1,"a":1}'])
def test_actions_take_no_body_members(service_agent, fakes, body):
    assert_error(service_agent.post("/ocserv/service/restart", body=body), 400, "BAD_REQUEST")
    assert "op=service-" not in service_agent.log()
    assert not fakes["marks"].exists()


@pytest.mark.parametrize("method,path", [("GET", "/ocserv/service"),
                                         *[("POST", f"/ocserv/service/{a}") for a in ACTIONS],
                                         ("POST", "/ocserv/service/nope")])
@pytest.mark.parametrize("token", [None, "wrong"])
def test_auth_required(service_agent, fakes, method, path, token):
    r = http_request(service_agent.port, method, path, token=token)
    assert_error(r, 401, "UNAUTHORIZED")
    assert "op=service-" not in service_agent.log()
    assert not fakes["marks"].exists()
