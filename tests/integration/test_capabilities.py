"""GET /ocserv/capabilities: the ocserv version (from the real binary) and what the agent can do
with it; terminate depends on ocserv's version and on its connect-script being the agent's hook."""

import re
import subprocess

import pytest

from helpers import assert_error, assert_ok
import lab_chroot
from lab import OCSERV, free_port, start_hooked_lab


def ocserv_version():
    """The host's ocserv (`ocserv --version`), or the chroot's under OA_OCSERV_VERSION."""
    if lab_chroot.selected_version() != lab_chroot.HOST_VERSION:
        return lab_chroot.chroot_version(lab_chroot.root_for(lab_chroot.selected_version()))
    r = subprocess.run([OCSERV, "--version"], capture_output=True, text=True, timeout=10)
    m = re.search(r"(\d+\.\d+\.\d+)", r.stdout + r.stderr)
    assert m, r
    return m.group(1)


@pytest.fixture(scope="module")
def hooked(netns, agent_bin):
    """The host's ocserv only (a chroot's cannot run the host's agent as its connect-script)."""
    if lab_chroot.selected_version() != lab_chroot.HOST_VERSION:
        pytest.skip("the hook lab runs the host's ocserv only (covered by the 1.1.6 run)")
    lab, agent = start_hooked_lab(port=free_port(), network="192.168.95.0", name="caps")
    try:
        yield lab, agent
    finally:
        try:
            agent.close()
        finally:
            lab.close()


def check_shape(body):
    assert isinstance(body["ocserv"], dict) and isinstance(body["capabilities"], dict), body
    t = body["capabilities"]["terminate"]
    assert set(t) >= {"supported", "method", "reason"}, t
    assert isinstance(t["supported"], bool)
    assert t["method"] in ("native", "hook", None)
    assert (t["method"] is None) == (t["supported"] is False), t
    assert isinstance(t["reason"], str) and t["reason"], t
    return t


def test_version_is_the_real_ocserv(agent, lab):
    body = assert_ok(agent.get("/ocserv/capabilities"))
    assert body["ocserv"]["version"] == ocserv_version()
    check_shape(body)


def test_terminate_unsupported_without_hook(agent, lab):
    assert "connect-script" not in open(lab.conf).read()
    t = check_shape(assert_ok(agent.get("/ocserv/capabilities")))
    assert t["lastHookEventAt"] is None, t  # ocserv never ran the hook
    v = tuple(int(x) for x in ocserv_version().split("."))
    if v >= (1, 4, 2):
        assert t["supported"] is True and t["method"] == "native", t
    else:
        assert t["supported"] is False and t["method"] is None, t
        assert "hook" in t["reason"].lower(), t


def test_terminate_by_hook_when_connect_script_is_the_hook(hooked):
    lab, agent = hooked
    assert "agent-hook.sh" in open(lab.conf).read()
    body = assert_ok(agent.get("/ocserv/capabilities"))
    assert body["ocserv"]["version"] == ocserv_version()
    t = check_shape(body)
    v = tuple(int(x) for x in ocserv_version().split("."))
    assert t["supported"] is True and t["method"] == ("native" if v >= (1, 4, 2) else "hook"), t


def test_capabilities_need_auth(agent):
    assert_error(agent.get("/ocserv/capabilities", token=None), 401, "UNAUTHORIZED")
    assert_error(agent.request("POST", "/ocserv/capabilities"), 405, "METHOD_NOT_ALLOWED")
