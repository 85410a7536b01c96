"""dist/install.sh, run for real into a throwaway root (--root): the service user, the state
directory, the binary, the unit (enabled), a sudoers rule that visudo accepts and that allows
exactly the occtl and systemctl commands the agent runs, and an env file with a generated token that a second
run never rewrites. (tests/integration/test_sudo.py puts the same rule to work with real sudo.)"""

import json
import os
import re
import stat
import subprocess

import pytest

from helpers import minimal_root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL = os.path.join(REPO, "dist", "install.sh")


def make_root(tmp_path):
    return minimal_root(tmp_path / "root")


def install(root, *extra):
    return subprocess.run(["bash", INSTALL, "--root", str(root), "--bin", "/bin/true", *extra],
                          capture_output=True, text=True, timeout=120)


def agent_commands(occtl="/usr/bin/occtl", socket=None, systemctl="/usr/bin/systemctl",
                   unit="ocserv.service", ocserv="/usr/sbin/ocserv",
                   conf="/etc/ocserv/ocserv.conf"):
    """What the agent runs after `sudo -n` (src/occtl.c, src/service.c, src/conf_check.c), as
    sudoers patterns."""
    p = f"{occtl} -s {socket}" if socket else occtl
    return {f"{p} -j show status", f"{p} -j show users", f"{p} -j show user *",
            f"{p} -j show id [1-9]*", f"{p} disconnect id [1-9]*", f"{p} disconnect user *",
            f"{p} -j show sessions all", f"{p} -j show sessions valid",
            f"{p} -j show session *", f"{p} -j show iroutes", f"{p} -j show ip bans",
            f"{p} -j show ip ban points", f"{p} unban ip *", f"{p} reload",
            f"{p} terminate id [1-9]*", f"{p} terminate user *", f"{p} terminate session *",
            f"{ocserv} -t -c {conf}",
            *(f"{systemctl} {a} {unit}" for a in ("start", "stop", "restart", "reload"))}


