"""dist/install.sh, run for real into a throwaway root (--root), in both modes.

Privilege-separated (the default): the service user (the api process's), a root-owned state
directory, the binary, dist/ocserv-agent.service (enabled), no sudo rule (and an old one of
--sudo-mode removed), and an env file with a generated token and OCCTL_USE_SUDO=false that a
second run never rewrites. --sudo-mode: dist/ocserv-agent-sudo.service, a state directory owned by
the service user, and a sudoers rule that visudo accepts and that allows exactly the occtl and
systemctl commands the agent runs. (tests/integration/test_sudo.py puts the same rule to work with
real sudo.) Switching between the modes gives the state directory's files the mode's owner."""

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


def install_sudo(root, *extra):
    return install(root, "--sudo-mode", *extra)


def dist(name):
    with open(os.path.join(REPO, "dist", name), "rb") as f:
        return f.read()


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


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
    """The default: privilege-separated."""
    root = make_root(tmp_path)
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "privilege-separated" in r.stdout, r.stdout
    env = root / "etc/ocserv-agent.env"
    first = env.read_bytes()

    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert env.read_bytes() == first, "an existing env file must never be rewritten"

    # The api process's user.
    user, group = entry(root / "etc/passwd", "ocservagent"), entry(root / "etc/group", "ocservagent")
    assert user and group
    assert (root / "etc/passwd").read_text().count("ocservagent:") == 1
    assert user[6].endswith("nologin") and user[5] == "/nonexistent"

    # root's, and only passable for the api user (its api/ is made by the agent).
    st = os.stat(root / "var/lib/ocserv-agent")
    assert stat.S_IMODE(st.st_mode) == 0o711 and (st.st_uid, st.st_gid) == (0, 0)

    binary = root / "usr/local/bin/ocserv-agent"
    assert stat.S_IMODE(os.stat(binary).st_mode) == 0o755
    assert binary.read_bytes() == open("/bin/true", "rb").read()

    st = os.stat(env)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    text = first.decode()
    assert re.search(r"^AGENT_AUTH_TOKEN_CURRENT=[0-9a-f]{64}$", text, re.M)
    # No sudo in this mode: the root process runs occtl itself.
    assert re.findall(r"^OCCTL_USE_SUDO=.*$", text, re.M) == ["OCCTL_USE_SUDO=false"]
    assert not re.search(r"^AGENT_PRIVSEP=", text, re.M)  # auto: split, since root

    assert not (root / "etc/sudoers.d/ocserv-agent").exists()

    unit = root / "etc/systemd/system/ocserv-agent.service"
    assert unit.read_bytes() == dist("ocserv-agent.service")
    assert stat.S_IMODE(os.stat(unit).st_mode) == 0o644
    link = root / "etc/systemd/system/multi-user.target.wants/ocserv-agent.service"
    assert os.readlink(link) == "/etc/systemd/system/ocserv-agent.service"
    assert os.path.exists(root / "usr/local/libexec/ocserv-agent/ocserv-agent-hook")


def test_install_sudo_mode_into_root_twice(tmp_path):
    root = make_root(tmp_path)
    r = install_sudo(root)
    assert r.returncode == 0, r.stdout + r.stderr
    env = root / "etc/ocserv-agent.env"
    first = env.read_bytes()

    r = install_sudo(root)
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
    assert not re.search(r"^OCCTL_USE_SUDO=", first.decode(), re.M)  # the default: true

    sudoers = root / "etc/sudoers.d/ocserv-agent"
    assert_rule_allows_exactly(sudoers, agent_commands())
    assert not [n for n in os.listdir(root / "etc/sudoers.d") if n != "ocserv-agent"]

    unit = root / "etc/systemd/system/ocserv-agent.service"
    assert unit.read_bytes() == dist("ocserv-agent-sudo.service")
    link = root / "etc/systemd/system/multi-user.target.wants/ocserv-agent.service"
    assert os.readlink(link) == "/etc/systemd/system/ocserv-agent.service"


def test_install_uses_occtl_path_from_env_file(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        'AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH="/opt/ocserv/bin/occtl"\n')
    r = install_sudo(root)
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
    r = install_sudo(root)
    assert r.returncode == 0, r.stdout + r.stderr
    sudoers = root / "etc/sudoers.d/ocserv-agent"
    assert_rule_allows_exactly(sudoers, agent_commands("/opt/occtl", "/run/ocserv/occtl.socket"))
    first = sudoers.read_bytes()
    r = install_sudo(root)  # idempotent
    assert r.returncode == 0, r.stdout + r.stderr
    assert sudoers.read_bytes() == first


