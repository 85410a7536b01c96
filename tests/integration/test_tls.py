"""HTTPS and client certificates (issue 7): the real agent, certificates made by
dist/ocserv-agent-certs and certtool, Python's ssl module as the client.

No ocserv is needed: /ocserv/health answers (ok, with ocserv reported down) whatever ocserv
does, and authentication comes before it."""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")

from lab import run_agent_cli, Agent, free_port, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CERTS_SCRIPT = os.path.join(REPO, "dist", "ocserv-agent-certs")
TOKEN = "tls-test-token-0123456789abcdef0123456789"


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60, **kw)


def certtool_cert(d, name, template, ca="ca"):
    """name.pem and name-key.pem in d from a certtool template, signed by d/ca.pem (None:
    self-signed)."""
    key, cert, tmpl = (os.path.join(d, f) for f in (f"{name}-key.pem", f"{name}.pem",
                                                      f"{name}.tmpl"))
    with open(tmpl, "w") as f:
        f.write(template)
    run(["certtool", "--generate-privkey", "--key-type", "ecdsa", "--outfile", key])
    os.chmod(key, 0o600)
    if ca is None:
        run(["certtool", "--generate-self-signed", "--load-privkey", key, "--template", tmpl,
             "--outfile", cert])
    else:
        run(["certtool", "--generate-certificate", "--load-privkey", key,
             "--load-ca-certificate", os.path.join(d, f"{ca}.pem"),
             "--load-ca-privkey", os.path.join(d, f"{ca}-key.pem"),
             "--template", tmpl, "--outfile", cert])
    return cert, key


def pin_of(cert):
    """What AGENT_TLS_CLIENT_ALLOWED takes: certtool's SHA-256 fingerprint."""
    out = run(["certtool", "--fingerprint", "--hash", "sha256", "--infile", cert]).stdout
    return "sha256:" + out.strip()


class Certs:
    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.pem")
        self.server = (os.path.join(d, "server.pem"), os.path.join(d, "server-key.pem"))
        self.clients = {
            "alice": (os.path.join(d, "client-alice.pem"), os.path.join(d, "client-alice-key.pem")),
            "bob": (os.path.join(d, "client-bob.pem"), os.path.join(d, "client-bob-key.pem")),
            # A server-only certificate (TLS WWW server purpose) of the right CA.
            "serveronly": self.server,
        }


@pytest.fixture(scope="module")
def certs():
    d = tempfile.mkdtemp(prefix="oa-tls-")
    try:
        run([CERTS_SCRIPT, "init", d, "--dns", "localhost", "--ip", "127.0.0.1",
             "--client", "alice", "--client", "bob"])
        c = Certs(d)
        # Another CA and its client.
        certtool_cert(d, "otherca", 'cn = "other CA"\nexpiration_days = 30\nca\n'
                      'cert_signing_key\n', ca=None)
        c.clients["otherca"] = certtool_cert(
            d, "mallory", 'cn = "alice"\nexpiration_days = 30\ntls_www_client\nsigning_key\n',
            ca="otherca")
        # The right CA, long expired.
        c.clients["expired"] = certtool_cert(
            d, "expired", 'cn = "alice"\nactivation_date = "2001-01-01 00:00:00"\n'
            'expiration_date = "2002-01-01 00:00:00"\ntls_www_client\nsigning_key\n')
        yield c
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- a client --------------------------------------------------------------------------------

def context(certs, client=None, ca=None, minv=None, maxv=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca or certs.ca)
    if client is not None:
        ctx.load_cert_chain(*certs.clients[client])
    if minv is not None:
        ctx.minimum_version = minv
    if maxv is not None:
        ctx.maximum_version = maxv
    return ctx


class Resp:
    def __init__(self, status, body, der):
        self.status = status
        self.body = body
        self.der = der  # the server's certificate

    def json(self):
        return json.loads(self.body)

    @property
    def fingerprint(self):
        return hashlib.sha256(self.der).hexdigest()


def https_get(port, ctx, path="/ocserv/health", token=None, conn=None):
    """One GET; on conn (kept open) when given."""
    own = conn is None
    if own:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        return Resp(r.status, body, conn.sock.getpeercert(binary_form=True))
    finally:
        if own:
            conn.close()


