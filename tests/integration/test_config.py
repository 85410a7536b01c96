"""GET/PATCH /ocserv/config and its backups against a real ocserv and real openconnect clients:
what the agent reads is the file, what it writes is applied by the real ocserv (new sessions get
it, existing sessions stay up, the same ocserv process), what it refuses leaves the file, the
backups and ocserv untouched, and a change whose verification fails is rolled back.

Careful: a reload of a config ocserv cannot parse makes ocserv exit. Every test restores the
lab's ocserv.conf byte for byte and reloads it (fixture `conf`); ocserv must then still be the
same process (the restart test restarts it instead)."""

import ipaddress
import os
import re
import secrets
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

import lab_chroot
from helpers import assert_error, assert_ok
from lab import OCSERV, Agent, FakeSystemctl, audit_line, systemd_wrapper, wait_until

VHOST = "vpn.example.com"
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ETAG_RE = re.compile(r'^"[0-9A-Za-z_+/=-]{16,}"$')
ID_RE = re.compile(r"^\d{8}T\d{6}Z-\d{3}$")


# ---- helpers ---------------------------------------------------------------------------------

def read(path):
    with open(path, "rb") as f:
        return f.read()


def file_state(path):
    """Bytes, inode and mtime: a write through rename or in place shows in one of them."""
    st = os.stat(path)
    return read(path), st.st_ino, st.st_mtime_ns


def vhost_section(lab, banner="hello from the vhost"):
    """A [vhost:VHOST] section ocserv accepts and serves: it needs auth, a certificate and a
    network, and before 1.4.2 a device (1.1.6 warns that a vhost's device is ignored, but
    without one its network has no name and every tunnel of the vhost gets "Server
    configuration error"; 1.4.2 refuses a device in a vhost).

    Beware: a reload with a file from which a vhost ocserv serves was removed makes ocserv
    exit ("vhost:NAME: no ipv4-network ..."), on 1.1.6 and 1.3.0 at least, although
    `ocserv -t` passes that file. A test that makes ocserv serve this section must restart
    ocserv to get rid of it (conf.restarted)."""
    return (f"\n# a second virtual host, written by hand\n[vhost:{VHOST}]\n"
            f'auth = "plain[passwd={lab.dir}/ocpasswd]"\n'
            f"server-cert = {lab.dir}/server-cert.pem\n"
            f"server-key = {lab.dir}/server-key.pem\n"
            "ipv4-network = 192.168.97.0\n"
            "ipv4-netmask = 255.255.255.0\n"
            + ("" if lab_chroot.at_least(1, 4, 2) else "device = vpns\n") +
            f"banner = {banner}\n").encode()


def conf_env(lab, name, **extra):
    """The agent's settings for these tests: its own backup directory in the lab dir (never the
    system's) and a short settle time."""
    env = {"OCSERV_CONF_BACKUP_DIR": os.path.join(lab.dir, f"conf-backups-{name}"),
           "OCSERV_CONF_VERIFY_SETTLE_MS": "300"}
    env.update(extra)
    return env


def get_config(agent, raw=False):
    resp = agent.get("/ocserv/config?raw=true" if raw else "/ocserv/config")
    cfg = assert_ok(resp)["config"]
    assert resp.header("ETag") == cfg["etag"], (resp.header("ETag"), cfg["etag"])
    return cfg, cfg["etag"]


def patch(agent, body, etag=None):
    headers = {"If-Match": etag} if etag is not None else None
    return agent.request("PATCH", "/ocserv/config", json_body=body, headers=headers)


def restore(agent, backup_id, etag=None, body=None):
    headers = {"If-Match": etag} if etag is not None else None
    return agent.request("POST", f"/ocserv/config/backups/{backup_id}/restore", json_body=body,
                         headers=headers)


def step_list(body):
    return [(s["step"], s["ok"]) for s in body["steps"]]


def step(body, name):
    found = [s for s in body["steps"] if s["step"] == name]
    assert len(found) == 1, body["steps"]
    return found[0]


def backup_dir(agent):
    return agent.env["OCSERV_CONF_BACKUP_DIR"]


def backup_ids(agent):
    body = assert_ok(agent.get("/ocserv/config/backups"))
    assert body["count"] == len(body["backups"]), body
    return [b["id"] for b in body["backups"]]


def backup_files(agent):
    try:
        return sorted(os.listdir(backup_dir(agent)))
    except FileNotFoundError:
        return []


def lines_without(text, keys):
    """The file's lines (endings kept) except those of the given keys."""
    out = []
    for line in text.splitlines(keepends=True):
        key = re.split(rb"[=:\s]", line.strip(), maxsplit=1)[0].decode() if line.strip() else ""
        if key not in keys:
            out.append(line)
    return out


def key_lines(text, key):
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]")
    return [ln for ln in text.decode().splitlines() if pattern.match(ln)]


def session(agent, sid):
    return assert_ok(agent.get(f"/ocserv/sessions/{sid}"))["session"]


def nets(routes):
    """Route texts (10.1.0.0/16 or 10.1.0.0/255.255.0.0) as networks; others (default) dropped."""
    out = set()
    for r in routes or []:
        try:
            out.add(ipaddress.ip_network(r, strict=False))
        except ValueError:
            pass
    return out