@pytest.mark.parametrize("line", ["OCCTL_SOCKET=", "#OCCTL_SOCKET=/run/x.sock", "OCCTL_SOCKET=''"])
def test_install_rule_without_occtl_socket(tmp_path, line):
    """Unset, commented out or empty: the agent passes no -s, and the rule allows none."""
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\n{line}\n")
    r = install_sudo(root)
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
    r = install_sudo(root)
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
        r = install_sudo(root)
        assert r.returncode != 0, r.stdout
        assert f"{culprit} is writable by users other than root" in r.stderr, r.stderr
        assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    # Directories that do not exist yet (ocserv creates them) are not held against it.
    for sock in ["/run/ok/occtl.socket", "/run/ok/later/occtl.socket"]:
        env.write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET={sock}\n")
        r = install_sudo(root)
        assert r.returncode == 0, r.stdout + r.stderr
        assert_rule_allows_exactly(root / "etc/sudoers.d/ocserv-agent",
                                   agent_commands(socket=sock))


def test_refused_rerun_keeps_the_installed_rule(tmp_path):
    root = make_root(tmp_path)
    env = root / "etc/ocserv-agent.env"
    env.write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET=/run/occtl.socket\n")
    assert install_sudo(root).returncode == 0
    sudoers = root / "etc/sudoers.d/ocserv-agent"
    before = sudoers.read_bytes()
    env.write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_SOCKET=/run/occtl.socket,ALL\n")
    assert install_sudo(root).returncode != 0
    assert sudoers.read_bytes() == before
    assert os.listdir(root / "etc/sudoers.d") == ["ocserv-agent"]


