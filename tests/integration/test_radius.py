"""GET /ocserv/radius-config over radcli-style files; secrets never leave the agent."""

import os

import pytest

from helpers import assert_ok

SECRETS = ["s3cretInline-AUTH", "s3cretInline-ACCT", "serversFileSecret-1", "serversFileSecret-2",
           "Top:Secret:XYZ"]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def radius(agent):
    body = assert_ok(agent.get("/ocserv/radius-config"))
    r = body["radius"]
    for k in ("nasIdentifier", "authServer", "acctServer", "radiusclientConfPath", "serversFile", "servers"):
        assert k in r, (k, r)
    return body, r


def assert_no_secret(agent, resp_text):
    for s in SECRETS:
        assert s not in resp_text, f"secret {s!r} in a response"
        assert s not in agent.log(), f"secret {s!r} in the agent log"


def port_ok(r, key, expected):
    assert r[key] == expected, (key, r.get(key))


@pytest.fixture
def files(lab, tmp_path):
    tmp_path.chmod(0o755)
    return tmp_path


def test_inline_secrets_and_servers_file(make_agent, files):
    servers = write(files / "servers", "# host secret\n"
                    "10.0.0.1   serversFileSecret-1\n"
                    "\n"
                    "radius2.example.net\tserversFileSecret-2\n"
                    "10.0.0.9\n")
    conf = write(files / "radiusclient.conf", "# radcli client config\n"
                 "nas-identifier OCNAS-TEST-1\n"
                 "authserver 10.0.0.1:1812:s3cretInline-AUTH\n"
                 "acctserver 10.0.0.2:1813:s3cretInline-ACCT\n"
                 f"servers {files}/other-servers-file\n"
                 "dictionary /etc/radcli/dictionary\n"
                 "radius_timeout 10\n"
                 "radius_retries 3\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf), "RADIUS_SERVERS_PATH": str(servers)})
    resp = a.get("/ocserv/radius-config")
    body, r = radius(a)
    assert r["nasIdentifier"] == "OCNAS-TEST-1"
    assert r["authServer"] == "10.0.0.1"
    assert r["acctServer"] == "10.0.0.2"
    port_ok(r, "authServerPort", 1812)
    port_ok(r, "acctServerPort", 1813)
    assert r["radiusclientConfPath"] == str(conf)
    assert r["serversFile"] == str(servers)  # RADIUS_SERVERS_PATH wins over the conf's line
    assert r["servers"] == [
        {"host": "10.0.0.1", "hasSecret": True},
        {"host": "radius2.example.net", "hasSecret": True},
        {"host": "10.0.0.9", "hasSecret": False},
    ]
    assert_no_secret(a, resp.text)
    assert a.stop() == 0
    assert_no_secret(a, "")


def test_comma_separated_servers_and_no_ports(make_agent, files):
    conf = write(files / "radiusclient.conf", "nas-identifier   NAS-with-spaces-around   \n"
                 "authserver a.example.com,b.example.com:1645:s3cretInline-AUTH\n"
                 "# acctserver commented.example\n")
    servers = write(files / "servers", "a.example.com serversFileSecret-1\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf), "RADIUS_SERVERS_PATH": str(servers)})
    resp = a.get("/ocserv/radius-config")
    _, r = radius(a)
    assert r["nasIdentifier"] == "NAS-with-spaces-around"
    assert r["authServer"] == "a.example.com"
    assert r["acctServer"] is None
    if r.get("authServerPort") is not None:
        pytest.fail(f"a.example.com has no port, got authServerPort={r['authServerPort']}")
    assert r["servers"] == [{"host": "a.example.com", "hasSecret": True}]
    assert_no_secret(a, resp.text)


def test_servers_file_from_conf_when_env_unset(make_agent, files):
    servers = write(files / "servers-from-conf", "192.0.2.10 serversFileSecret-1\n")
    conf = write(files / "radiusclient.conf", "nas-identifier NAS-2\n"
                 "authserver 192.0.2.10\n"
                 "acctserver 192.0.2.11:1813\n"
                 f"servers {servers}\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf), "RADIUS_SERVERS_PATH": None})
    resp = a.get("/ocserv/radius-config")
    _, r = radius(a)
    assert r["serversFile"] == str(servers)
    assert r["authServer"] == "192.0.2.10"
    assert r["acctServer"] == "192.0.2.11"
    port_ok(r, "acctServerPort", 1813)
    assert r["servers"] == [{"host": "192.0.2.10", "hasSecret": True}]
    assert_no_secret(a, resp.text)


def test_missing_files_still_200(make_agent, files):
    conf = files / "does-not-exist.conf"
    servers = files / "no-servers"
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf), "RADIUS_SERVERS_PATH": str(servers)})
    _, r = radius(a)
    assert r["radiusclientConfPath"] == str(conf)
    assert r["serversFile"] == str(servers)
    assert r["nasIdentifier"] is None
    assert r["authServer"] is None
    assert r["acctServer"] is None
    assert r["servers"] == []