def audit_fields(agent, resp):
    line = audit_line(agent, resp)
    assert line is not None, agent.log()[-3000:]
    fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line[line.find("audit"):]))
    return line, {k: v.strip('"') for k, v in fields.items()}


def ocserv_log_quiet(lab, since, settle=0.5):
    """No new line in ocserv's log since offset `since` (after a short settle): no reload."""
    time.sleep(settle)
    new = lab.server_log()[since:].strip()
    assert new == "", f"ocserv logged (a reload?):\n{new[-1500:]}"
    return True


def ocserv_check_ok(lab, text):
    """`ocserv -t` of text as a candidate next to ocserv.conf (for choosing test values)."""
    cand = lab.conf + ".itest-candidate"
    with open(cand, "wb") as f:
        f.write(text)
    try:
        r = subprocess.run(lab.tool_argv([OCSERV, "-t", "-c", cand]),
                           capture_output=True, text=True, timeout=30)
        return r.returncode == 0
    finally:
        os.unlink(cand)


def wait_log_settled(lab, before, quiet=0.4, timeout=10):
    """Wait until ocserv's log has grown past offset before and then stayed still for quiet
    seconds: main and sec-mod have both re-read the file (each logs when it does)."""
    state = {"len": len(lab.server_log()), "t": time.monotonic()}

    def settled():
        n = len(lab.server_log())
        if n != state["len"]:
            state["len"], state["t"] = n, time.monotonic()
        return n > before and time.monotonic() - state["t"] >= quiet

    wait_until(settled, timeout, what="ocserv to finish reloading")


def reload_and_wait(lab):
    before = len(lab.server_log())
    r = lab.occtl("reload")
    assert r.returncode == 0, r.stderr
    wait_log_settled(lab, before)


# ---- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def agent(lab, agent_bin):
    """This module's agent: its own backup directory, a short settle time."""
    a = Agent(lab=lab, env=conf_env(lab, "module"))
    try:
        a.start()
        yield a
    finally:
        a.close()


class ConfGuard:
    """The lab's ocserv.conf as the test found it; write() edits it by hand (no reload)."""

    def __init__(self, lab):
        self.lab = lab
        self.original = read(lab.conf)
        self.pid = lab.pid
        self.restarted = False   # the test restarts ocserv on purpose

    def write(self, data):
        """Replace the file by rename, as editors do: ocserv's main process and sec-mod read it
        separately on a reload, and must never see it half-written."""
        tmp = self.lab.conf + ".itest-new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.lab.conf)


@pytest.fixture
def conf(lab):
    """Restore ocserv.conf byte for byte after the test and reload it; ocserv must still be the
    same running process (unless the test set conf.restarted: then it is restarted)."""
    guard = ConfGuard(lab)
    yield guard
    lab.kill_clients()
    wait_until(lambda: lab.users_json() == [] if lab.running() else True, 15,
               what="the test's sessions to end")
    if read(lab.conf) != guard.original:
        guard.write(guard.original)
    alive = lab.running() and lab.pid == guard.pid
    if guard.restarted or not lab.running():
        lab.restart()          # a dead ocserv is brought back for the next tests, then reported
    else:
        reload_and_wait(lab)
    assert guard.restarted or alive, "ocserv died or was replaced:\n" + lab.server_log()[-3000:]
    assert lab.running() and (guard.restarted or lab.pid == guard.pid)


# ---- 1. reading ------------------------------------------------------------------------------

def test_get_config_typed_vhost_and_redacted(agent, lab, conf):
    """The parsed and the raw view of a file edited by hand (ocserv does not read it: the file
    is never reloaded, key-pin would only be read at start anyway)."""
    secret = "Zq9pin" + secrets.token_hex(6)
    extra = (b"# added by hand\nroute = 10.1.0.0/16\nroute = 10.2.0.0/255.255.0.0\n"
             b"dns = 10.1.0.53\n" + f"key-pin = {secret}\n".encode() +
             b"x-itest-unknown = 17\n" + b"x-itest-twice = a\nx-itest-twice = b\n" +
             vhost_section(lab))
    text = conf.original + extra
    conf.write(text)

    resp = agent.get("/ocserv/config")
    cfg, etag = get_config(agent)
    assert ETAG_RE.match(etag), etag
    assert secret not in resp.text
    assert cfg["path"] == lab.conf and cfg["size"] == len(text)
    assert cfg["ocservVersion"] == getattr(lab, "version", lab_chroot.HOST_VERSION)
    g = cfg["global"]
    assert type(g["tcp-port"]) is int and g["tcp-port"] == lab.port
    assert type(g["max-clients"]) is int and g["max-clients"] == 256
    assert g["use-occtl"] is True and g["predictable-ips"] is True
    assert g["try-mtu-discovery"] is False and g["isolate-workers"] is False
    assert g["run-as-user"] == "nobody"
    assert g["tls-priorities"] == "NORMAL:%SERVER_PRECEDENCE"       # '"' stripped as ocserv does
    assert g["auth"] == [f"plain[passwd={lab.dir}/ocpasswd]"]
    assert g["route"] == ["10.1.0.0/16", "10.2.0.0/255.255.0.0"]
    assert g["dns"] == ["10.1.0.53"]                                 # multi: an array of one
    assert g["key-pin"] == "<redacted>" and "key-pin" in cfg["redacted"]
    assert g["x-itest-unknown"] == "17"
    assert g["x-itest-twice"] == ["a", "b"]                          # unknown, repeated: an array
    assert any(i.get("key") == "x-itest-unknown" for i in cfg["issues"]), cfg["issues"]
    assert "banner" not in g and VHOST not in g
    vh = cfg["vhosts"][VHOST]
    assert vh["banner"] == "hello from the vhost" and vh["ipv4-network"] == "192.168.97.0"
    assert vh["server-cert"] == [f"{lab.dir}/server-cert.pem"]
    assert "route" not in vh

    resp = agent.get("/ocserv/config?raw=true")
    raw = assert_ok(resp)["config"]
    assert secret not in resp.text
    assert resp.header("ETag") == raw["etag"] == etag
    assert raw["path"] == lab.conf and raw["size"] == len(text)
    assert raw["text"] == text.decode().replace(f"key-pin = {secret}", "key-pin = <redacted>")

    # The ETag is the file's: stable while it stays, new when one byte changes.
    assert get_config(agent)[1] == etag
    conf.write(text + b"\n")
    assert get_config(agent)[1] != etag


