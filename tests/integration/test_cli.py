"""The command line and the configuration: --help, --version, --check-config, --env-file, and
clear startup errors for invalid environment values."""

import re

import pytest

from helpers import assert_error, assert_ok
from lab import Agent, free_port, run_agent_cli

TOKEN = "cli-SECRET-token-0123456789abcdef"
PREV = "cli-PREVIOUS-secret-fedcba9876543210"


@pytest.fixture
def base_env(tmp_path):
    tmp_path.chmod(0o755)
    return {
        "AGENT_HOST": "127.0.0.1",
        "AGENT_PORT": str(free_port()),
        "AGENT_AUTH_TOKEN_CURRENT": TOKEN,
        "OCCTL_PATH": "/usr/bin/occtl",
        "OCCTL_USE_SUDO": "false",
        "OCCTL_TIMEOUT_MS": "5000",
        "AGENT_STATE_DIR": str(tmp_path / "state"),
    }


def out(r):
    return r.stdout + r.stderr


def test_help(agent_bin):
    r = run_agent_cli(["--help"])
    assert r.returncode == 0, out(r)
    for opt in ("--help", "--version", "--env-file", "--check-config"):
        assert opt in out(r), opt


def test_version(agent_bin):
    r = run_agent_cli(["--version"])
    assert r.returncode == 0, out(r)
    assert re.search(r"\d+\.\d+\.\d+", out(r)), out(r)


def test_unknown_option_fails(agent_bin, base_env):
    r = run_agent_cli(["--no-such-option"], env=base_env)
    assert r.returncode != 0


def test_check_config_prints_config_without_secrets(agent_bin, base_env):
    env = dict(base_env, AGENT_AUTH_TOKEN_PREVIOUS=PREV, OCCTL_TIMEOUT_MS="4321",
               OCCTL_SOCKET="/run/ocserv/occtl.socket")
    r = run_agent_cli(["--check-config"], env=env)
    assert r.returncode == 0, out(r)
    text = out(r)
    assert env["AGENT_PORT"] in text
    assert "4321" in text
    assert "/usr/bin/occtl" in text
    assert "/run/ocserv/occtl.socket" in text
    assert TOKEN not in text and PREV not in text
    assert "SECRET" not in text


def test_check_config_shows_defaults(agent_bin, tmp_path):
    r = run_agent_cli(["--check-config"], env={"AGENT_AUTH_TOKEN_CURRENT": TOKEN})
    assert r.returncode == 0, out(r)
    text = out(r)
    for default in ("8088", "5000", "/usr/bin/occtl", "/etc/radcli/radiusclient.conf",
                    "/etc/radcli/servers", "/var/lib/ocserv-agent", "/etc/ocserv/ocserv.conf", "0.0.0.0"):
        assert default in text, default
    assert TOKEN not in text


@pytest.mark.parametrize("var,value", [
    ("AGENT_AUTH_TOKEN_CURRENT", None),
    ("AGENT_AUTH_TOKEN_CURRENT", ""),
    ("AGENT_AUTH_TOKEN_CURRENT", "   \t "),
    ("AGENT_PORT", "0"),
    ("AGENT_PORT", "70000"),
    ("AGENT_PORT", "65536"),
    ("AGENT_PORT", "abc"),
    ("AGENT_PORT", "-1"),
    ("AGENT_PORT", "80x"),
    ("OCCTL_TIMEOUT_MS", "-1"),
    ("OCCTL_TIMEOUT_MS", "soon"),
    ("OCCTL_PATH", "bin/occtl"),
    ("OCCTL_PATH", "occtl"),
    ("OCCTL_USE_SUDO", "maybe"),
    ("OCCTL_USE_SUDO", "2"),
    ("AGENT_STATE_DIR", "relative/state"),
    ("RADIUSCLIENT_CONF_PATH", "radiusclient.conf"),
    ("RADIUS_SERVERS_PATH", "etc/servers"),
    ("OCSERV_CONF_PATH", "ocserv.conf"),
    ("OCCTL_SOCKET", "run/occtl.socket"),
])
def test_invalid_config_refuses_to_start(agent_bin, base_env, var, value):
    env = dict(base_env)
    if value is None:
        env.pop(var)
    else:
        env[var] = value
    # Started normally: must exit (not serve) with a message naming the variable.
    r = run_agent_cli([], env=env, timeout=10)
    assert r.returncode != 0, out(r)
    assert var in out(r), out(r)
    assert TOKEN not in out(r)
    # --check-config says the same with exit code 1.
    r = run_agent_cli(["--check-config"], env=env, timeout=10)
    assert r.returncode == 1, out(r)
    assert var in out(r), out(r)


