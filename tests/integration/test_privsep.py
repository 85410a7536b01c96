"""Privilege separation on a real ocserv with real clients: the agent started as root stays root
in its main process (the root process) and serves HTTP from a child (the api process) that runs
as AGENT_USER with no capabilities, no_new_privs and a seccomp filter; only the root process
talks to ocserv; everything the API does works through the boundary, without sudo; the death of
either process ends the other, and the service exits non-zero (systemd restarts it)."""

import os
import signal
import stat
import subprocess

import pytest

from helpers import assert_error, assert_ok
from lab import (Agent, LabError, SSEStream, pid_alive, start_hooked_lab, unix_peer_pids,
                 wait_until)
from priv_harness import ensure_agent_user

API_COMM = "ocserv-agent-a"          # PRIVSEP_API_COMM
CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


# ---- /proc helpers ---------------------------------------------------------------------------

def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def api_pid(agent, timeout=10.0):
    """The agent's api process: its child named API_COMM."""
    def find():
        if agent.proc.poll() is not None:
            raise LabError(f"agent exited {agent.proc.returncode}:\n{agent.log()[-2000:]}")
        found = [c for c in children(agent.pid) if comm(c) == API_COMM]
        return found[0] if len(found) == 1 else None
    return wait_until(find, timeout, what="the api process")


def open_fds(pid):
    """[(fd, target, flags)] of a process."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = int(next(ln for ln in f if ln.startswith("flags:")).split()[1], 8)
        except (OSError, StopIteration):
            continue
        out.append((int(fd), target, flags))
    return out


# ---- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def user(netns):
    return ensure_agent_user()


@pytest.fixture(scope="module")
def hooked(netns, agent_bin, user):
    """A lab whose connect/disconnect scripts report to the agent's hook, and the agent
    (privsep by default: started as root)."""
    backups_env = {}
    lab, agent = start_hooked_lab(agent_env=backups_env)
    try:
        yield lab, agent
    finally:
        try:
            agent.close()
        finally:
            lab.close()


@pytest.fixture
def extra_agent(hooked):
    """Factory of more agents on the module's lab (stopped at the end)."""
    lab, _ = hooked
    made = []

    def make(env=None, start=True, **kw):
        a = Agent(lab=lab, env=env, **kw)
        made.append(a)
        if start:
            a.start()
        return a

    yield make
    for a in made:
        try:
            a.close()
        except LabError:
            pass


# ---- the layout ------------------------------------------------------------------------------

def test_two_processes_root_and_unprivileged(hooked, user):
    lab, agent = hooked
    root = proc_status(agent.pid)
    assert root["Uid"].split() == ["0"] * 4, root["Uid"]
    api = api_pid(agent)
    st = proc_status(api)
    assert st["Uid"].split() == [str(user.pw_uid)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(user.pw_gid)] * 4, st["Gid"]
    assert "0" not in st.get("Groups", "").split(), st.get("Groups")
    for cap in CAP_SETS:
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == "1", st["NoNewPrivs"]
    assert st["Seccomp"] == "2", st["Seccomp"]
    # the api process serves HTTP: the listening socket is its own, not the root process's
    assert_ok(agent.get("/ocserv/sessions"))


def test_only_the_root_process_talks_to_ocserv(hooked):
    lab, agent = hooked
    api = api_pid(agent)
    assert_ok(agent.get("/ocserv/sessions"))
    # The event subscription keeps a connection to ocserv's control socket open: the root
    # process's. The api process never has one.
    peers = wait_until(lambda: unix_peer_pids(lab.socket) or None, 10,
                       what="a connection to ocserv's control socket")
    assert agent.pid in peers, (peers, agent.pid, api)
    assert api not in peers, (peers, api)