def parsed_rule(path):
    """The rule as sudo itself reads it (cvtsudoers, aliases expanded), after visudo accepts it."""
    v = subprocess.run(["visudo", "-cqf", str(path)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    c = subprocess.run(["cvtsudoers", "-e", "-f", "json", str(path)], capture_output=True,
                       text=True, check=True)
    return json.loads(c.stdout)


def assert_rule_allows_exactly(path, commands, user="ocservagent"):
    """One user spec: `user` on any host, as root only, no password, NOEXEC, these commands."""
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o440 and os.stat(path).st_uid == 0
    rule = parsed_rule(path)
    assert list(rule) == ["User_Specs"], rule  # no Defaults, nothing else
    [spec] = rule["User_Specs"]
    assert spec["User_List"] == [{"username": user}], spec
    assert spec["Host_List"] == [{"hostname": "ALL"}], spec
    [cmnd] = spec["Cmnd_Specs"]
    assert set(cmnd) == {"runasusers", "Options", "Commands"}, cmnd  # no runas group
    assert cmnd["runasusers"] == [{"username": "root"}], cmnd
    assert sorted(cmnd["Options"], key=json.dumps) == [{"authenticate": False}, {"noexec": True}]
    got = [c["command"] for c in cmnd["Commands"]]
    assert all(set(c) == {"command"} for c in cmnd["Commands"]), cmnd  # no negation, no digest
    assert len(got) == len(set(got)) and set(got) == commands, got


def entry(path, name):
    for line in path.read_text().splitlines():
        f = line.split(":")
        if f[0] == name:
            return f
    return None


def test_install_into_root_twice(tmp_path):
    root = make_root(tmp_path)
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    env = root / "etc/ocserv-agent.env"
    first = env.read_bytes()

    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert env.read_bytes() == first, "an existing env file must never be rewritten"

    user, group = entry(root / "etc/passwd", "ocservagent"), entry(root / "etc/group", "ocservagent")
    assert user and group
    assert (root / "etc/passwd").read_text().count("ocservagent:") == 1
    assert user[6].endswith("nologin")
    uid, gid = int(user[2]), int(group[2])

    st = os.stat(root / "var/lib/ocserv-agent")
    assert stat.S_IMODE(st.st_mode) == 0o750 and (st.st_uid, st.st_gid) == (uid, gid)

    binary = root / "usr/local/bin/ocserv-agent"
    assert stat.S_IMODE(os.stat(binary).st_mode) == 0o755
    assert binary.read_bytes() == open("/bin/true", "rb").read()

    st = os.stat(env)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    assert re.search(r"^AGENT_AUTH_TOKEN_CURRENT=[0-9a-f]{64}$", first.decode(), re.M)

    sudoers = root / "etc/sudoers.d/ocserv-agent"
    assert_rule_allows_exactly(sudoers, agent_commands())
    assert not [n for n in os.listdir(root / "etc/sudoers.d") if n != "ocserv-agent"]

    unit = root / "etc/systemd/system/ocserv-agent.service"
    assert unit.read_bytes() == open(os.path.join(REPO, "dist/ocserv-agent.service"), "rb").read()
    link = root / "etc/systemd/system/multi-user.target.wants/ocserv-agent.service"
    assert os.readlink(link) == "/etc/systemd/system/ocserv-agent.service"


def test_install_uses_occtl_path_from_env_file(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        'AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH="/opt/ocserv/bin/occtl"\n')
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_rule_allows_exactly(root / "etc/sudoers.d/ocserv-agent",
                               agent_commands("/opt/ocserv/bin/occtl"))
    assert (root / "etc/ocserv-agent.env").read_text().startswith("AGENT_AUTH_TOKEN_CURRENT=x\n")


@pytest.mark.parametrize("line", [
    "OCCTL_SOCKET=/run/ocserv/occtl.socket",
    "  export OCCTL_SOCKET = '/run/ocserv/occtl.socket'  ",
    'OCCTL_SOCKET=/tmp/ignored\nOCCTL_SOCKET="/run/ocserv/occtl.socket"',  # the last one wins
])
def test_install_rule_with_occtl_socket(tmp_path, line):
    root = make_root(tmp_path)
    (root / "run/ocserv").mkdir(parents=True)
    for d in ("run", "run/ocserv"):
        os.chmod(root / d, 0o755)
    (root / "etc/ocserv-agent.env").write_text(
        f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH=/opt/occtl\n{line}\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    sudoers = root / "etc/sudoers.d/ocserv-agent"
    assert_rule_allows_exactly(sudoers, agent_commands("/opt/occtl", "/run/ocserv/occtl.socket"))
    first = sudoers.read_bytes()
    r = install(root)  # idempotent
    assert r.returncode == 0, r.stdout + r.stderr
    assert sudoers.read_bytes() == first


@pytest.mark.parametrize("line", ["OCCTL_SOCKET=", "#OCCTL_SOCKET=/run/x.sock", "OCCTL_SOCKET=''"])
def test_install_rule_without_occtl_socket(tmp_path, line):
    """Unset, commented out or empty: the agent passes no -s, and the rule allows none."""
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\n{line}\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_rule_allows_exactly(root / "etc/sudoers.d/ocserv-agent", agent_commands())


UNSAFE_SOCKETS = [
    "/run/occtl.socket,ALL",  # would end the command and add another
    "/run/occtl.socket, /bin/sh",
    "/run/a:b", "/run/a=b", "/run/a\\b", "/run/*", "/run/occtl?.socket", "/run/[a]",
    "/run/!a", "/run/#1", "/run/^a$", '"/run/occtl.socket',  # unmatched quote: the agent keeps it
    '"/run/a b"', '"/run/a\tb"', "run/occtl.socket", "./occtl.socket", "~/occtl.socket",
]


@pytest.mark.parametrize("value", UNSAFE_SOCKETS)
def test_install_refuses_unsafe_occtl_socket(tmp_path, value):
    """Refused before anything is changed: no user, no binary, no rule."""
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET={value}\n")
    r = install(root)
    assert r.returncode != 0, r.stdout
    assert "OCCTL_SOCKET" in r.stderr and "not writing a sudo rule" in r.stderr, r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    assert entry(root / "etc/passwd", "ocservagent") is None
    assert not (root / "usr/local/bin/ocserv-agent").exists()


def test_install_refuses_socket_in_a_directory_others_can_write(tmp_path):
    """sudo would also match `occtl -s 'SOCKET -j show user x'` (one argument), which occtl reads
    as another socket path: so nobody but root may create files next to the socket."""
    root = make_root(tmp_path)
    env = root / "etc/ocserv-agent.env"
    (root / "run/sticky").mkdir(parents=True)
    os.chmod(root / "run", 0o755)
    os.chmod(root / "run/sticky", 0o1777)  # like /tmp
    (root / "run/nobody/sub").mkdir(parents=True)
    os.chown(root / "run/nobody", 65534, 65534)  # 0755, but not root's
    (root / "run/ok").mkdir()
    for d in ("run/nobody", "run/nobody/sub", "run/ok"):
        os.chmod(root / d, 0o755)
    for sock, culprit in [("/run/sticky/occtl.socket", "/run/sticky"),
                          ("/run/nobody/sub/occtl.socket", "/run/nobody")]:
        env.write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET={sock}\n")
        r = install(root)
        assert r.returncode != 0, r.stdout
        assert f"{culprit} is writable by users other than root" in r.stderr, r.stderr
        assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    # Directories that do not exist yet (ocserv creates them) are not held against it.
    for sock in ["/run/ok/occtl.socket", "/run/ok/later/occtl.socket"]:
        env.write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET={sock}\n")
        r = install(root)
        assert r.returncode == 0, r.stdout + r.stderr
        assert_rule_allows_exactly(root / "etc/sudoers.d/ocserv-agent",
                                   agent_commands(socket=sock))


def test_refused_rerun_keeps_the_installed_rule(tmp_path):
    root = make_root(tmp_path)
    env = root / "etc/ocserv-agent.env"
    env.write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET=/run/occtl.socket\n")
    assert install(root).returncode == 0
    sudoers = root / "etc/sudoers.d/ocserv-agent"
    before = sudoers.read_bytes()
    env.write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET=/run/occtl.socket,ALL\n")
    assert install(root).returncode != 0
    assert sudoers.read_bytes() == before
    assert os.listdir(root / "etc/sudoers.d") == ["ocserv-agent"]


def test_install_refuses_a_sudoers_injection(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH=/usr/bin/occtl,ALL\n")
    r = install(root)
    assert r.returncode != 0
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()


def test_install_rule_for_the_configured_unit(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        "AGENT_AUTH_TOKEN_CURRENT=x\nSYSTEMCTL_PATH=/bin/systemctl\nOCSERV_UNIT='ocserv@vpn-1.service'\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_rule_allows_exactly(root / "etc/sudoers.d/ocserv-agent",
                               agent_commands(systemctl="/bin/systemctl", unit="ocserv@vpn-1.service"))


@pytest.mark.parametrize("line", [
    "OCSERV_UNIT=ocserv.service,ALL",
    "OCSERV_UNIT=ocserv.service /bin/sh",
    "OCSERV_UNIT=a:b.service",  # the agent takes it; sudoers would not
    "OCSERV_UNIT=-ocserv.service", "OCSERV_UNIT=ocserv", "OCSERV_UNIT=ocserv.socket",
    "OCSERV_UNIT=*.service", "OCSERV_UNIT=ocserv!.service", "OCSERV_UNIT=.service",
    "SYSTEMCTL_PATH=/usr/bin/systemctl,ALL", "SYSTEMCTL_PATH=systemctl",
    "SYSTEMCTL_PATH='/usr/bin/system ctl'",
])
def test_install_refuses_unsafe_service_settings(tmp_path, line):
    """Refused before anything is changed, naming the variable."""
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\n{line}\n")
    r = install(root)
    assert r.returncode != 0, r.stdout
    assert line.split("=")[0] in r.stderr and "not writing a sudo rule" in r.stderr, r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    assert entry(root / "etc/passwd", "ocservagent") is None


def test_install_without_sudo_writes_no_rule(tmp_path):
    root = make_root(tmp_path)
    # Without sudo, the socket never reaches a sudoers file: any absolute path will do.
    (root / "etc/ocserv-agent.env").write_text(
        "AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_USE_SUDO=False\nOCCTL_SOCKET=/tmp/a,b\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()


@pytest.mark.parametrize("args", [["--bogus"], ["--bin", "/nonexistent/binary"]])
def test_install_rejects_bad_arguments(tmp_path, args):
    root = make_root(tmp_path)
    r = subprocess.run(["bash", INSTALL, "--root", str(root), *args], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert not (root / "usr/local/bin/ocserv-agent").exists()