def start_agent(certs, env, expect_ready=True):
    """An agent configured by env (merged with a token and a high failure limit, so that the
    many refusals here do not turn into 429s)."""
    full = {"AGENT_AUTH_TOKEN_CURRENT": TOKEN, "AGENT_AUTH_FAIL_LIMIT": "1000000"}
    full.update(env)
    a = Agent(lab=None, env=full)
    a.start(wait=False)
    if expect_ready:
        tls = "AGENT_TLS_CERT" in full

        def ready():
            if a.proc.poll() is not None:
                raise AssertionError(f"agent exited {a.proc.returncode}:\n{a.log()[-2000:]}")
            try:
                if tls:
                    https_get(a.port, context(certs, client="alice"))
                else:
                    a.get("/ocserv/health", timeout=2)
                return True
            except (OSError, ssl.SSLError, http.client.HTTPException):
                return False

        wait_until(ready, 15, interval=0.1, what="agent answering")
    return a


def tls_env(certs, **extra):
    env = {"AGENT_TLS_CERT": certs.server[0], "AGENT_TLS_KEY": certs.server[1]}
    env.update(extra)
    return env


def plain_http_answer(port):
    """What a plain-HTTP request gets back (bytes; b'' when the connection just closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /ocserv/health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return data
    finally:
        s.close()


# ---- HTTPS on and off ------------------------------------------------------------------------

def test_https_on(certs):
    a = start_agent(certs, tls_env(certs))
    try:
        r = https_get(a.port, context(certs), token=TOKEN)
        assert r.status == 200 and r.json()["ok"] is True
        r = https_get(a.port, context(certs))
        assert r.status == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
        # Plain HTTP on the HTTPS port gets no HTTP answer.
        assert not plain_http_answer(a.port).startswith(b"HTTP/")
        assert "tls=on" in a.log()
    finally:
        a.close()


def test_https_off(certs):
    a = start_agent(certs, {})
    try:
        assert a.get("/ocserv/health").status == 200
        with pytest.raises((ssl.SSLError, OSError)):
            https_get(a.port, context(certs), token=TOKEN)
    finally:
        a.close()


def test_old_tls_versions_refused(certs):
    a = start_agent(certs, tls_env(certs))
    try:
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = context(certs, minv=v, maxv=v)
            # Let OpenSSL offer the old versions at all (its default level refuses them).
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with pytest.raises((ssl.SSLError, OSError)) as e:
                https_get(a.port, ctx, token=TOKEN)
            # Refused by the server, not by our own client.
            assert "NO_PROTOCOLS_AVAILABLE" not in str(e.value)
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            assert https_get(a.port, context(certs, minv=v, maxv=v), token=TOKEN).status == 200
    finally:
        a.close()


# ---- client certificates and modes -----------------------------------------------------------

CLIENTS = [None, "alice", "otherca", "expired", "serveronly"]


def expected(mode, token, client):
    cert = client == "alice"
    return 200 if {"token": token, "mtls": cert, "both": token and cert,
                   "either": token or cert}[mode] else 401


@pytest.mark.parametrize("mode", ["token", "mtls", "both", "either"])
def test_auth_modes(certs, mode):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca, AGENT_AUTH_MODE=mode))
    try:
        for client in CLIENTS:
            for token in (False, True):
                r = https_get(a.port, context(certs, client=client),
                              token=TOKEN if token else None)
                want = expected(mode, token, client)
                assert r.status == want, (mode, client, token, r.body)
                if want == 401:
                    assert r.json()["ok"] is False
                    assert r.json()["error"]["code"] == "UNAUTHORIZED"
        assert f"auth={mode}" in a.log()
        # Why a certificate was refused is in the log, for the operator.
        if mode in ("mtls", "both"):
            log = a.log()
            assert "expired" in log.lower()
            assert "certificate=not verified" in log
    finally:
        a.close()


def test_either_is_the_default_with_a_client_ca(certs):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca))
    try:
        assert https_get(a.port, context(certs, client="alice")).status == 200
        assert https_get(a.port, context(certs), token=TOKEN).status == 200
        assert https_get(a.port, context(certs, client="expired")).status == 401
    finally:
        a.close()


def test_mtls_mode_needs_no_token(certs):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca, AGENT_AUTH_MODE="mtls",
                                   AGENT_AUTH_TOKEN_CURRENT=None))
    try:
        assert https_get(a.port, context(certs, client="alice")).status == 200
        assert https_get(a.port, context(certs), token=TOKEN).status == 401
    finally:
        a.close()


def test_allowed_by_cn(certs):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca, AGENT_AUTH_MODE="mtls",
                                   AGENT_TLS_CLIENT_ALLOWED="alice"))
    try:
        assert https_get(a.port, context(certs, client="alice")).status == 200
        r = https_get(a.port, context(certs, client="bob"))
        assert r.status == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        # Another CA's "alice" is not alice.
        assert https_get(a.port, context(certs, client="otherca")).status == 401
    finally:
        a.close()


def test_allowed_by_pin(certs):
    pin = pin_of(certs.clients["bob"][0])
    a = start_agent(certs, tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca, AGENT_AUTH_MODE="either",
                                   AGENT_TLS_CLIENT_ALLOWED=pin))
    try:
        assert https_get(a.port, context(certs, client="bob")).status == 200
        r = https_get(a.port, context(certs, client="alice"))
        assert r.status == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        # either: a token still does.
        assert https_get(a.port, context(certs, client="alice"), token=TOKEN).status == 200
    finally:
        a.close()


# ---- reload ----------------------------------------------------------------------------------

def test_sighup_reload_keeps_connections(certs):
    d = tempfile.mkdtemp(prefix="oa-tls-reload-")
    try:
        new = os.path.join(d, "new")
        run([CERTS_SCRIPT, "init", new, "--dns", "localhost", "--ip", "127.0.0.1"])
        live_cert, live_key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        shutil.copy(certs.server[0], live_cert)
        shutil.copy(certs.server[1], live_key)
        os.chmod(live_key, 0o600)
        a = start_agent(certs, {"AGENT_TLS_CERT": live_cert, "AGENT_TLS_KEY": live_key,
                                "AGENT_TLS_CLIENT_CA": certs.ca})
        try:
            ctx_old = context(certs)
            conn = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx_old, timeout=10)
            first = https_get(a.port, ctx_old, token=TOKEN, conn=conn)
            assert first.status == 200
            # Replace both files (as an ACME client would) and signal the agent.
            for src, dst in ((os.path.join(new, "server.pem"), live_cert),
                             (os.path.join(new, "server-key.pem"), live_key)):
                tmp = dst + ".tmp"
                shutil.copy(src, tmp)
                os.chmod(tmp, 0o600)
                os.rename(tmp, dst)
            os.kill(a.pid, signal.SIGHUP)
            wait_until(lambda: "certificate and key reloaded" in a.log(), 10,
                       what="the reload log line")
            # A new connection sees the new certificate (the old CA no longer verifies it).
            with pytest.raises(ssl.SSLError):
                https_get(a.port, ctx_old, token=TOKEN)
            r = https_get(a.port, context(certs, ca=os.path.join(new, "ca.pem")), token=TOKEN)
            assert r.status == 200
            assert r.fingerprint != first.fingerprint
            assert r.fingerprint == hashlib.sha256(ssl.PEM_cert_to_DER_cert(
                open(os.path.join(new, "server.pem")).read())).hexdigest()
            # The open keep-alive connection still works, on its old certificate.
            again = https_get(a.port, ctx_old, token=TOKEN, conn=conn)
            assert again.status == 200 and again.fingerprint == first.fingerprint
            conn.close()
            # A broken file on the next SIGHUP: the current ones stay.
            with open(live_cert, "w") as f:
                f.write("not a certificate\n")
            os.kill(a.pid, signal.SIGHUP)
            wait_until(lambda: "not reloaded" in a.log(), 10, what="the refusal log line")
            assert https_get(a.port, context(certs, ca=os.path.join(new, "ca.pem")),
                             token=TOKEN).fingerprint == r.fingerprint
        finally:
            a.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- refusals at start -----------------------------------------------------------------------

def test_key_readable_by_others_refused(certs):
    d = tempfile.mkdtemp(prefix="oa-tls-key-")
    try:
        key = os.path.join(d, "key.pem")
        shutil.copy(certs.server[1], key)
        os.chmod(key, 0o644)
        a = start_agent(certs, tls_env(certs, AGENT_TLS_KEY=key), expect_ready=False)
        try:
            assert a.proc.wait(15) != 0
            log = a.log()
            assert "AGENT_TLS_KEY" in log and key in log and "0644" in log, log[-2000:]
        finally:
            a.close()
        # --check-config reads the files too
        env = dict(tls_env(certs, AGENT_TLS_KEY=key), AGENT_AUTH_TOKEN_CURRENT=TOKEN)
        r = run_agent_cli(["--check-config"], env=env)
        assert r.returncode == 1 and "AGENT_TLS_KEY" in r.stderr and "0644" in r.stderr, r
        os.chmod(key, 0o600)
        r = run_agent_cli(["--check-config"], env=env)
        assert r.returncode == 0, r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_mismatched_key_refused(certs):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_KEY=certs.clients["alice"][1]),
                    expect_ready=False)
    try:
        assert a.proc.wait(15) != 0
        assert "AGENT_TLS_KEY" in a.log()
    finally:
        a.close()


def test_bad_priorities_refused(certs):
    a = start_agent(certs, tls_env(certs, AGENT_TLS_PRIORITIES="NORMAL:+NO-SUCH-THING"),
                    expect_ready=False)
    try:
        assert a.proc.wait(15) != 0
        assert "AGENT_TLS_PRIORITIES" in a.log()
    finally:
        a.close()


def check_config(env):
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "AGENT_AUTH_TOKEN_CURRENT": TOKEN,
            "AGENT_STATE_DIR": tempfile.gettempdir(), "AGENT_PORT": str(free_port())}
    base.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run([Agent(lab=None).binary, "--check-config"], env=base,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("env,message", [
    ({"AGENT_TLS_CERT": "/etc/x.pem"}, "AGENT_TLS_CERT and AGENT_TLS_KEY"),
    ({"AGENT_TLS_KEY": "/etc/x.pem"}, "AGENT_TLS_CERT and AGENT_TLS_KEY"),
    ({"AGENT_TLS_CLIENT_CA": "/etc/ca.pem"}, "AGENT_TLS_CLIENT_CA needs"),
    ({"AGENT_TLS_CERT": "/a.pem", "AGENT_TLS_KEY": "/b.pem", "AGENT_TLS_CLIENT_ALLOWED": "x"},
     "AGENT_TLS_CLIENT_ALLOWED needs"),
    ({"AGENT_TLS_CERT": "/a.pem", "AGENT_TLS_KEY": "/b.pem", "AGENT_AUTH_MODE": "mtls"},
     "AGENT_AUTH_MODE=mtls needs"),
    ({"AGENT_AUTH_MODE": "sometimes"}, "AGENT_AUTH_MODE"),
    ({"AGENT_TLS_CERT": "/a.pem", "AGENT_TLS_KEY": "/b.pem", "AGENT_TLS_CLIENT_CA": "/c.pem",
      "AGENT_TLS_CLIENT_ALLOWED": "sha256:abc"}, "AGENT_TLS_CLIENT_ALLOWED"),
])
def test_check_config_refuses(env, message):
    r = check_config(env)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr


def test_check_config_prints_tls_settings(certs):
    r = check_config(tls_env(certs, AGENT_TLS_CLIENT_CA=certs.ca))
    assert r.returncode == 0, r.stderr
    assert f"AGENT_TLS_CERT={certs.server[0]}" in r.stdout
    assert "AGENT_AUTH_MODE=either" in r.stdout


# ---- the helper script -----------------------------------------------------------------------

def test_certs_script(certs):
    info = run(["certtool", "-i", "--infile", certs.server[0]]).stdout
    assert "TLS WWW Server" in info and "DNSname: localhost" in info and "127.0.0.1" in info
    info = run(["certtool", "-i", "--infile", certs.clients["alice"][0]]).stdout
    assert "TLS WWW Client" in info and "CN=alice" in info
    for key in ("ca-key.pem", "server-key.pem", "client-alice-key.pem"):
        assert os.stat(os.path.join(certs.dir, key)).st_mode & 0o777 == 0o600
    # Never overwrites.
    r = subprocess.run([CERTS_SCRIPT, "client", certs.dir, "alice"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "not overwriting" in r.stderr
    r = subprocess.run([CERTS_SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Usage" in r.stdout
    r = subprocess.run([CERTS_SCRIPT, "client", certs.dir, "../evil"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