def test_schema_agrees_with_the_contract(agent, lab):
    body = assert_ok(agent.get("/ocserv/config/schema"))
    keys = {k["name"]: k for k in body["schema"]["keys"]}
    assert body["count"] == len(body["schema"]["keys"])
    assert body["schema"]["ocservVersion"] == getattr(lab, "version", lab_chroot.HOST_VERSION)
    assert keys["route"]["multi"] is True and keys["route"]["reload"] is True
    assert keys["udp-port"]["restartRequired"] is True and keys["udp-port"]["vhost"] is False
    assert keys["tcp-port"]["type"] == "integer" and keys["use-occtl"]["type"] == "boolean"
    assert keys["key-pin"]["secret"] is True
    assert keys["max-clients"]["restartRequired"] is False


# ---- 2. a change applied by reload ----------------------------------------------------------

def test_patch_reload_new_sessions_get_it_old_ones_stay(agent, lab, conf):
    # A file with comments and blank lines written by hand: they must survive.
    text = conf.original.replace(b"max-clients = 256\n",
                                 b"# max-clients: set by hand\nmax-clients = 256\n\n; more\n")
    assert text != conf.original
    conf.write(text)
    old = lab.connect_one("alice")
    pid = lab.pid
    cfg, etag = get_config(agent)

    resp = patch(agent, {"set": {"route": ["10.99.0.0/16"], "max-clients": 100,
                                 "dns": ["10.99.0.53"]}}, etag)
    body = assert_ok(resp)
    assert sorted(body["changed"]) == ["dns", "max-clients", "route"], body
    assert body["applied"] == "reload" and body["dryRun"] is False, body
    assert body["restartRequired"] == [], body
    assert step_list(body) == [("validate", True), ("check", True), ("backup", True),
                               ("write", True), ("reload", True), ("verify", True)], body["steps"]
    backup_id = body["backupId"]
    assert ID_RE.match(backup_id) and step(body, "backup")["backupId"] == backup_id
    assert body["previousEtag"] == etag and body["etag"] != etag

    # The file: the new lines, every other line byte-identical and in order.
    new = read(lab.conf)
    assert key_lines(new, "route") == ["route = 10.99.0.0/16"]
    assert key_lines(new, "dns") == ["dns = 10.99.0.53"]
    assert key_lines(new, "max-clients") == ["max-clients = 100"]
    changed = {"route", "dns", "max-clients"}
    assert lines_without(new, changed) == lines_without(text, changed)
    assert b"# max-clients: set by hand\n" in new and b"\n\n; more\n" in new
    assert get_config(agent)[1] == body["etag"]
    assert body["config"]["global"]["route"] == ["10.99.0.0/16"]
    assert body["config"]["global"]["max-clients"] == 100
    assert "+route = 10.99.0.0/16" in body["diff"].splitlines(), body["diff"]
    assert "-max-clients = 256" in body["diff"].splitlines(), body["diff"]

    # The backup is the old file.
    assert backup_ids(agent)[0] == backup_id
    assert read(os.path.join(backup_dir(agent), backup_id)) == text

    # The same ocserv process, the old session untouched, a new one gets the new settings.
    assert lab.running() and lab.pid == pid and lab.status_json()["Server PID"] == pid
    assert old.alive() and old.session_id in lab.session_ids("alice")
    old_routes = nets(session(agent, old.session_id)["routes"])
    assert ipaddress.ip_network("10.99.0.0/16") not in old_routes
    new_client = lab.connect_one("carol")
    s = session(agent, new_client.session_id)
    assert ipaddress.ip_network("10.99.0.0/16") in nets(s["routes"]), s
    assert "10.99.0.53" in s["dns"], s

    line, fields = audit_fields(agent, resp)
    assert "op=config-change" in line and fields["result"] == "OK", line
    assert set(fields["keys"].split(",")) == changed, line
    assert fields["vhost"] == "-" and fields["apply"] == "reload" and fields["backup"] == backup_id

    # max-clients reached ocserv: with 2 sessions a third connection gets in under 100, not
    # under 2 (ocserv-main stops accepting at max-clients).
    assert lab.tls_probe()
    body = assert_ok(patch(agent, {"set": {"max-clients": 2}}, body["etag"]))
    assert body["changed"] == ["max-clients"]
    assert not lab.tls_probe(timeout=2.0), "ocserv took a third client with max-clients = 2"
    assert lab.pid == pid and old.alive() and new_client.alive()


