"""GET /ocserv/config/schema against the real ocserv of the version under test (OA_OCSERV_VERSION):
every key the schema lists is one `ocserv -t` knows (no "skipping unknown option"), every key it
marks vhost:false is one ocserv ignores ("is ignored on") or refuses ("cannot be set inside") in
a [vhost:NAME] section, and keys this version does not read are absent. Plus the fact that makes
the agent's validator stricter than ocserv's: `ipv4-network = 999.1.1.1` passes `ocserv -t`
(tests/unit/test_conf_schema.c shows the schema refusing it).

Each check writes a small ocserv.conf into the lab directory (readable by a chroot's ocserv too)
and runs that version's `ocserv -t -c FILE` through lab.tool_argv()."""

import os
import subprocess

import pytest

import lab as labmod
import lab_chroot
from helpers import assert_ok

VERSION = lab_chroot.OCSERV_VERSION

# Keys the agent keeps out of a vhost although ocserv accepts them there: process-wide settings
# (one pid file, one log level, one syslog facility per ocserv).
GLOBAL_BY_CHOICE = {"pid-file", "log-level", "syslog-facility"}

# Keys this version of ocserv does not read (each also checked against the real ocserv below).
ABSENT = {
    "1.1.6": ["camouflage", "camouflage_realm", "camouflage_secret", "cisco-svc-client-compat",
              "select-group-by-url", "ban-time", "limit-worker-memory", "syslog-facility"],
    "1.3.0": ["ban-time", "limit-worker-memory", "syslog-facility"],
    "1.5.0": ["cgroup"],
}[VERSION]
# Known to ocserv but refused by the agent (deprecated or removed); never in the schema.
DEPRECATED = ["always-require-cert", "use-dbus", "use-seccomp", "session-control",
              "listen-clear-file"]
# In no version's ocserv.conf (ocserv reads the underscore spelling in per-user files only).
NEVER = ["tunnel_all_dns", "iroute", "certificate"]


def base_conf(lab):
    d = lab.dir
    return (f'auth = "plain[passwd={d}/ocpasswd]"\n'
            "tcp-port = 4443\nudp-port = 4443\n"
            f"server-cert = {d}/server-cert.pem\nserver-key = {d}/server-key.pem\n"
            f"socket-file = {d}/run/schema-socket\ndevice = vpns\n"
            "ipv4-network = 10.1.0.0/24\n")


def vhost_header(lab):
    d = lab.dir
    return ("[vhost:x.example]\n"
            f'auth = "plain[passwd={d}/ocpasswd]"\n'
            f"server-cert = {d}/server-cert.pem\nserver-key = {d}/server-key.pem\n"
            "ipv4-network = 10.2.0.0/24\n")


def ocserv_t(lab, text, name="schema-check.conf"):
    """`ocserv -t -c FILE` of the version under test on text: (exit code, stdout+stderr)."""
    path = os.path.join(lab.dir, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    r = subprocess.run(lab.tool_argv([labmod.OCSERV, "-t", "-c", path]), capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def unknown_to_ocserv(lab, key):
    _, out = ocserv_t(lab, base_conf(lab) + f"{key} = 1\n")
    return f"skipping unknown option '{key}'" in out


def refused_in_vhost(lab, key):
    _, out = ocserv_t(lab, base_conf(lab) + vhost_header(lab) + f"{key} = 1\n")
    return "is ignored on" in out or "cannot be set inside" in out, out


@pytest.fixture(scope="module")
def schema(agent):
    resp = agent.get("/ocserv/config/schema")
    if resp.status == 404:
        pytest.skip("GET /ocserv/config/schema is not there yet")
    body = assert_ok(resp)
    return body["schema"]


def test_schema_names_this_version(schema):
    assert schema["ocservVersion"] == VERSION
    names = [k["name"] for k in schema["keys"]]
    assert names == sorted(set(names)), "sorted, one entry per key"
    assert len(names) > 100
    for k in schema["keys"]:
        assert k["type"] in ("boolean", "integer", "string"), k
        assert k["reload"] is (not k["restartRequired"]), k
        for field in ("kind", "summary"):
            assert isinstance(k[field], str) and k[field], k
        for field in ("multi", "vhost", "secret"):
            assert isinstance(k[field], bool), k
        assert ("min" in k) == ("max" in k) == (k["type"] == "integer"), k


def test_every_key_is_known_to_ocserv(lab, schema):
    unknown = [k["name"] for k in schema["keys"] if unknown_to_ocserv(lab, k["name"])]
    assert unknown == [], f"ocserv {VERSION} does not read: {unknown}"


def test_global_only_keys_are_refused_in_a_vhost(lab, schema):
    accepted = []
    for k in schema["keys"]:
        if k["vhost"] or k["name"] in GLOBAL_BY_CHOICE:
            continue
        refused, out = refused_in_vhost(lab, k["name"])
        if not refused:
            accepted.append((k["name"], out))
    assert accepted == [], f"ocserv {VERSION} takes these in a vhost: {accepted}"


def test_keys_allowed_in_a_vhost_are_not_refused_there(lab, schema):
    """The other direction, on a sample: keys the schema allows in a vhost draw no warning."""
    by_name = {k["name"]: k for k in schema["keys"]}
    for name in ("route", "dns", "mtu", "max-same-clients", "tunnel-all-dns", "banner"):
        assert by_name[name]["vhost"] is True
        refused, out = refused_in_vhost(lab, name)
        assert not refused, out


def test_keys_of_other_versions_are_absent(lab, schema):
    names = {k["name"] for k in schema["keys"]}
    for key in ABSENT + NEVER:
        assert key not in names, key
        assert unknown_to_ocserv(lab, key), f"ocserv {VERSION} reads {key} after all"
    for key in DEPRECATED:
        assert key not in names, key


def test_restart_only_keys(schema):
    by_name = {k["name"]: k for k in schema["keys"]}
    for name in ("auth", "tcp-port", "udp-port", "server-cert", "server-key", "run-as-user",
                 "socket-file", "occtl-socket-file", "chroot-dir", "listen-host"):
        assert by_name[name]["restartRequired"] is True, name
    for name in ("route", "dns", "max-clients", "mtu", "ipv4-network", "banner"):
        assert by_name[name]["reload"] is True, name


def test_bad_ipv4_network_passes_ocserv_t(lab):
    """Why the agent validates values itself: ocserv -t takes a network that is no address
    (and a reload would then break every new tunnel)."""
    text = base_conf(lab).replace("ipv4-network = 10.1.0.0/24", "ipv4-network = 999.1.1.1/24")
    rc, out = ocserv_t(lab, text)
    assert rc == 0, out
    rc, out = ocserv_t(lab, text.replace("999.1.1.1/24", "999.1.1.1\nipv4-netmask = 255.255.255.0"))
    assert rc == 0, out


def test_comment_after_blank_cuts_a_value(lab):
    """Why the schema refuses ' #' inside a value: every version reads it as a comment."""
    rc, out = ocserv_t(lab, base_conf(lab) + "rekey-method = ssl #x\n")
    assert rc == 0, out
    rc, out = ocserv_t(lab, base_conf(lab) + "rekey-method = ssl#x\n")
    assert rc != 0 and "ssl#x" in out, out
