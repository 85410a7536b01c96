"""The deployment the runbook describes: the agent runs as an unprivileged user and reaches
occtl through `sudo -n` and the narrow sudoers rule that dist/install.sh writes. Proven with a
throwaway system user, the installer's real rule (for the lab's socket), a real ocserv and real
openconnect sessions: the agent's every command passes, everything else is refused, and a hung
ocserv leaves no root occtl behind."""

import fcntl
import json
import os
import pty
import pwd
import re
import secrets
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
import urllib.parse

import pytest

from helpers import assert_error, assert_ok, minimal_root
from lab import OCCTL, REPO, Agent, LabError, kill_quiet, pid_alive, wait_until
import lab_chroot

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
SUDO = "/usr/bin/sudo"
INSTALL = os.path.join(REPO, "dist", "install.sh")
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
# OA_OCSERV_VERSION=1.3.0/1.5.0 (lab_chroot.py): the agent's OCCTL_PATH is a wrapper script that
# runs the chroot's occtl; the installer's rule names /usr/bin/occtl and NOEXEC stops a wrapper.
HOST_OCCTL_ONLY = pytest.mark.skipif(
    lab_chroot.selected_version() != lab_chroot.HOST_VERSION,
    reason="an agent under the installer's sudo rule runs the host's /usr/bin/occtl only (NOEXEC "
           "stops the chroot lab's occtl wrapper); the rule does not depend on ocserv's version")