def test_patch_same_values_changes_nothing(agent, lab, conf):
    before = file_state(lab.conf)
    ids = backup_files(agent)
    log = len(lab.server_log())
    _, etag = get_config(agent)
    body = assert_ok(patch(agent, {"set": {"dpd": 90, "max-clients": 256}}, etag))
    assert body["changed"] == [] and body["applied"] == "none", body
    assert body["etag"] == etag and step_list(body) == [("validate", True)], body
    assert file_state(lab.conf) == before and backup_files(agent) == ids
    assert ocserv_log_quiet(lab, log)


# ---- 3. ETag ---------------------------------------------------------------------------------

def test_if_match_required_and_stale_etag_refused(agent, lab, conf):
    before = file_state(lab.conf)
    _, etag = get_config(agent)
    resp = patch(agent, {"set": {"dpd": 91}})
    assert_error(resp, 428, "PRECONDITION_REQUIRED")
    assert file_state(lab.conf) == before

    edited = conf.original + b"# edited by hand meanwhile\n"
    conf.write(edited)
    edited_state = file_state(lab.conf)
    ids = backup_files(agent)
    resp = patch(agent, {"set": {"dpd": 91}}, etag)
    body = assert_error(resp, 412, "PRECONDITION_FAILED")
    _, current = get_config(agent)
    assert body["etag"] == current != etag, body
    assert file_state(lab.conf) == edited_state and backup_files(agent) == ids
    line, fields = audit_fields(agent, resp)
    assert fields["result"] == "PRECONDITION_FAILED", line
    assert_error(patch(agent, {"set": {"dpd": 91}}, '"0000000000000000000000"'), 412,
                 "PRECONDITION_FAILED")
    assert file_state(lab.conf) == edited_state

    # With the current ETag the change goes through, on top of the hand edit.
    assert_ok(patch(agent, {"set": {"dpd": 91}}, current))
    assert read(lab.conf) == edited.replace(b"dpd = 90\n", b"dpd = 91\n")


def test_concurrent_patches_one_wins(agent, lab, conf):
    pid = lab.pid
    _, etag = get_config(agent)
    bodies = [{"set": {"route": ["10.91.0.0/16"]}}, {"set": {"dns": ["10.92.0.53"]}}]
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        barrier.wait(5)
        results[i] = patch(agent, bodies[i], etag)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status for r in results) == [200, 412], results
    win = 0 if results[0].status == 200 else 1
    new = read(lab.conf)
    got = (key_lines(new, "route") == ["route = 10.91.0.0/16"],
           key_lines(new, "dns") == ["dns = 10.92.0.53"])
    assert got == ((True, False) if win == 0 else (False, True)), new.decode()
    assert_error(results[1 - win], 412, "PRECONDITION_FAILED")
    assert results[1 - win].json()["etag"] == results[win].json()["etag"] == get_config(agent)[1]
    assert lab.running() and lab.pid == pid


def test_lock_held_by_another_program(agent, lab, conf):
    """ocserv.conf's lock is PATH.tmp (ocpasswd's convention, atomic_file.h): while another
    program holds it, a change waits a little, then 409 LOCKED with nothing written."""
    before = file_state(lab.conf)
    ids = backup_files(agent)
    _, etag = get_config(agent)
    lock = lab.conf + ".tmp"
    os.mkdir(lock)
    try:
        resp = patch(agent, {"set": {"dpd": 95}}, etag)
    finally:
        os.rmdir(lock)
    assert_error(resp, 409, "LOCKED")
    assert file_state(lab.conf) == before and backup_files(agent) == ids
    assert_ok(patch(agent, {"set": {"dpd": 95}}, etag))      # free again: it goes through


def test_missing_file(make_agent, lab, tmp_path):
    a = make_agent(env=conf_env(lab, "missing", OCSERV_CONF_PATH=str(tmp_path / "nope.conf")))
    assert_error(a.get("/ocserv/config"), 409, "CONFLICT")
    assert_error(a.get("/ocserv/config?raw=true"), 409, "CONFLICT")
    assert_error(patch(a, {"set": {"dpd": 91}}, '"0123456789abcdef0123"'), 409, "CONFLICT")
    assert not (tmp_path / "nope.conf").exists()


# ---- 4. validation ---------------------------------------------------------------------------

BAD = {
    "route": ["10.0.0.0"],              # no prefix
    "max-clients": -1,
    "dns": ["x"],
    "ipv4-network": "999.1.1.1",        # passes ocserv -t and a reload, breaks every tunnel
    "banner": "two\nlines",             # would become two lines
    "default-domain": " lab.test",      # ocserv strips the blank: would not read back
    "dpd": "90",                        # a string for an integer
    "try-mtu-discovery": "yes",         # a string for a boolean
    "x-itest-no-such-key": "1",
}


