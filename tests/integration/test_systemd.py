"""The systemd contract of dist/ocserv-agent.service (Type=notify): READY=1 once the agent
answers HTTP, STOPPING=1 on SIGTERM, exit code 0. Checked with a real notify socket.

And the shipped units themselves: the privilege-separated unit has the hardening its comments
claim (no User=, NoNewPrivileges, seccomp, a narrow capability bounding set ...), the sudo-mode
unit has none that would stop sudo, and `systemd-analyze verify` accepts both without a warning.
This machine does not run systemd as PID 1, so neither unit is started here."""

import os
import re
import shutil
import socket
import subprocess

import pytest

from helpers import assert_ok
from lab import REPO, Agent

PRIVSEP_UNIT = os.path.join(REPO, "dist", "ocserv-agent.service")
SUDO_UNIT = os.path.join(REPO, "dist", "ocserv-agent-sudo.service")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def recv_all(sock, timeout):
    sock.settimeout(timeout)
    got = []
    try:
        while True:
            got.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    return got


def test_sd_notify_ready_and_stopping(lab, agent_bin, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        a = Agent(lab=lab, env={"NOTIFY_SOCKET": path})
        try:
            a.start(wait=False)
            sock.settimeout(10)
            first = sock.recv(4096).decode()
            assert "READY=1" in first, first
            # READY means serving: the very next request must be answered.
            assert_ok(a.get("/ocserv/health"))
            assert a.stop() == 0
            rest = recv_all(sock, 1.0)
            assert any("STOPPING=1" in m for m in rest), rest
        finally:
            a.close()
    finally:
        sock.close()
        os.unlink(path)


def test_stale_journal_stream_does_not_swallow_logs(lab, agent_bin):
    """$JOURNAL_STREAM inherited by a process whose stderr is a file: log to the file."""
    a = Agent(lab=lab, env={"JOURNAL_STREAM": "8:12345"})
    try:
        a.start()
        r = a.get("/ocserv/health")
        assert_ok(r)
        a.stop()
        assert r.header("X-Request-Id") in a.log()
    finally:
        a.close()


# ---- the unit files ----------------------------------------------------------------------------


def parse_unit(path):
    """{section: {key: [values in order]}}, as systemd reads a unit file: comments start with
    # or ;, a trailing backslash continues the line, a key may be given more than once."""
    sections, cur, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            stripped = line.strip()
            if not stripped or stripped[0] in "#;":
                continue
            m = re.fullmatch(r"\[([A-Za-z]+)\]", stripped)
            if m:
                cur = sections.setdefault(m.group(1), {})
                continue
            key, sep, value = stripped.partition("=")
            assert sep and cur is not None, f"{path}: bad line {line!r}"
            cur.setdefault(key.strip(), []).append(value.strip())
    return sections


def words(values):
    return {w for v in values for w in v.split()}


@pytest.fixture(scope="module")
def privsep_unit():
    return parse_unit(PRIVSEP_UNIT)


@pytest.fixture(scope="module")
def sudo_unit():
    return parse_unit(SUDO_UNIT)


def test_privsep_unit_runs_as_root_and_is_managed_as_notify(privsep_unit):
    svc = privsep_unit["Service"]
    for key in ("User", "Group", "DynamicUser", "PrivateUsers", "PrivateNetwork", "ProcSubset",
                "IPAddressDeny", "ReadOnlyPaths", "InaccessiblePaths", "RemoveIPC"):
        assert key not in svc, key
    assert not any("sudo" in v for v in svc.get("ReadWritePaths", []))
    assert svc["Type"] == ["notify"] and svc["NotifyAccess"] == ["main"]
    assert svc["ExecStart"] == ["/usr/local/bin/ocserv-agent"]
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert svc["KillMode"] == ["mixed"] and svc["Restart"] == ["on-failure"]
    assert svc["StateDirectory"] == ["ocserv-agent"] and svc["StateDirectoryMode"] == ["0711"]
    assert svc["RuntimeDirectory"] == ["ocserv-agent"]
    assert svc["RuntimeDirectoryMode"] == ["0700"]
    assert svc["EnvironmentFile"] == ["/etc/ocserv-agent.env"]
    assert privsep_unit["Install"]["WantedBy"] == ["multi-user.target"]


# What the unit's comments claim, option by option (the last assignment wins in systemd).
PRIVSEP_HARDENING = {
    "NoNewPrivileges": "yes", "RestrictSUIDSGID": "yes", "AmbientCapabilities": "",
    "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "DevicePolicy": "closed", "PrivateIPC": "yes",
    "PrivateMounts": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
    "ProtectControlGroups": "yes", "ProtectProc": "invisible",
    "SystemCallArchitectures": "native", "SystemCallErrorNumber": "EPERM",
    "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes", "UMask": "0077",
}


@pytest.mark.parametrize("key,value", sorted(PRIVSEP_HARDENING.items()))
def test_privsep_unit_hardening(privsep_unit, key, value):
    assert privsep_unit["Service"].get(key, [None])[-1] == value, key


def test_privsep_unit_capabilities_and_system_calls(privsep_unit):
    svc = privsep_unit["Service"]
    # Exactly what the root process needs: drop to AGENT_USER, signal it, keep files' owners,
    # bind a low port. Not CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH.
    assert words(svc["CapabilityBoundingSet"]) == {
        "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL", "CAP_CHOWN", "CAP_FOWNER",
        "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE"}
    assert not any(v.startswith("~") for v in svc["CapabilityBoundingSet"])
    # An allow-list (no "~"), plus seccomp() for the api process's own filter.
    assert all(not v.startswith("~") for v in svc["SystemCallFilter"])
    assert words(svc["SystemCallFilter"]) == {"@system-service", "seccomp"}
    assert words(svc["RestrictAddressFamilies"]) == {"AF_UNIX", "AF_INET", "AF_INET6",
                                                     "AF_NETLINK"}
    # No device beyond the pseudo devices: the login probe makes no tunnel.
    assert "DeviceAllow" not in svc
    # The root process writes ocpasswd, ocserv.conf and the per-user files there.
    assert svc["ReadWritePaths"] == ["-/etc/ocserv"]


def test_privsep_unit_documents_what_it_leaves_out():
    text = open(PRIVSEP_UNIT).read()
    head, sep, not_set = text.partition("# --- Deliberately NOT set")
    assert sep, "the unit lists the options it leaves out"
    for key in ("User=", "PrivateUsers=", "PrivateNetwork=", "ProcSubset=", "NoExecPaths=",
                "RemoveIPC=", "RestrictFileSystems="):
        assert f"# {key}" in not_set, key
    for cap in ("CAP_SYS_ADMIN", "CAP_NET_ADMIN"):
        assert re.search(rf"^#   {cap}\b.*:", head, re.M), cap
    assert "LoadCredential=" in head and "AGENT_AUTH_TOKEN_CURRENT_FILE=" in head


def test_sudo_unit_keeps_out_of_sudos_way(sudo_unit):
    """sudo is setuid root: nothing may set no_new_privs (every seccomp-based option does, for a
    non-root service) or narrow the capability bounding set."""
    svc = sudo_unit["Service"]
    assert svc["User"] == ["ocservagent"] and svc["Group"] == ["ocservagent"]
    assert svc["Environment"] == ["AGENT_PRIVSEP=off"]
    assert svc["Type"] == ["notify"] and svc["KillMode"] == ["mixed"]
    assert svc["StateDirectoryMode"] == ["0750"]
    for key in ("NoNewPrivileges", "RestrictSUIDSGID", "CapabilityBoundingSet",
                "SystemCallFilter", "SystemCallArchitectures", "RestrictAddressFamilies",
                "RestrictNamespaces", "RestrictRealtime", "LockPersonality",
                "MemoryDenyWriteExecute", "PrivateDevices", "ProtectClock", "ProtectHostname",
                "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "PrivateUsers"):
        assert key not in svc, key
    assert svc["ProtectSystem"] == ["strict"] and svc["ReadWritePaths"] == ["-/run/sudo"]


def verify(tmp_path, unit, exec_start):
    """systemd-analyze verify on a copy whose ExecStart names a binary that exists here (the
    shipped path is only there after install.sh). Unknown keys and bad values are only
    warnings, with exit status 0: so any output fails too."""
    text = open(unit).read()
    text, n = re.subn(r"^ExecStart=.*$", f"ExecStart={exec_start}", text, flags=re.M)
    assert n == 1
    copy = tmp_path / os.path.basename(unit)
    copy.write_text(text)
    return subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", [PRIVSEP_UNIT, SUDO_UNIT])
def test_systemd_analyze_verify(tmp_path, unit):
    exe = os.environ.get("OA_AGENT_BIN") or "/bin/true"
    r = verify(tmp_path, unit, exe if os.access(exe, os.X_OK) else "/bin/true")
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_catches_a_misspelt_option(tmp_path):
    """The check above can fail: a wrong key or value is reported."""
    bad = tmp_path / "bad" / "ocserv-agent.service"
    bad.parent.mkdir()
    bad.write_text(open(PRIVSEP_UNIT).read().replace("ProtectClock=yes",
                                                     "ProtectClocks=yes\nPrivateDevices=maybe"))
    r = verify(tmp_path, str(bad), "/bin/true")
    assert "ProtectClocks" in r.stderr and "maybe" in r.stderr, r.stderr