def test_api_process_holds_no_root_owned_writable_file(hooked):
    lab, agent = hooked
    api = api_pid(agent)
    assert_ok(agent.get("/ocserv/accounts"))
    wrong = []
    for fd, target, flags in open_fds(api):
        if fd <= 2:
            continue        # stdio: the journal's stream (here the test's log file)
        if target in (lab.passwd, lab.conf) or target.startswith(lab.dir + "/config-per-"):
            wrong.append((fd, target, "one of ocserv's files"))
        if not target.startswith("/"):
            continue        # sockets, pipes, anon inodes
        try:
            st = os.stat(target)
        except OSError:
            continue
        if st.st_uid == 0 and stat.S_ISREG(st.st_mode) and (flags & 3) in (os.O_WRONLY,
                                                                             os.O_RDWR):
            wrong.append((fd, target, oct(flags)))
    assert not wrong, wrong


def test_api_user_cannot_read_the_secrets(hooked, user):
    """What the api process's user may open: not /etc/shadow, not ocpasswd as installed
    (root, 0600), not ocserv's server key. Checked with a process of the same uid, gid and (no)
    groups as the api process, whose own status shows that uid."""
    lab, agent = hooked
    st = proc_status(api_pid(agent))
    assert st["Uid"].split()[1] == str(user.pw_uid)
    os.chmod(lab.passwd, 0o600)
    key = os.path.join(lab.dir, "server-key.pem")
    os.chmod(key, 0o600)
    for path in ("/etc/shadow", lab.passwd, key):
        # root's, and nothing for others (/etc/shadow is 0640 root:shadow on Debian)
        assert os.stat(path).st_uid == 0 and os.stat(path).st_mode & 0o007 == 0, path
        assert os.stat(path).st_gid not in os.getgrouplist(user.pw_name, user.pw_gid), path
        r = subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                            "cat", path], capture_output=True, timeout=10)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, (path, r)
    # and yet the API reads the accounts: through the root process
    names = [a["username"] for a in assert_ok(agent.get("/ocserv/accounts"))["accounts"]]
    assert "alice" in names


# ---- the API through the boundary ------------------------------------------------------------

def test_end_to_end_through_the_boundary(hooked):
    lab, agent = hooked
    with SSEStream(agent.port, token=agent.token) as events:
        c = lab.connect_one("carol")
        ev = events.wait_event(lambda m: m.event == "connect" and m.json()["username"] == "carol",
                               20, "carol's connect event")
        assert ev.json()["vpnSessionId"] == c.session_id
        sessions = assert_ok(agent.get("/ocserv/sessions"))["sessions"]
        assert [s["vpnSessionId"] for s in sessions if s["username"] == "carol"] == \
            [c.session_id]
        body = assert_ok(agent.post("/ocserv/disconnect", {"vpnSessionId": c.session_id}))
        assert body["disconnected"] is True
        lab.wait_sessions("carol", 0)
        lab.forget_client(c)

    with open(lab.passwd, "rb") as f:
        before = f.read()
    body = assert_ok(agent.request("PUT", "/ocserv/accounts/psuser",
                                   json_body={"password": "ps-pw-1", "groups": ["staff"]}))
    assert body["created"] is True
    with open(lab.passwd, "rb") as f:
        after = f.read()
    assert after != before and any(ln.startswith(b"psuser:staff:$") for ln in after.splitlines())
    assert os.stat(lab.passwd).st_uid == 0        # written by root, owner kept
    # the new account logs in on the real ocserv
    lab.users["psuser"] = ("ps-pw-1", "staff")
    c2 = lab.connect_one("psuser")
    lab.kill_clients("psuser")
    assert c2.session_id

    with open(lab.conf, "rb") as f:
        conf_before = f.read()
    body = assert_ok(agent.request("PATCH", "/ocserv/config",
                                   json_body={"set": {"mtu": 1300}, "dryRun": True}))
    assert body["dryRun"] is True and "mtu" in body["changed"]
    assert [s["step"] for s in body["steps"]] == ["validate", "check"]
    with open(lab.conf, "rb") as f:
        assert f.read() == conf_before

    # and a refusal travels back as the API's error envelope
    assert_error(agent.get("/ocserv/accounts/..%2Fx"), 400, "BAD_REQUEST")