def test_every_bad_value_listed_nothing_written(agent, lab, conf):
    conf.write(conf.original + vhost_section(lab))
    before = file_state(lab.conf)
    listing = sorted(os.listdir(lab.dir))
    ids = backup_files(agent)
    log = len(lab.server_log())
    pid = lab.pid
    _, etag = get_config(agent)

    resp = patch(agent, {"set": dict(BAD, keepalive=100)}, etag)
    body = assert_error(resp, 400, "BAD_REQUEST")
    problems = body["problems"]
    assert all(isinstance(p["message"], str) and p["message"] for p in problems), problems
    assert {p["key"] for p in problems} == set(BAD), problems
    assert any(p["key"] == "x-itest-no-such-key" and "x-itest-no-such-key" in
               body["error"]["message"] + p["message"] for p in problems), body
    line, fields = audit_fields(agent, resp)
    assert fields["result"] == "BAD_REQUEST", line

    # A global-only key in a vhost.
    resp = patch(agent, {"vhost": VHOST, "set": {"tcp-port": 4444}}, etag)
    body = assert_error(resp, 400, "BAD_REQUEST")
    assert "tcp-port" in {p["key"] for p in body["problems"]}, body

    # use-occtl = false would cut the agent off: refused.
    body = assert_error(patch(agent, {"set": {"use-occtl": False}}, etag), 400, "BAD_REQUEST")
    assert {p["key"] for p in body["problems"]} == {"use-occtl"}, body

    assert file_state(lab.conf) == before
    assert sorted(os.listdir(lab.dir)) == listing       # no candidate or temp file left
    assert backup_files(agent) == ids
    assert ocserv_log_quiet(lab, log) and lab.pid == pid


@pytest.mark.parametrize("body", [
    {},
    {"set": {}},
    {"unset": []},
    {"set": {"dpd": 91}, "force": True},
    {"set": {"dpd": 91}, "apply": "sometimes"},
    {"set": {"dpd": 91}, "vhost": ""},
    {"set": ["dpd"]},
    {"unset": "dpd"},
], ids=["empty", "empty-set", "empty-unset", "unknown-member", "bad-apply", "empty-vhost",
        "set-array", "unset-string"])
def test_bad_body_shapes(agent, lab, conf, body):
    before = file_state(lab.conf)
    _, etag = get_config(agent)
    assert_error(patch(agent, body, etag), 400, "BAD_REQUEST")
    assert file_state(lab.conf) == before


# ---- 5. ocserv -t refuses --------------------------------------------------------------------

def check_candidates(lab):
    """Values our validator may well pass but `ocserv -t` refuses (checked on 1.1.6, 1.3.0,
    1.5.0): a GnuTLS priority string with an unknown keyword (reloadable), Diffie-Hellman
    parameters or a certificate that are an existing file but no PEM, an unknown user."""
    notpem = f"{lab.dir}/ocpasswd"
    return [
        ({"tls-priorities": "NORMAL:%ITEST-NO-SUCH-KEYWORD"}, "reload"),
        ({"dh-params": notpem}, "none"),
        ({"server-cert": [notpem]}, "none"),
        ({"run-as-user": "oa-itest-no-such-user"}, "none"),
    ]


def test_ocserv_check_refuses_nothing_written(agent, lab, conf):
    before = file_state(lab.conf)
    listing = sorted(os.listdir(lab.dir))
    ids = backup_files(agent)
    log = len(lab.server_log())
    pid = lab.pid
    _, etag = get_config(agent)
    refused = {}
    for settings, apply in check_candidates(lab):
        dry = patch(agent, {"set": settings, "apply": apply, "dryRun": True})
        if dry.status == 200 and not dry.json().get("problems"):
            break
        if dry.status == 409 and dry.json()["error"]["code"] == "CONFIG_INVALID":
            break   # a dry run runs the check too
        refused[str(settings)] = dry.json()
    else:
        pytest.fail(f"the validator refuses every value that ocserv -t refuses: no way to reach "
                    f"the check step: {refused}")
    text = conf.original.decode()
    for key, value in settings.items():
        assert not ocserv_check_ok(lab, (text + "".join(
            f"{key} = {v}\n" for v in (value if isinstance(value, list) else [value]))).encode())

    resp = patch(agent, {"set": settings, "apply": apply}, etag)
    body = assert_error(resp, 409, "CONFIG_INVALID")
    assert isinstance(body["checkOutput"], str) and body["checkOutput"].strip(), body
    assert step_list(body) == [("validate", True), ("check", False)], body["steps"]
    assert step(body, "check")["output"].strip(), body["steps"]
    assert file_state(lab.conf) == before
    assert sorted(os.listdir(lab.dir)) == listing       # the candidate is gone
    assert backup_files(agent) == ids
    assert ocserv_log_quiet(lab, log) and lab.pid == pid
    line, fields = audit_fields(agent, resp)
    assert fields["result"] == "CONFIG_INVALID", line


# ---- 6. restart-only keys --------------------------------------------------------------------

def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_ports_listening():
    r = subprocess.run(["ss", "-Hulnp"], capture_output=True, text=True, timeout=10)
    return {int(m.group(1)) for m in re.finditer(r"127\.0\.0\.1:(\d+)\s", r.stdout)}


