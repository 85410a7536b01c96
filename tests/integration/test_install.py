"""dist/install.sh, run for real into a throwaway root (--root): the service user, the state
directory, the binary, the unit (enabled), a sudoers rule that visudo accepts, and an env file
with a generated token that a second run never rewrites."""

import os
import re
import shutil
import stat
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL = os.path.join(REPO, "dist", "install.sh")


def make_root(tmp_path):
    root = tmp_path / "root"
    etc = root / "etc"
    etc.mkdir(parents=True)
    # useradd/groupadd --root lock and edit these files inside the target root.
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    os.chmod(etc / "shadow", 0o640)
    os.chmod(etc / "gshadow", 0o640)
    return root


def install(root, *extra):
    return subprocess.run(["bash", INSTALL, "--root", str(root), "--bin", "/bin/true", *extra],
                          capture_output=True, text=True, timeout=120)


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
    assert stat.S_IMODE(os.stat(sudoers).st_mode) == 0o440
    assert "ocservagent ALL=(root) NOPASSWD: /usr/bin/occtl" in sudoers.read_text().splitlines()
    if shutil.which("visudo"):
        v = subprocess.run(["visudo", "-cqf", str(sudoers)], capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr

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
    rule = (root / "etc/sudoers.d/ocserv-agent").read_text()
    assert "NOPASSWD: /opt/ocserv/bin/occtl" in rule
    assert (root / "etc/ocserv-agent.env").read_text().startswith("AGENT_AUTH_TOKEN_CURRENT=x\n")


def test_install_refuses_a_sudoers_injection(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_PATH=/usr/bin/occtl,ALL\n")
    r = install(root)
    assert r.returncode != 0
    assert not (root / "etc/sudoers.d/ocserv-agent").exists()


def test_install_without_sudo_writes_no_rule(tmp_path):
    root = make_root(tmp_path)
    (root / "etc/ocserv-agent.env").write_text("AGENT_AUTH_TOKEN_CURRENT=x\nOCCTL_USE_SUDO=False\n")
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