@pytest.mark.parametrize("value", ["true", "false", "TRUE", "False", "1", "0", "yes", "No", "YES"])
def test_booleans_accepted(agent_bin, base_env, value):
    r = run_agent_cli(["--check-config"], env=dict(base_env, OCCTL_USE_SUDO=value))
    assert r.returncode == 0, out(r)


@pytest.mark.parametrize("port", ["1", "65535", "8088"])
def test_port_bounds_accepted(agent_bin, base_env, port):
    r = run_agent_cli(["--check-config"], env=dict(base_env, AGENT_PORT=port))
    assert r.returncode == 0, out(r)


def test_env_file_and_environment_wins(lab, agent_bin, tmp_path):
    tmp_path.chmod(0o755)
    file_port, env_port = free_port(), free_port()
    while env_port == file_port:
        env_port = free_port()
    env_file = tmp_path / "ocserv-agent.env"
    env_file.write_text(
        "# ocserv-agent environment\n"
        "\n"
        f"AGENT_PORT={file_port}\n"
        "AGENT_HOST=127.0.0.1\n"
        "AGENT_AUTH_TOKEN_CURRENT=file-token-value-1234567890\n"
        "OCCTL_TIMEOUT_MS=4321\n"
        "OCCTL_USE_SUDO=false\n"
        f"OCCTL_SOCKET={lab.socket}\n"
        f"AGENT_STATE_DIR={tmp_path}/state\n"
    )
    # --check-config: the file is read, AGENT_PORT from the real environment wins.
    r = run_agent_cli(["--env-file", str(env_file), "--check-config"], env={"AGENT_PORT": str(env_port)})
    assert r.returncode == 0, out(r)
    assert "4321" in out(r) and str(env_port) in out(r)
    assert str(file_port) not in out(r)
    assert "file-token-value-1234567890" not in out(r)
    # Started for real: listens on the environment's port, accepts the file's token.
    a = Agent(lab=lab, token="file-token-value-1234567890", port=env_port,
              args=["--env-file", str(env_file)],
              env={k: None for k in ("AGENT_HOST", "AGENT_AUTH_TOKEN_CURRENT", "OCCTL_SOCKET",
                                     "OCCTL_TIMEOUT_MS", "AGENT_STATE_DIR", "OCCTL_USE_SUDO")})
    assert "AGENT_AUTH_TOKEN_CURRENT" not in a.env
    try:
        a.start()
        body = assert_ok(a.get("/ocserv/sessions"))
        assert body["count"] == 0
        assert_error(a.get("/ocserv/health", token="other"), 401, "UNAUTHORIZED")
        # Nothing listens on the file's port.
        with pytest.raises(OSError):
            from lab import http_request
            http_request(file_port, "GET", "/ocserv/health", timeout=2)
    finally:
        a.close()


def test_env_file_token_overridden_by_environment(lab, agent_bin, tmp_path):
    tmp_path.chmod(0o755)
    env_file = tmp_path / "agent.env"
    env_file.write_text("AGENT_AUTH_TOKEN_CURRENT=from-file-token-abcdef\nOCCTL_TIMEOUT_MS=3000\n")
    a = Agent(lab=lab, token="from-env-token-123456", args=["--env-file", str(env_file)])
    try:
        a.start()
        assert_ok(a.get("/ocserv/health", token="from-env-token-123456"))
        assert_error(a.get("/ocserv/health", token="from-file-token-abcdef"), 401, "UNAUTHORIZED")
    finally:
        a.close()


def test_env_file_missing_is_an_error(agent_bin, base_env, tmp_path):
    r = run_agent_cli(["--env-file", str(tmp_path / "nope.env"), "--check-config"], env=base_env)
    assert r.returncode != 0
    r = run_agent_cli(["--env-file", str(tmp_path / "nope.env")], env=base_env, timeout=10)
    assert r.returncode != 0


def test_env_file_invalid_value_names_variable(agent_bin, tmp_path):
    env_file = tmp_path / "bad.env"
    env_file.write_text("AGENT_AUTH_TOKEN_CURRENT=tok-123456\nOCCTL_USE_SUDO=perhaps\n")
    r = run_agent_cli(["--env-file", str(env_file), "--check-config"], env={})
    assert r.returncode == 1
    assert "OCCTL_USE_SUDO" in out(r)


def test_port_in_use_fails(lab, agent_bin, base_env):
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        env = dict(base_env, AGENT_PORT=str(s.getsockname()[1]))
        r = run_agent_cli([], env=env, timeout=10)
        assert r.returncode != 0, out(r)


def test_sigterm_idle_exits_zero(make_agent):
    a = make_agent()
    assert_ok(a.get("/ocserv/health"))
    assert a.stop(timeout=10) == 0