def test_restart_only_key_refused_with_reload(agent, lab, conf):
    before = file_state(lab.conf)
    ids = backup_files(agent)
    log = len(lab.server_log())
    pid = lab.pid
    _, etag = get_config(agent)
    port = free_udp_port()
    for body in ({"set": {"udp-port": port}},
                 {"set": {"udp-port": port, "dpd": 92}, "apply": "reload"}):
        resp = patch(agent, body, etag)
        out = assert_error(resp, 409, "RESTART_REQUIRED")
        assert out["restartRequired"] == ["udp-port"], out
    line, fields = audit_fields(agent, resp)
    assert fields["result"] == "RESTART_REQUIRED", line
    if not os.path.isdir("/run/systemd/system"):
        # apply "restart" where systemd does not run: refused before anything is written
        resp = patch(agent, {"set": {"udp-port": port}, "apply": "restart"}, etag)
        assert_error(resp, 503, "SYSTEMD_UNAVAILABLE")
    assert file_state(lab.conf) == before and backup_files(agent) == ids
    assert ocserv_log_quiet(lab, log) and lab.pid == pid
    assert lab.port in udp_ports_listening() and port not in udp_ports_listening()


def test_restart_only_key_applied_by_restart(make_agent, lab, conf):
    """apply "restart" runs `systemctl restart ocserv.service`: here a fake systemctl (the agent
    runs where /run/systemd/system exists, in a private mount namespace) that restarts the
    lab's real ocserv. The new ocserv listens on the new UDP port; sessions end (a restart
    ends them) and new clients connect."""
    conf.restarted = True
    with FakeSystemctl(lab) as fake:
        a = make_agent(wrapper=systemd_wrapper(),
                       env=conf_env(lab, "restart", SYSTEMCTL_PATH=fake.path))
        old = lab.connect_one("alice")
        pid = lab.pid
        port = free_udp_port()
        _, etag = get_config(a)
        resp = patch(a, {"set": {"udp-port": port}, "apply": "restart"}, etag)
        body = assert_ok(resp)
        assert body["changed"] == ["udp-port"] and body["restartRequired"] == ["udp-port"], body
        assert body["applied"] == "restart", body
        assert step_list(body) == [("validate", True), ("check", True), ("backup", True),
                                   ("write", True), ("restart", True), ("verify", True)], body
        assert ["restart", "ocserv.service"] in fake.calls, fake.calls
        assert key_lines(read(lab.conf), "udp-port") == [f"udp-port = {port}"]
    assert lab.running() and lab.pid != pid
    assert port in udp_ports_listening() and lab.port not in udp_ports_listening()
    wait_until(lambda: old.session_id not in lab.session_ids(), 10, what="the old session gone")
    c = lab.connect_one("carol")
    assert c.session_id in lab.session_ids("carol")
    line, fields = audit_fields(a, resp)
    assert fields["apply"] == "restart" and fields["result"] == "OK", line


# ---- 7. rollback -----------------------------------------------------------------------------

def test_verification_failure_rolls_back(make_agent, lab, conf):
    """A controlled verification failure: OCSERV_CONF_VERIFY_COMMAND is a test script that
    refuses phase "apply" and accepts phase "rollback". (With ocserv 1.1.6 no sane value passes
    both our validator and `ocserv -t` and then makes the real ocserv fail, so the failure is
    made by the hook.) The agent must put the old file back, reload ocserv with it, verify
    again and answer 500 CONFIG_ROLLED_BACK; ocserv runs the old config."""
    phases = os.path.join(lab.dir, "verify-phases")
    script = os.path.join(lab.dir, "verify-itest.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n"
                # argv: PHASE CONF_PATH (docs/operations.md)
                f'echo "$1 $(grep -c \'^route = 10.96.0.0/16$\' "$2") $2 $#" >> {phases}\n'
                '[ "$1" = rollback ] && exit 0\n'
                "echo 'itest verify says no'\n"
                "exit 1\n")
    os.chmod(script, 0o755)
    a = make_agent(env=conf_env(lab, "rollback", OCSERV_CONF_VERIFY_COMMAND=script))
    before = file_state(lab.conf)
    pid = lab.pid
    _, etag = get_config(a)

    resp = patch(a, {"set": {"route": ["10.96.0.0/16"]}}, etag)
    with open(phases) as f:
        seen = [ln.split() for ln in f.read().split("\n")[:-1]]
    # apply: run with the new file in place; rollback: with the old one back
    assert [ln[:2] for ln in seen] == [["apply", "1"], ["rollback", "0"]], (seen, resp.text)
    body = assert_error(resp, 500, "CONFIG_ROLLED_BACK")
    assert step_list(body) == [
        ("validate", True), ("check", True), ("backup", True), ("write", True),
        ("reload", True), ("verify", False), ("rollback-write", True),
        ("rollback-reload", True), ("rollback-verify", True)], body["steps"]
    assert body["failedStep"] == "verify", body
    assert "itest verify says no" in step(body, "verify").get("output", ""), body["steps"]
    assert ID_RE.match(body["backupId"]), body

    assert read(lab.conf) == before[0]
    assert lab.running() and lab.pid == pid and lab.status_json()["Server PID"] == pid
    c = lab.connect_one("carol")      # ocserv serves, with the old config
    assert ipaddress.ip_network("10.96.0.0/16") not in nets(session(a, c.session_id)["routes"])
    line, fields = audit_fields(a, resp)
    assert fields["result"] == "CONFIG_ROLLED_BACK" and fields["keys"] == "route", line
    assert all(ln[2:] == [lab.conf, "2"] for ln in seen), f"argv is not PHASE CONF_PATH: {seen}"


# ---- 8. dry run ------------------------------------------------------------------------------