def test_missing_servers_file_keeps_conf_fields(make_agent, files):
    conf = write(files / "radiusclient.conf", "nas-identifier NAS-3\nauthserver 198.51.100.7:1812:s3cretInline-AUTH\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf),
                        "RADIUS_SERVERS_PATH": str(files / "missing-servers")})
    resp = a.get("/ocserv/radius-config")
    _, r = radius(a)
    assert r["nasIdentifier"] == "NAS-3"
    assert r["authServer"] == "198.51.100.7"
    assert r["servers"] == []
    assert_no_secret(a, resp.text)


def test_unreadable_conf_is_a_directory(make_agent, files):
    d = files / "conf-dir"
    d.mkdir()
    servers = write(files / "servers", "203.0.113.5 serversFileSecret-1\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(d), "RADIUS_SERVERS_PATH": str(servers)})
    resp = a.get("/ocserv/radius-config")
    _, r = radius(a)
    assert r["nasIdentifier"] is None and r["authServer"] is None
    assert r["servers"] == [{"host": "203.0.113.5", "hasSecret": True}]
    assert_no_secret(a, resp.text)


def test_radius_config_does_not_need_ocserv(make_agent, files):
    conf = write(files / "radiusclient.conf", "nas-identifier NAS-4\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf), "OCCTL_PATH": "/nonexistent/occtl"})
    _, r = radius(a)
    assert r["nasIdentifier"] == "NAS-4"


def test_secret_with_colons_stays_secret(make_agent, files):
    """radcli takes everything after the second colon as the secret, colons included."""
    conf = write(files / "radiusclient.conf", "authserver 10.1.1.1:1812:Top:Secret:XYZ\n"
                 "acctserver [2001:db8::1]:1813:Top:Secret:XYZ\n")
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf),
                        "RADIUS_SERVERS_PATH": str(files / "none")})
    resp = a.get("/ocserv/radius-config")
    body, r = radius(a)
    assert r["authServer"] == "10.1.1.1" and r["acctServer"] == "2001:db8::1", r
    port_ok(r, "authServerPort", 1812)
    port_ok(r, "acctServerPort", 1813)
    assert_no_secret(a, resp.text)


def test_non_utf8_bytes_are_replaced_not_fatal(make_agent, files):
    """A Latin-1 byte in a file we only report on: still 200, the byte shown as U+FFFD."""
    conf = files / "radiusclient.conf"
    conf.write_bytes(b"nas-identifier caf\xe9-nas\nauthserver h\xf6st:1812\n")
    conf.chmod(0o644)
    a = make_agent(env={"RADIUSCLIENT_CONF_PATH": str(conf),
                        "RADIUS_SERVERS_PATH": str(files / "none")})
    body, r = radius(a)
    assert r["nasIdentifier"] == "caf\ufffd-nas"
    assert r["authServer"] == "h\ufffdst"
    port_ok(r, "authServerPort", 1812)