def test_no_sudo_in_privsep_mode(hooked, extra_agent, tmp_path):
    """OCCTL_USE_SUDO=true is the default for an unprivileged agent; in privilege-separated
    mode the root process runs occtl itself. /usr/bin/sudo is replaced (in a private mount
    namespace) by a script that leaves a marker and fails."""
    lab, _ = hooked
    marker = tmp_path / "sudo-ran"
    fake = tmp_path / "sudo"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n")
    fake.chmod(0o755)
    os.chmod(tmp_path, 0o755)
    wrapper = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
               f'mount --bind {fake} /usr/bin/sudo && exec "$@"', "fake-sudo"]
    a = extra_agent(env={"OCCTL_USE_SUDO": "true", "OCSERV_BACKEND": "occtl"}, wrapper=wrapper)
    api_pid(a)
    c = lab.connect_one("alice")
    try:
        sessions = assert_ok(a.get("/ocserv/sessions"))["sessions"]
        assert c.session_id in [s["vpnSessionId"] for s in sessions]
        assert_ok(a.get("/ocserv/status"))
    finally:
        lab.kill_clients("alice")
    assert not marker.exists(), marker.read_text()


# ---- each notices the other's death ----------------------------------------------------------

def test_api_killed_agent_exits_nonzero(extra_agent):
    a = extra_agent()
    api = api_pid(a)
    os.kill(api, signal.SIGKILL)
    rc = a.proc.wait(5)
    assert rc != 0, rc
    assert not pid_alive(api)


def test_root_killed_api_exits(extra_agent):
    a = extra_agent()
    api = api_pid(a)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(5)
    wait_until(lambda: not pid_alive(api), 5, what="the api process to follow the root one")


def test_sigterm_stops_both_cleanly(extra_agent):
    a = extra_agent()
    api = api_pid(a)
    assert a.stop() == 0
    wait_until(lambda: not pid_alive(api), 5, what="the api process to exit")


# ---- modes and refusals ----------------------------------------------------------------------

def test_privsep_off_is_one_root_process(extra_agent):
    a = extra_agent(env={"AGENT_PRIVSEP": "off"})
    assert_ok(a.get("/ocserv/sessions"))
    assert [c for c in children(a.pid) if comm(c) == API_COMM] == []
    assert proc_status(a.pid)["Uid"].split()[0] == "0"


def test_seccomp_can_be_turned_off(extra_agent, user):
    a = extra_agent(env={"AGENT_SECCOMP": "false"})
    st = proc_status(api_pid(a))
    assert st["Seccomp"] == "0" and st["NoNewPrivs"] == "1"
    assert st["Uid"].split()[0] == str(user.pw_uid)


@pytest.mark.parametrize("name,words", [
    ("root", ["AGENT_USER", "root"]),
    ("no-such-user-xyz", ["AGENT_USER", "no-such-user-xyz"]),
])
def test_bad_agent_user_refused_at_start(extra_agent, name, words):
    a = extra_agent(env={"AGENT_USER": name}, start=False)
    a.start(wait=False)
    rc = a.proc.wait(10)
    assert rc != 0, rc
    log = a.log()
    for w in words:
        assert w in log, log[-2000:]


def test_privsep_on_requires_root(extra_agent, user):
    """AGENT_PRIVSEP=on refuses to start unless root: as the unprivileged user it exits."""
    a = extra_agent(env={"AGENT_PRIVSEP": "on"}, start=False,
                    wrapper=["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                             "--clear-groups"])
    a.start(wait=False)
    rc = a.proc.wait(10)
    assert rc != 0, rc
    assert "AGENT_PRIVSEP" in a.log(), a.log()[-2000:]