def test_dry_run_writes_nothing(agent, lab, conf):
    before = file_state(lab.conf)
    ids = backup_files(agent)
    log = len(lab.server_log())
    pid = lab.pid
    _, etag = get_config(agent)
    body = assert_ok(patch(agent, {"set": {"route": ["10.98.0.0/16"]}, "dryRun": True}))
    assert body["dryRun"] is True and body["changed"] == ["route"], body
    assert body["problems"] == [] and body["restartRequired"] == [] and body["etag"] == etag
    diff = body["diff"].splitlines()
    assert "+route = 10.98.0.0/16" in diff and any(ln.startswith("@@ ") for ln in diff), diff
    assert not any(ln.startswith("-") and not ln.startswith("---") for ln in diff), diff
    assert file_state(lab.conf) == before and backup_files(agent) == ids
    assert ocserv_log_quiet(lab, log) and lab.pid == pid
    # A restart-only key in a dry run: reported, still nothing done.
    body = assert_ok(patch(agent, {"set": {"udp-port": free_udp_port()}, "dryRun": True,
                                   "apply": "restart"}))
    assert body["restartRequired"] == ["udp-port"], body
    assert file_state(lab.conf) == before and backup_files(agent) == ids


# ---- 9. backups ------------------------------------------------------------------------------

def test_backups_list_show_restore(agent, lab, conf):
    original = conf.original
    pid = lab.pid
    _, e0 = get_config(agent)
    b1 = assert_ok(patch(agent, {"set": {"route": ["10.95.0.0/16"]}}, e0))
    after1 = read(lab.conf)
    b2 = assert_ok(patch(agent, {"set": {"dpd": 93}}, b1["etag"]))
    after2 = read(lab.conf)

    listing = assert_ok(agent.get("/ocserv/config/backups"))
    assert listing["count"] == len(listing["backups"]) >= 2
    assert [b["id"] for b in listing["backups"][:2]] == [b2["backupId"], b1["backupId"]]
    epochs = [b["createdEpoch"] for b in listing["backups"]]
    assert epochs == sorted(epochs, reverse=True)
    for b in listing["backups"]:
        assert ISO_RE.match(b["created"]) and ID_RE.match(b["id"]), b
        assert b["size"] == os.path.getsize(os.path.join(backup_dir(agent), b["id"]))
        assert abs(b["createdEpoch"] - time.time()) < 3600
    assert read(os.path.join(backup_dir(agent), b1["backupId"])) == original
    assert read(os.path.join(backup_dir(agent), b2["backupId"])) == after1
    mode = os.stat(os.path.join(backup_dir(agent), b1["backupId"])).st_mode & 0o777
    assert mode == 0o600, oct(mode)

    one = assert_ok(agent.get(f"/ocserv/config/backups/{b1['backupId']}"))["backup"]
    assert one["id"] == b1["backupId"] and one["identical"] is False, one
    diff = one["diff"].splitlines()
    assert "+route = 10.95.0.0/16" in diff and "-dpd = 90" in diff and "+dpd = 93" in diff, diff

    # Restore: If-Match required; then the old bytes are back, reloaded, and the file it
    # replaced is itself backed up.
    assert_error(restore(agent, b1["backupId"]), 428, "PRECONDITION_REQUIRED")
    assert_error(restore(agent, b1["backupId"], e0), 412, "PRECONDITION_FAILED")
    assert read(lab.conf) == after2
    resp = restore(agent, b1["backupId"], b2["etag"])
    body = assert_ok(resp)
    assert read(lab.conf) == original
    assert sorted(body["changed"]) == ["dpd", "route"] and body["applied"] == "reload", body
    assert step_list(body)[-2:] == [("reload", True), ("verify", True)], body["steps"]
    assert read(os.path.join(backup_dir(agent), body["backupId"])) == after2
    assert backup_ids(agent)[0] == body["backupId"]
    assert assert_ok(agent.get(f"/ocserv/config/backups/{b1['backupId']}"))["backup"][
        "identical"] is True
    assert lab.running() and lab.pid == pid
    c = lab.connect_one("carol")
    s = session(agent, c.session_id)
    assert ipaddress.ip_network("10.95.0.0/16") not in nets(s["routes"]) and s["dpd"] == 90, s
    line, _ = audit_fields(agent, resp)
    assert "op=config-restore" in line and "result=OK" in line, line

    # Ids are checked before any use.
    _, cur = get_config(agent)
    for bad in ("x", urllib.parse.quote("../../etc/passwd", safe=""), "%2E%2E",
                b1["backupId"] + "%2F", "20000101T000000Z-1"):
        assert_error(agent.get(f"/ocserv/config/backups/{bad}"), 400, "BAD_REQUEST")
        assert_error(restore(agent, bad, cur), 400, "BAD_REQUEST")
    unknown = "20000101T000000Z-001"
    assert_error(agent.get(f"/ocserv/config/backups/{unknown}"), 404, "NOT_FOUND")
    assert_error(restore(agent, unknown, cur), 404, "NOT_FOUND")
    assert read(lab.conf) == original


# ---- 10. vhost -------------------------------------------------------------------------------

