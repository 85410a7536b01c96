"""The deployment the runbook describes: the agent runs as an unprivileged user and reaches
occtl through `sudo -n` and a narrow sudoers rule (what dist/install.sh writes). Proven with a
throwaway system user and rule, a real ocserv and a real openconnect session."""

import os
import pwd
import secrets
import shutil
import subprocess

import pytest

from helpers import assert_error, assert_ok
from lab import Agent, LabError

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"


@pytest.fixture(scope="module")
def service_user():
    name = f"oa-sudo-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def sudoers_rule(service_user):
    path = f"/etc/sudoers.d/{service_user.pw_name}"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{service_user.pw_name} ALL=(root) NOPASSWD: /usr/bin/occtl\n")
    os.chmod(tmp, 0o440)
    subprocess.run(["visudo", "-cqf", tmp], check=True, capture_output=True)
    os.rename(tmp, path)
    yield path
    if os.path.exists(path):
        os.unlink(path)


def unprivileged_agent(lab, agent_bin, user):
    a = Agent(lab=lab, binary=SETPRIV,
              args=["--reuid", str(user.pw_uid), "--regid", str(user.pw_gid), "--clear-groups",
                    "--", agent_bin],
              env={"OCCTL_USE_SUDO": "true"})
    os.chown(a.state_dir, user.pw_uid, user.pw_gid)
    return a


def agent_uid(agent):
    with open(f"/proc/{agent.pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise LabError("no Uid line")


def test_unprivileged_agent_uses_sudo_occtl(lab, agent_bin, service_user, sudoers_rule):
    client = lab.connect_one("carol")
    a = unprivileged_agent(lab, agent_bin, service_user)
    try:
        a.start()
        assert agent_uid(a) == service_user.pw_uid != 0
        health = assert_ok(a.get("/ocserv/health"))
        assert health["ocserv"] == {"ok": True}, health
        assert health["agent"]["persistedInstanceId"] is True
        sessions = assert_ok(a.get("/ocserv/sessions"))["sessions"]
        ids = [s["vpnSessionId"] for s in sessions if s["username"] == "carol"]
        assert ids == [client.session_id]
        # A state-changing call through sudo as well.
        body = assert_ok(a.post("/ocserv/disconnect", {"vpnSessionId": client.session_id}))
        assert body["disconnected"] is True
        assert client.session_id not in lab.session_ids("carol")
    finally:
        a.close()
        lab.kill_clients("carol")


def test_unprivileged_agent_without_sudo_rule_is_degraded(lab, agent_bin, service_user,
                                                          sudoers_rule):
    os.unlink(sudoers_rule)  # as if the installer's rule were missing
    a = unprivileged_agent(lab, agent_bin, service_user)
    try:
        a.start()
        health = assert_ok(a.get("/ocserv/health"))
        assert health["ocserv"]["ok"] is False
        assert health["ocserv"]["errorCode"] == "OCCTL_FAILED"
        assert_error(a.get("/ocserv/sessions"), 503, "OCCTL_FAILED")
        # The reason is in the log (sudo refused), not in the response.
        assert "sudo" in a.log()
    finally:
        a.close()