def test_install_refuses_a_sudoers_injection(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH=/usr/bin/occtl,ALL\n")
    r = install_sudo(root)
    assert r.returncode != 0
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()


def test_install_rule_for_the_configured_unit(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        "AGENT_AUTH_TOKEN_CURRENT=x\nSYSTEMCTL_PATH=/bin/systemctl\nOCSERV_UNIT='ocserv@vpn-1.service'\n")
    r = install_sudo(root)
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
    r = install_sudo(root)
    assert r.returncode != 0, r.stdout
    assert line.split("=")[0] in r.stderr and "not writing a sudo rule" in r.stderr, r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    assert entry(root / "etc/passwd", "ocservagent") is None


@pytest.mark.parametrize("sudo_mode", [True, False])
def test_install_without_sudo_writes_no_rule(tmp_path, sudo_mode):
    root = make_root(tmp_path)
    # Without sudo, the socket never reaches a sudoers file: any absolute path will do.
    (root / "etc/ocserv-agent.env").write_text(
        "AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_USE_SUDO=False\nOCCTL_SOCKET=/tmp/a,b\n")
    r = (install_sudo if sudo_mode else install)(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    assert "Set OCCTL_USE_SUDO=false" not in r.stdout


@pytest.mark.parametrize("line", [
    "OCCTL_SOCKET=/run/occtl.socket,ALL", "OCCTL_PATH=/usr/bin/occtl,ALL",
    "OCSERV_UNIT=ocserv.service /bin/sh", "SYSTEMCTL_PATH=systemctl",
])
def test_privsep_ignores_what_only_a_sudo_rule_cares_about(tmp_path, line):
    """Without a sudo rule there is nothing to inject into: the agent validates its settings
    itself. The env file is kept as it is, and the installer says OCCTL_USE_SUDO should be
    false."""
    root = make_root(tmp_path)
    env = root / "etc/ocserv-agent.env"
    env.write_text(f"AGENT_AUTH_TOKEN_CURRENT=x\n{line}\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()
    assert env.read_text() == f"AGENT_AUTH_TOKEN_CURRENT=x\n{line}\n"
    assert "Set OCCTL_USE_SUDO=false" in r.stdout, r.stdout


def test_privsep_warns_about_settings_that_do_not_fit(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text(
        "AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_USE_SUDO=no\nAGENT_PRIVSEP=off\nAGENT_USER=oa-missing\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AGENT_PRIVSEP=off" in r.stdout and "AGENT_USER=oa-missing" in r.stdout, r.stdout
    assert "Set OCCTL_USE_SUDO=false" not in r.stdout


def test_switching_modes(tmp_path):
    """sudo mode -> privilege-separated -> sudo mode: the unit, the sudo rule and the owner of
    the state directory's files follow; api/ stays the api user's; the env file is kept."""
    root = make_root(tmp_path)
    assert install_sudo(root).returncode == 0
    uid, gid = int(entry(root / "etc/passwd", "ocservagent")[2]), int(
        entry(root / "etc/group", "ocservagent")[2])
    env = (root / "etc/ocserv-agent.env").read_bytes()
    state = root / "var/lib/ocserv-agent"
    sudoers = root / "etc/sudoers.d/ocserv-agent"
    unit = root / "etc/systemd/system/ocserv-agent.service"
    # What a sudo-mode agent leaves behind, all its user's.
    (state / "config-backups").mkdir()
    for f in ("instance-id", "config-backups/ocserv.conf.1"):
        (state / f).write_text("x")
    # ...and what it must not be able to turn into root's: another file's hard link, a symlink.
    (root / "elsewhere").write_text("y")
    os.chown(root / "elsewhere", 4242, 4242)
    os.link(root / "elsewhere", state / "hardlink")
    os.symlink("/etc/passwd", state / "symlink")
    for p in [state, state / "config-backups", state / "instance-id",
              state / "config-backups/ocserv.conf.1"]:
        os.chown(p, uid, gid)
    os.lchown(state / "symlink", uid, gid)
    assert sudoers.exists()

    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removed /etc/sudoers.d/ocserv-agent" in r.stdout, r.stdout
    assert not sudoers.exists()
    assert unit.read_bytes() == dist("ocserv-agent.service")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o711
    for p in [state, state / "config-backups", state / "instance-id",
              state / "config-backups/ocserv.conf.1"]:
        assert owner(p) == (0, 0), p
    assert owner(state / "hardlink") == (4242, 4242)
    assert owner(state / "symlink") == (uid, gid)
    assert owner("/etc/passwd") == (0, 0)
    # The agent makes api/ (privsep_state_dir): a re-run leaves it to the api user.
    (state / "api").mkdir(mode=0o700)
    (state / "api/revoked-sessions").write_text("")
    for p in [state / "api", state / "api/revoked-sessions"]:
        os.chown(p, uid, gid)
    assert install(root).returncode == 0
    assert owner(state / "api") == owner(state / "api/revoked-sessions") == (uid, gid)
    assert owner(state / "instance-id") == (0, 0)

    r = install_sudo(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_rule_allows_exactly(sudoers, agent_commands())
    assert unit.read_bytes() == dist("ocserv-agent-sudo.service")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o750
    for p in [state, state / "config-backups", state / "instance-id",
              state / "config-backups/ocserv.conf.1", state / "api",
              state / "api/revoked-sessions"]:
        assert owner(p) == (uid, gid), p
    assert owner(state / "hardlink") == (4242, 4242)
    assert (root / "etc/ocserv-agent.env").read_bytes() == env


def test_privsep_leaves_a_foreign_sudo_rule_alone(tmp_path):
    """Only a rule install.sh wrote (its first line) is removed; another is reported."""
    root = make_root(tmp_path)
    (root / "etc/sudoers.d").mkdir()
    rule = root / "etc/sudoers.d/ocserv-agent"
    rule.write_text("# mine\nocservagent ALL=(root) NOPASSWD: /usr/bin/occtl\n")
    r = install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert rule.read_text().startswith("# mine\n")
    assert "was not written by install.sh" in r.stdout, r.stdout


def test_help_describes_both_modes():
    r = subprocess.run(["bash", INSTALL, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for word in ("--sudo-mode", "--bin", "--root", "privilege-separated", "ocserv-agent-sudo.service"):
        assert word in r.stdout, word


@pytest.mark.parametrize("args", [["--bogus"], ["--bin", "/nonexistent/binary"],
                                  ["--sudo-mode", "--bin", "/nonexistent/binary"],
                                  ["--sudo-mode=yes"]])
def test_install_rejects_bad_arguments(tmp_path, args):
    root = make_root(tmp_path)
    r = subprocess.run(["bash", INSTALL, "--root", str(root), *args], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert not (root / "usr/local/bin/ocserv-agent").exists()