def test_vhost_section_change(agent, lab, conf):
    conf.restarted = True      # ocserv serves the vhost: only a restart removes it (see above)
    text = conf.original + vhost_section(lab)
    conf.write(text)
    reload_and_wait(lab)                     # ocserv now serves the vhost
    pid = lab.pid
    _, etag = get_config(agent)
    resp = patch(agent, {"vhost": VHOST, "set": {"dns": ["10.97.0.53"],
                                                  "banner": "vhost banner two"}}, etag)
    body = assert_ok(resp)
    # a vhost's keys may be named "vhost:NAME/KEY"
    assert sorted(k.rsplit("/", 1)[-1] for k in body["changed"]) == ["banner", "dns"], body
    new = read(lab.conf)
    head = new[:new.index(f"[vhost:{VHOST}]".encode())]
    assert head == text[:text.index(f"[vhost:{VHOST}]".encode())]   # global part untouched
    section = new[len(head):].decode()
    assert "\ndns = 10.97.0.53\n" in section and "\nbanner = vhost banner two\n" in section
    assert "hello from the vhost" not in section
    cfg = body["config"]
    assert cfg["vhosts"][VHOST]["dns"] == ["10.97.0.53"] and "dns" not in cfg["global"]
    line, fields = audit_fields(agent, resp)
    assert fields["vhost"] == VHOST and fields["result"] == "OK", line

    # The real ocserv: a client of the vhost gets its DNS, a client of the default host not.
    c, out = lab.try_connect("alice", vhost=VHOST)
    assert c is not None, out
    s = session(agent, c.session_id)
    assert s["vhost"] == VHOST and "10.97.0.53" in s["dns"], s
    d = session(agent, lab.connect_one("carol").session_id)
    assert "10.97.0.53" not in d["dns"], d
    assert lab.pid == pid

    # A new vhost with one key only: before 1.5 ocserv requires auth, a certificate and a
    # network of every vhost (a reload without them would stop it): refused, nothing written.
    # 1.5.0 takes such a vhost (`ocserv -t` and the reload pass): written, ocserv still runs.
    before = file_state(lab.conf)
    resp = patch(agent, {"vhost": "new.example.com", "set": {"banner": "x"}}, body["etag"])
    if lab_chroot.at_least(1, 5, 0) and resp.status == 200:
        assert read(lab.conf) == before[0] + b"[vhost:new.example.com]\nbanner = x\n", resp
    else:
        assert resp.status in (400, 409) and resp.json()["ok"] is False, resp
        assert file_state(lab.conf) == before
    assert lab.pid == pid and lab.running()


# ---- 11. secrets in a change -----------------------------------------------------------------

def test_secret_change_never_shown(agent, lab, conf):
    """apply "none": the file is written, ocserv is not told (key-pin is read at start)."""
    secret = "Zq9pin" + secrets.token_hex(6)
    log = len(lab.server_log())
    pid = lab.pid
    _, etag = get_config(agent)
    resp = patch(agent, {"set": {"key-pin": secret}, "apply": "none"}, etag)
    body = assert_ok(resp)
    assert secret not in resp.text
    assert body["applied"] == "none" and body["changed"] == ["key-pin"], body
    names = [s for s, _ in step_list(body)]
    assert names[:4] == ["validate", "check", "backup", "write"] and "reload" not in names, names
    assert "+key-pin = <redacted>" in body["diff"].splitlines(), body["diff"]
    assert body["config"]["global"]["key-pin"] == "<redacted>"
    assert key_lines(read(lab.conf), "key-pin") == [f"key-pin = {secret}"]
    assert ocserv_log_quiet(lab, log) and lab.pid == pid

    r = agent.get(f"/ocserv/config/backups/{body['backupId']}")
    assert secret not in r.text and "+key-pin = <redacted>" in assert_ok(r)["backup"]["diff"]
    r = agent.get("/ocserv/config?raw=true")
    assert secret not in r.text and "key-pin = <redacted>" in assert_ok(r)["config"]["text"]
    line, fields = audit_fields(agent, resp)
    assert fields["keys"] == "key-pin" and fields["apply"] == "none", line
    assert secret not in agent.log()


def test_restore_dropping_a_served_vhost_keeps_ocserv_up(agent, lab, conf):
    """A backup from before a vhost was added, restored with apply "reload" while ocserv serves
    that vhost: `ocserv -t` passes the old file, but a reload with a served vhost gone makes
    ocserv exit (vhost_section's note). Whatever the agent answers (a refusal such as 409
    RESTART_REQUIRED, or a rollback), the VPN must still run afterwards."""
    conf.restarted = True
    _, e0 = get_config(agent)
    body = assert_ok(patch(agent, {"set": {"dpd": 94}}, e0))
    backup = body["backupId"]                 # the file without the vhost
    assert read(os.path.join(backup_dir(agent), backup)) == conf.original
    conf.write(read(lab.conf) + vhost_section(lab))
    reload_and_wait(lab)                      # ocserv serves the vhost now
    assert lab.running()
    after = read(lab.conf)
    pid = lab.pid
    _, etag = get_config(agent)
    resp = restore(agent, backup, etag)
    time.sleep(1.0)
    assert lab.running(), (f"ocserv exited after the restore ({resp.status} "
                           f"{resp.text[:600]}):\n{lab.server_log()[-800:]}")
    if resp.status == 200:
        assert read(lab.conf) == conf.original and lab.pid != pid, resp.text
    else:
        assert read(lab.conf) == after and lab.pid == pid, resp.text