@pytest.fixture(scope="module")
def service_user():
    name = f"oa-sudo-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def installer_rule(tmp_path, socket, conf=None):
    """The sudoers file dist/install.sh writes when the env file sets OCCTL_SOCKET=socket (and
    OCSERV_CONF_PATH=conf)."""
    root = minimal_root(tmp_path / "install-root")
    etc = root / "etc"
    (etc / "ocserv-agent.env").write_text(
        f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH={OCCTL}\nOCCTL_SOCKET={socket}\n"
        + (f"OCSERV_CONF_PATH={conf}\n" if conf else ""))
    r = subprocess.run(["bash", INSTALL, "--root", str(root), "--bin", "/bin/true", "--sudo-mode"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return (etc / "sudoers.d" / "ocserv-agent").read_text()


@pytest.fixture
def sudoers_rule(lab, service_user, tmp_path):
    """The installer's rule, active for the throwaway user instead of ocservagent."""
    text = installer_rule(tmp_path, lab.socket, lab.conf)
    assert f"{OCCTL} -s {lab.socket} -j show users," in text
    text, users = re.subn(r"^ocservagent(?=\s)", service_user.pw_name, text, flags=re.M)
    # Alias names are global to sudo: unique ones cannot clash with a real installation's file.
    text, aliases = re.subn(r"\bOCSERV_AGENT_(OCCTL|SYSTEMCTL|CHECK)\b",
                            rf"OA_TEST_{secrets.token_hex(4).upper()}_\1", text)
    assert (users, aliases) == (1, 6), text
    path = f"/etc/sudoers.d/{service_user.pw_name}"
    tmp = path + ".tmp"  # a name with a dot: sudo ignores it
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o440)
        subprocess.run(["visudo", "-cqf", tmp], check=True, capture_output=True)
        os.rename(tmp, path)
        yield path
    finally:
        for p in (tmp, path):
            if os.path.exists(p):
                os.unlink(p)


def as_user(user):
    return [SETPRIV, "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid), "--clear-groups",
            "--"]


def sudo_as(user, *args, input=None, timeout=20):
    """`sudo -n ARGS` run by the user, with the environment the agent gives its children."""
    return subprocess.run(as_user(user) + [SUDO, "-n", *args], env=CLEAN_ENV, input=input or "",
                          capture_output=True, text=True, timeout=timeout)


def unprivileged_agent(lab, agent_bin, user, **kw):
    a = Agent(lab=lab, binary=SETPRIV, args=as_user(user) + [agent_bin],
              env={"OCCTL_USE_SUDO": "true"}, **kw)
    os.chown(a.state_dir, user.pw_uid, user.pw_gid)
    return a


def agent_uid(agent):
    with open(f"/proc/{agent.pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise LabError("no Uid line")


def ocserv_alive(lab):
    return lab.running() and lab.occtl("show", "status").returncode == 0


@HOST_OCCTL_ONLY
def test_unprivileged_agent_uses_sudo_occtl(lab, agent_bin, service_user, sudoers_rule):
    """Every occtl command the agent has passes the rule: show status/users/user/id,
    disconnect id/user."""
    carol = lab.connect_one("carol")
    lab.connect("alice", 2)
    a = unprivileged_agent(lab, agent_bin, service_user)
    try:
        a.start()
        assert agent_uid(a) == service_user.pw_uid != 0
        health = assert_ok(a.get("/ocserv/health"))  # show status
        assert health["ocserv"] == {"ok": True}, health
        assert health["agent"]["persistedInstanceId"] is True
        status = assert_ok(a.get("/ocserv/status"))["status"]  # show status
        assert status["activeSessions"] >= 3, status
        sessions = assert_ok(a.get("/ocserv/sessions"))["sessions"]  # show users
        ids = [s["vpnSessionId"] for s in sessions if s["username"] == "carol"]
        assert ids == [carol.session_id], sessions
        by_name = assert_ok(a.get("/ocserv/session?username=carol"))["session"]  # show user
        by_id = assert_ok(a.get(f"/ocserv/session?vpnSessionId={carol.session_id}"))["session"]
        assert by_name["vpnSessionId"] == by_id["vpnSessionId"] == carol.session_id
        # State-changing calls through sudo as well: show id + disconnect id ...
        body = assert_ok(a.post("/ocserv/disconnect", {"vpnSessionId": carol.session_id}))
        assert body["disconnected"] is True, body
        lab.wait_sessions("carol", 0)
        # ... and show user + disconnect user.
        body = assert_ok(a.post("/ocserv/disconnectAll", {"username": "alice"}))
        assert body["disconnectedCount"] == 2, body
        lab.wait_sessions("alice", 0)
        assert "password is required" not in a.log()
    finally:
        a.close()
        lab.kill_clients("carol")
        lab.kill_clients("alice")


@HOST_OCCTL_ONLY
def test_unprivileged_agent_runs_every_new_command_through_sudo(lab, agent_bin, service_user,
                                                                sudoers_rule):
    """show sessions/session/iroutes/ip bans/ip ban points, unban, ocserv -t and reload all pass
    the rule: no endpoint answers with sudo's refusal."""
    carol = lab.connect_one("carol")
    a = unprivileged_agent(lab, agent_bin, service_user)
    try:
        a.start()
        assert agent_uid(a) != 0
        detail = assert_ok(a.get(f"/ocserv/sessions/{carol.session_id}"))["session"]  # show id
        assert detail["username"] == "carol"
        cookies = assert_ok(a.get("/ocserv/cookies"))["cookies"]  # show sessions all
        mine = [c for c in cookies if c["username"] == "carol"]
        assert mine, cookies
        assert_ok(a.get("/ocserv/cookies?valid=true"))  # show sessions valid
        # Short ids are base64 too ("/", "+"): one path segment, percent-encoded.
        sid = urllib.parse.quote(mine[0]["sessionId"], safe="")
        one = assert_ok(a.get(f"/ocserv/cookies/{sid}"))  # show session
        assert one["cookie"]["username"] == "carol"
        assert_ok(a.get("/ocserv/iroutes"))  # show iroutes
        assert_ok(a.get("/ocserv/bans"))  # show ip bans
        assert_ok(a.get("/ocserv/ban-points"))  # show ip ban points
        assert_error(a.request("DELETE", "/ocserv/bans/10.9.8.7"), 404, "NOT_FOUND")  # unban
        pid = lab.status_json()["Server PID"]
        assert assert_ok(a.post("/ocserv/reload", {}))["reloaded"] is True  # ocserv -t, reload
        assert lab.status_json()["Server PID"] == pid
        assert "password is required" not in a.log() and "not allowed" not in a.log()
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


def test_rule_refuses_what_the_agent_never_runs(lab, service_user, sudoers_rule):
    sock = lab.socket
    pid_before = lab.status_json()["Server PID"]
    ok = sudo_as(service_user, OCCTL, "-s", sock, "-j", "show", "users")
    assert ok.returncode == 0, ok.stderr
    assert isinstance(json.loads(ok.stdout), list)

    refused = [
        [OCCTL, "-s", sock, "stop", "now"],
        [OCCTL, "-s", sock, "-j", "reload"],
        [OCCTL, "-s", "/tmp/other.sock", "-j", "show", "users"],
        [OCCTL, "-s", sock, "show", "users"],  # no -j
        [OCCTL, "-j", "show", "users"],  # occtl's default socket
        [OCCTL, "-s", sock, "-j", "-s", "/tmp/other.sock", "show", "users"],
        [OCCTL, "-s", sock, "-j", "show", "users", "extra"],
        [OCCTL, "-s", sock, "-j", "show", "user"],  # no name
        [OCCTL, "-s", sock, "-j", "show", "events"],
        [OCCTL, "-s", sock, "show", "ip", "bans"],  # no -j
        [OCCTL, "-s", sock, "unban", "ip"],  # no address
        [OCCTL, "-s", sock, "-j", "show", "sessions"],
        [OCCTL, "-s", sock, "terminate", "id", "-1"],
        ["/usr/sbin/ocserv", "-t", "-c", "/tmp/other.conf"],  # only the configured file
        ["/usr/sbin/ocserv", "-c", "/etc/ocserv/ocserv.conf"],  # never ocserv itself
        [OCCTL, "-s", sock, "disconnect", "id", "-1"],
        [OCCTL, "-s", sock],  # interactive
        [OCCTL],
        ["OCCTL_PAGER=/bin/sh", OCCTL, "-s", sock, "-j", "show", "users"],  # no SETENV
        ["-g", "root", OCCTL, "-s", sock, "-j", "show", "users"],  # no runas group
        ["-u", "nobody", OCCTL, "-s", sock, "-j", "show", "users"],
        ["/bin/sh", "-c", "id"],
    ]
    for args in refused:
        r = sudo_as(service_user, *args)
        assert r.returncode != 0, (args, r.stdout)
        assert "a password is required" in r.stderr or "not allowed" in r.stderr, (args, r.stderr)

    # A "*" in the rule matches spaces too, but occtl reads options only before the command
    # words and takes all the rest as the name or id: these pass sudo, and each still runs
    # only the command the rule names (a lookup, or a disconnect of no one).
    r = sudo_as(service_user, OCCTL, "-s", sock, "-j", "show", "user", "x", "-s",
                "/tmp/other.sock")  # asks the lab's ocserv for a user named "x -s /tmp/..."
    assert r.returncode == 2 and json.loads(r.stdout) == [], (r.returncode, r.stdout, r.stderr)
    for tail in (["show", "user", "x", "stop", "now"], ["show", "id", "1", "reload"]):
        r = sudo_as(service_user, OCCTL, "-s", sock, "-j", *tail)
        assert "password" not in r.stderr, (tail, r.stderr)
    r = sudo_as(service_user, OCCTL, "-s", sock, "disconnect", "user", "nobody", "stop", "now")
    assert "password" not in r.stderr, r.stderr
    # sudo compares the joined string, so this also passes: occtl then takes the whole
    # argument as a socket path, which nobody can create (install.sh checks the directories).
    r = sudo_as(service_user, OCCTL, "-s", f"{sock} -j show users", input="stop now\n")
    assert f"{sock} -j show users" in r.stderr, r.stderr  # "error connecting to ... socket"

    assert ocserv_alive(lab), lab.server_log()[-2000:]
    assert lab.status_json()["Server PID"] == pid_before


def test_rule_allows_exactly_the_service_actions(service_user, sudoers_rule):
    """`sudo -l CMD` answers whether the rule allows CMD without running it: the four actions
    on ocserv's unit pass (src/service.c runs them), any other systemctl use does not."""
    systemctl = "/usr/bin/systemctl"
    for action in ("start", "stop", "restart", "reload"):
        r = sudo_as(service_user, "-l", systemctl, action, "ocserv.service")
        assert r.returncode == 0, (action, r.stdout, r.stderr)
    refused = [
        [action, "ocserv"] for action in ("start", "stop", "restart", "reload")
    ] + [
        ["restart", "other.service"],
        ["restart", "ocserv.service", "other.service"],
        ["restart", "--no-block", "ocserv.service"],
        ["show", "ocserv.service"],  # read without sudo
        ["status", "ocserv.service"],  # a pager
        ["enable", "ocserv.service"], ["disable", "ocserv.service"], ["mask", "ocserv.service"],
        ["edit", "ocserv.service"], ["kill", "ocserv.service"], ["daemon-reload"],
        ["set-property", "ocserv.service", "CPUQuota=1%"], ["reboot"], [],
    ]
    for args in refused:
        r = sudo_as(service_user, "-l", systemctl, *args)
        assert r.returncode != 0, (args, r.stdout)


def test_rule_gives_no_pager_shell(lab, service_user, sudoers_rule):
    """On a terminal occtl pipes its output through less, and less's `!cmd` runs cmd as root.
    The rule's NOEXEC stops occtl from starting any program; the output is still printed."""
    lab.connect_one("alice")  # enough JSON for more than one screen
    marker = os.path.join(lab.dir, f"pager-escape-{secrets.token_hex(4)}")
    pid, fd = pty.fork()
    if pid == 0:  # child: on the new terminal, as the service user
        try:
            os.execve(SETPRIV, as_user(service_user) + [SUDO, "-n", OCCTL, "-s", lab.socket,
                                                        "-j", "show", "users"],
                      dict(CLEAN_ENV, TERM="xterm"))
        finally:
            os._exit(127)
    out = b""
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 10, 80, 0, 0))
        start = time.monotonic()
        keys = [(1.5, f"!touch {marker}\n".encode()), (3.0, b"\n"), (3.5, b"q")]
        while time.monotonic() - start < 15:
            if keys and time.monotonic() - start >= keys[0][0]:
                try:
                    os.write(fd, keys.pop(0)[1])
                except OSError:
                    keys = []
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's last user has gone
                    data = b""
                if not data:
                    break
                out += data
        assert b'"alice"' in out, out[-2000:]
        # occtl did try its pager (so this test tested something), and could not start it.
        assert b"unable to start pager" in out, out[-2000:]
        assert not os.path.exists(marker), "the pager ran a command as root"
    finally:
        if not os.waitpid(pid, os.WNOHANG)[0]:
            kill_quiet(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
        if os.path.exists(marker):
            os.unlink(marker)
        lab.kill_clients("alice")


def runs_for(sock):
    """occtl and sudo processes (any uid, any parent) whose command line names this socket."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/status") as f:
                st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except (OSError, ValueError):
            continue  # gone, or a zombie (no exe)
        names = {os.path.basename(exe), os.path.basename(argv[0].decode(errors="replace"))}
        if names & {"occtl", "sudo"} and sock.encode() in argv:
            found.append({"pid": int(pid), "exe": exe, "uid": st["Uid"].split()[0],
                          "ppid": st["PPid"], "state": st["State"],
                          "argv": b" ".join(argv).decode(errors="replace")})
    return found


@HOST_OCCTL_ONLY
def test_hung_ocserv_leaves_no_root_occtl(lab, agent_bin, service_user, sudoers_rule):
    """A timed-out call must end the root occtl behind sudo, not just sudo: otherwise every
    request to a hung ocserv leaves one more root occtl waiting on the socket."""
    a = unprivileged_agent(lab, agent_bin, service_user, timeout_ms=1500)
    leftovers = []
    paused = False
    try:
        a.start()
        assert_ok(a.get("/ocserv/sessions"))
        assert runs_for(lab.socket) == []
        lab.pause()  # SIGSTOP: occtl connects and waits for an answer that never comes
        paused = True
        for _ in range(3):
            r = a.get("/ocserv/sessions", timeout=30)
            assert_error(r, 503, "OCCTL_TIMEOUT")
            assert r.elapsed < 1.5 + 5, r.elapsed
        # Still hung: nothing may be left waiting.
        try:
            wait_until(lambda: not runs_for(lab.socket), 5.0, interval=0.1)
        except LabError:
            leftovers = runs_for(lab.socket)
        assert not leftovers, f"left behind while ocserv hangs: {leftovers}"
        lab.resume()
        paused = False
        try:
            wait_until(lambda: not runs_for(lab.socket), 5.0, interval=0.1)
        except LabError:
            leftovers = runs_for(lab.socket)
        assert not leftovers, f"left behind after ocserv resumed: {leftovers}"
        assert_ok(a.get("/ocserv/sessions"))
    finally:
        if paused:
            lab.resume()
        a.close()
        left = runs_for(lab.socket)
        for p in left:  # whatever a failure left behind (started by this test's agent)
            kill_quiet(p["pid"], signal.SIGKILL)
        try:
            wait_until(lambda: not any(pid_alive(p["pid"]) for p in left), 5.0)
        except LabError:
            pass
