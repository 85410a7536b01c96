#!/usr/bin/python3
"""A real ocserv lab for ocserv-agent: tests, the demo and the benchmark use it.

Everything runs inside a private network namespace that the *calling Python process* enters
(`NetNS.enter()`): ocserv, occtl, openconnect clients, the agent and the Python HTTP client then
share one loopback that nothing else on the machine can see.

Pieces (each usable on its own):
  NetNS  - create / enter / leave / kill-everything-inside / delete a named network namespace.
  Lab    - a temp dir with a self-signed cert, an ocpasswd file made by the real `ocpasswd`, an
           ocserv.conf; start/stop/SIGSTOP/SIGCONT/restart the real `ocserv -f`; connect real
           `openconnect` clients; run `occtl -s SOCK ...` for assertions.
  Agent  - start build/ocserv-agent with a clean environment, wait for /ocserv/health, stop it
           with SIGTERM and get its exit code, read its captured stderr log.
  http_request / Response - a tiny stdlib HTTP client.
  SSEStream / hook_send - an event-stream client on a raw socket (Last-Event-ID, small receive
           buffers, stalled readers) and a fake connect/disconnect-script report to a hook
           socket, for the /ocserv/events tests.

CLI (root only):
  lab.py up --state DIR [--agent]   start netns + ocserv + two demo users (+ agent), write DIR/lab.env
  lab.py down --state DIR           kill everything in the namespace, delete it and the temp dir
  lab.py selftest                   start a lab, connect 2 clients, print occtl's view, clean up

Every wait is bounded; every process we start is killed on cleanup.
"""

import ctypes
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OCSERV = "/usr/sbin/ocserv"
OCCTL = "/usr/bin/occtl"
OCPASSWD = "/usr/sbin/ocpasswd" if os.path.exists("/usr/sbin/ocpasswd") else "/usr/bin/ocpasswd"
OPENCONNECT = "/usr/sbin/openconnect" if os.path.exists("/usr/sbin/openconnect") else "/usr/bin/openconnect"
CERTTOOL = "/usr/bin/certtool"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"

NS_PREFIX = "oa-"
CLONE_NEWNET = 0x40000000

# Default lab users: name -> (password, group or None).
DEFAULT_USERS = {
    "alice": ("alice-pw", None),
    "bob": ("bob-pw", "staff"),
    "carol": ("carol-pw", None),
}


class LabError(RuntimeError):
    pass


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate() until it returns a truthy value; return it. Raise LabError on timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except LabError:
            raise  # the predicate knows it can never become true (e.g. the process exited)
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last_exc = exc
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise LabError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def pid_state(pid):
    """The one-letter state of a process from /proc (R, S, T, Z, ...), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:][:1].decode()


def read_log(path):
    """A log file's text so far ('' when it does not exist yet)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    return pid_state(pid) not in (None, "Z", "X")


def kill_quiet(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------------------------
# Network namespace
# --------------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd, nstype):
    if _libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class NetNS:
    """A named network namespace (`ip netns add`), that this process can enter and leave.

    setns() only moves the calling thread: call enter() from the main thread before any other
    thread is started; children and threads started afterwards inherit the namespace.
    """

    def __init__(self, name=None):
        self.name = name or f"{NS_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self._home_fd = None
        self.created = False

    @property
    def path(self):
        return f"/run/netns/{self.name}"

    def create(self):
        subprocess.run([IP, "netns", "add", self.name], check=True, capture_output=True)
        self.created = True
        subprocess.run([IP, "-n", self.name, "link", "set", "lo", "up"], check=True, capture_output=True)
        return self

    def enter(self):
        if self._home_fd is None:
            self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(fd, CLONE_NEWNET)
        finally:
            os.close(fd)
        return self

    def leave(self):
        if self._home_fd is not None:
            _setns(self._home_fd, CLONE_NEWNET)
            os.close(self._home_fd)
            self._home_fd = None

    @staticmethod
    def pids_of(name):
        r = subprocess.run([IP, "netns", "pids", name], capture_output=True, text=True)
        return [int(p) for p in r.stdout.split() if p.strip().isdigit()]

    def pids(self):
        return self.pids_of(self.name)

    @classmethod
    def kill_all_in(cls, name, timeout=5.0):
        """SIGTERM, then SIGKILL, every process in the namespace except ourselves."""
        me = os.getpid()
        deadline = time.monotonic() + timeout
        sig = signal.SIGTERM
        while True:
            left = [p for p in cls.pids_of(name) if p != me and pid_alive(p)]
            if not left:
                return
            for p in left:
                kill_quiet(p, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                kill_quiet(p, sig)
            time.sleep(0.2)
            if time.monotonic() > deadline:
                if sig == signal.SIGKILL:
                    return
                sig = signal.SIGKILL
                deadline = time.monotonic() + 2.0

    def destroy(self):
        self.leave()
        if not self.created and not os.path.exists(self.path):
            return
        self.kill_all_in(self.name)
        subprocess.run([IP, "netns", "del", self.name], capture_output=True)
        self.created = False

    @classmethod
    def cleanup_stale(cls):
        """Remove oa-<pid>-* namespaces whose creating process is gone (a crashed earlier run)."""
        try:
            names = os.listdir("/run/netns")
        except FileNotFoundError:
            return
        for name in names:
            # Only our own per-process names (oa-<pid>-<hex>); the demo's namespace outlives the
            # process that made it and is removed by `lab.py down`.
            m = re.fullmatch(re.escape(NS_PREFIX) + r"(\d+)-[0-9a-f]+", name)
            if not m or pid_alive(int(m.group(1))):
                continue
            cls.kill_all_in(name)
            subprocess.run([IP, "netns", "del", name], capture_output=True)


class PeerNS:
    """A second network namespace joined to the current one by a veth pair with /32 peer
    addresses (here local_ip, there peer_ip). A client started in it (wrap()/popen()) reaches
    ocserv from peer_ip, an address that is not on any of ocserv's own subnets: ocserv enforces
    bans on it (it never bans its own interfaces' subnets, and only lists bans on 127/8).
    destroy() kills every process inside first: `ip netns del` does not.
    """

    def __init__(self, local_ip="10.77.0.1", peer_ip="10.77.0.2"):
        self.ns = NetNS()
        self.local_ip = local_ip
        self.peer_ip = peer_ip
        tag = secrets.token_hex(3)
        self.local_dev = f"oav{tag}a"   # <= 15 chars, unique in this namespace
        self.peer_dev = f"oav{tag}b"

    @property
    def name(self):
        return self.ns.name

    def create(self):
        def ip(*args):
            subprocess.run([IP] + list(args), check=True, capture_output=True, timeout=10)

        try:
            self.ns.create()
            ip("link", "add", self.local_dev, "type", "veth", "peer", "name", self.peer_dev)
            ip("link", "set", self.peer_dev, "netns", self.ns.name)
            ip("addr", "add", self.local_ip, "peer", self.peer_ip, "dev", self.local_dev)
            ip("link", "set", self.local_dev, "up")
            ip("-n", self.ns.name, "addr", "add", self.peer_ip, "peer", self.local_ip,
               "dev", self.peer_dev)
            ip("-n", self.ns.name, "link", "set", self.peer_dev, "up")
            if shutil.which("ping"):
                wait_until(lambda: self.run(["ping", "-c1", "-W1", self.local_ip]).returncode == 0,
                           10, interval=0.2, what=f"veth {self.peer_ip} -> {self.local_ip}")
        except BaseException:
            self.destroy()
            raise
        return self

    def wrap(self, cmd):
        """cmd run inside the peer namespace (`ip netns exec` execs it: same pid)."""
        return [IP, "netns", "exec", self.ns.name] + list(cmd)

    def run(self, cmd, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 30)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self.wrap(cmd), **kw)

    def pids(self):
        return self.ns.pids()

    def destroy(self):
        if self.ns.created or os.path.exists(self.ns.path):
            NetNS.kill_all_in(self.ns.name)
            subprocess.run([IP, "netns", "del", self.ns.name], capture_output=True)
            self.ns.created = False
        # Deleting the namespace deletes the peer end and so the pair; make sure.
        subprocess.run([IP, "link", "del", self.local_dev], capture_output=True)


def free_port(host="127.0.0.1"):
    """A TCP port that is free right now in the current network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# HTTP client (stdlib only)
# --------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.header_list = headers  # list of (name, value) as received
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.elapsed = elapsed
        self._json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        if self._json is None:
            self._json = json.loads(self.body)
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Response {self.status} {self.text[:300]!r}>"


def http_request(port, method, path, *, token=None, body=None, json_body=None, headers=None,
                 host="127.0.0.1", timeout=30.0):
    """One request on a fresh connection. json_body is serialised; body is sent as-is."""
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    elif body is not None and isinstance(body, str):
        body = body.encode()
    if body is not None and "Content-Type" not in hdrs:
        hdrs["Content-Type"] = "application/json"
    if headers:
        hdrs.update(headers)
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.getheaders(), data, time.monotonic() - t0)
    finally:
        conn.close()


class SSEMessage:
    """One Server-Sent Events message: an event (id, event, data) or a comment line (comment).
    t is the time.monotonic() at which its last byte arrived."""

    def __init__(self, t, comment=None, id=None, event=None, data=None):
        self.t = t
        self.comment = comment
        self.id = id
        self.event = event
        self.data = data

    @property
    def is_comment(self):
        return self.comment is not None

    def json(self):
        return json.loads(self.data)

    def __repr__(self):
        if self.is_comment:
            return f"<SSE :{self.comment}>"
        return f"<SSE id={self.id} event={self.event} data={self.data[:200]}>"


class SSEStream:
    """A GET of an event stream on a raw socket, so that a test controls what a browser's
    EventSource hides: the request headers (Last-Event-ID), the socket's receive buffer, and
    whether anything reads at all.

    read=True: the status line and headers are read at once (status, headers; a non-200 answer's
    body is read too: response), then a thread reads the body (chunked or not), parses it into
    SSEMessage objects (messages, with arrival times) until the server ends it (ended).
    read=False: only the request is sent; nothing reads until drain() (a stalled subscriber: give
    it a small rcvbuf so that the server's writes to it soon block).
    Every wait is bounded; close() always ends the socket and the thread."""

    def __init__(self, port, path="/ocserv/events", *, token=None, headers=None,
                 host="127.0.0.1", rcvbuf=None, timeout=10.0, read=True):
        self.path = path
        self.messages = []
        self.ended = False
        self.end_time = None
        self.error = None
        self.status = None
        self.headers = {}
        self.response = None
        self._cond = threading.Condition()
        self._thread = None
        self._buf = b""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
            req = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
            if token is not None:
                req.append(f"Authorization: Bearer {token}")
            for k, v in (headers or {}).items():
                req.append(f"{k}: {v}")
            self.sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
            if read:
                self._read_head(timeout)
        except BaseException:
            self.sock.close()
            raise

    # ---- response head -----------------------------------------------------------------
    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise LabError(f"SSE {self.path}: timed out reading")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        return data

    def _read_head(self, timeout):
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        while b"\r\n\r\n" not in self._buf:
            data = self._recv(deadline)
            if not data:
                raise LabError(f"SSE {self.path}: connection closed before the response head: "
                               f"{self._buf[:300]!r}")
            self._buf += data
            if len(self._buf) > 65536:
                raise LabError(f"SSE {self.path}: response head over 64 KiB")
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        hl = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hl.append((k.strip(), v.strip()))
        self.headers = {k.lower(): v for k, v in hl}
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if self.status != 200:
            body = self._read_plain_body(deadline)
            self.response = Response(self.status, lines[0], hl, body, time.monotonic() - t0)
            self.ended = True
            return
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"sse-{self.sock.fileno()}")
        self._thread.start()

    def _read_plain_body(self, deadline):
        """A non-stream answer's body: Content-Length bytes, or chunks, or until EOF."""
        if self.chunked:
            out = b""
            for piece in self._chunks(lambda: self._recv(deadline)):
                out += piece
            return out
        n = int(self.headers.get("content-length", "-1"))
        while n < 0 or len(self._buf) < n:
            data = self._recv(deadline)
            if not data:
                break
            self._buf += data
        return self._buf if n < 0 else self._buf[:n]

    def header(self, name):
        return self.headers.get(name.lower())

    # ---- body --------------------------------------------------------------------------
    def _chunks(self, recv):
        """Yield the de-chunked body pieces; stop at the last chunk or EOF."""
        while True:
            while b"\r\n" not in self._buf:
                data = recv()
                if not data:
                    return
                self._buf += data
            line, rest = self._buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            while len(rest) < size + 2:
                data = recv()
                if not data:
                    if rest[:size]:
                        yield rest[:size]
                    return
                rest += data
            self._buf = rest[size + 2:]
            if size == 0:
                return
            yield rest[:size]

    def _raw_pieces(self, recv):
        if self._buf:
            piece, self._buf = self._buf, b""
            yield piece
        while True:
            data = recv()
            if not data:
                return
            yield data

    def _run(self):
        self.sock.settimeout(None)

        def recv():
            try:
                return self.sock.recv(65536)
            except OSError:
                return b""

        pieces = self._chunks(recv) if self.chunked else self._raw_pieces(recv)
        text = b""
        fields = {}
        try:
            for piece in pieces:
                text += piece
                while True:
                    i = text.find(b"\n")
                    if i < 0:
                        break
                    line = text[:i].rstrip(b"\r").decode("utf-8", "replace")
                    text = text[i + 1:]
                    self._line(line, fields)
        except Exception as exc:  # noqa: BLE001 - report in the test, not on stderr
            self.error = exc
        with self._cond:
            self.ended = True
            self.end_time = time.monotonic()
            self._cond.notify_all()

    def _line(self, line, fields):
        now = time.monotonic()
        if line == "":
            if fields:
                msg = SSEMessage(now, id=fields.get("id"), event=fields.get("event", "message"),
                                 data="\n".join(fields.get("data", [])))
                fields.clear()
                self._add(msg)
            return
        if line.startswith(":"):
            self._add(SSEMessage(now, comment=line[1:].strip()))
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            fields.setdefault("data", []).append(value)
        else:
            fields[name] = value

    def _add(self, msg):
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    # ---- waiting -----------------------------------------------------------------------
    def events(self, pred=None):
        """The event messages so far (comments left out), optionally filtered."""
        with self._cond:
            return [m for m in self.messages if not m.is_comment and (pred is None or pred(m))]

    def comments(self):
        with self._cond:
            return [m for m in self.messages if m.is_comment]

    def wait(self, check, timeout, what="SSE messages"):
        """Wait until check(messages) is truthy; return its value. LabError on timeout, or when
        the stream ended first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = check(list(self.messages))
                if value:
                    return value
                if self.ended:
                    raise LabError(f"SSE {self.path}: stream ended while waiting for {what}; "
                                   f"got {self.messages[-10:]!r} error={self.error!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError(f"SSE {self.path}: timed out after {timeout}s waiting for "
                                   f"{what}; got {self.messages[-10:]!r}")
                self._cond.wait(left)

    def wait_events(self, count, timeout, pred=None, what=None):
        """Wait for at least count event messages (matching pred); return all of them."""
        def check(msgs):
            evs = [m for m in msgs if not m.is_comment and (pred is None or pred(m))]
            return evs if len(evs) >= count else None

        return self.wait(check, timeout, what=what or f"{count} event(s)")

    def wait_event(self, pred, timeout, what="an event"):
        """The first event message matching pred."""
        return self.wait_events(1, timeout, pred, what)[0]

    def wait_end(self, timeout):
        """Wait until the server ends the stream; True if it did in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def drain(self, timeout=10.0):
        """For read=False: read whatever the server sent until it closes the connection or
        timeout passes. Returns (bytes, closed_by_server)."""
        deadline = time.monotonic() + timeout
        out = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out, False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return out, False
            except OSError:
                return out, True
            if not data:
                return out, True
            out += data

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self._thread is not None:
            self._thread.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def hook_send(socket_path, variables, timeout=5.0):
    """Send one connect/disconnect-script report to an agent's hook socket, as `ocserv-agent
    hook` does (KEY=VALUE lines, an empty line; hook_server.h), and return its answer line
    ("allow" or "deny ..."). For tests that need many events fast."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        s.sendall("".join(f"{k}={v}\n" for k, v in variables.items()).encode() + b"\n")
        out = b""
        while not out.endswith(b"\n"):
            data = s.recv(4096)
            if not data:
                break
            out += data
        return out.decode("utf-8", "replace").strip()


def unix_peer_pids(path):
    """The pids holding the client end of a connection to the unix listening socket at path
    (`ss -xnp`: the accepted end names the path; its peer inode is the client's end)."""
    r = subprocess.run(["ss", "-xnpa"], capture_output=True, text=True, timeout=10)
    by_inode = {}
    peers = []
    for line in r.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 8:
            continue
        local, local_ino, peer_ino = parts[4], parts[5], parts[7]
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)]
        by_inode[local_ino] = pids
        if local == path and parts[1] == "ESTAB":
            peers.append(peer_ino)
    return {p for ino in peers for p in by_inode.get(ino, [])}


# --------------------------------------------------------------------------------------------
# ocserv lab
# --------------------------------------------------------------------------------------------

OCSERV_CONF_TEMPLATE = """\
# ocserv-agent test lab (generated by tests/integration/lab.py)
auth = "plain[passwd={dir}/ocpasswd]"
listen-host = {host}
tcp-port = {port}
udp-port = {port}
run-as-user = nobody
run-as-group = nogroup
socket-file = {dir}/run/ocserv-socket
occtl-socket-file = {dir}/run/occtl.socket
use-occtl = true
pid-file = {dir}/run/ocserv.pid
server-cert = {dir}/server-cert.pem
server-key = {dir}/server-key.pem
isolate-workers = false
max-clients = {max_clients}
max-same-clients = {max_same_clients}
rate-limit-ms = 0
server-stats-reset-time = 604800
keepalive = 32400
dpd = 90
mobile-dpd = 1800
switch-to-tcp-timeout = 25
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
auth-timeout = 240
idle-timeout = 1200
min-reauth-time = 300
max-ban-score = 0
ban-reset-time = 1200
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
use-utmp = false
device = vpns
predictable-ips = true
default-domain = lab.test
ipv4-network = {network}
ipv4-netmask = 255.255.255.0
config-per-user = {dir}/config-per-user/
config-per-group = {dir}/config-per-group/
"""

CERT_TEMPLATE = """\
cn = "ocserv-agent lab"
organization = "ocserv-agent tests"
expiration_days = 30
tls_www_server
signing_key
encryption_key
"""


class Client:
    """One openconnect client process (daemonised with --background)."""

    def __init__(self, lab, user, index):
        self.lab = lab
        self.user = user
        self.index = index
        base = os.path.join(lab.dir, "clients", f"{user}-{index}")
        self.pid_file = base + ".pid"
        self.log_file = base + ".log"
        self.pid = None
        self.session_id = None  # occtl ID when it could be determined

    def read_pid(self):
        try:
            with open(self.pid_file) as f:
                txt = f.read().strip()
            return int(txt) if txt else None
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.pid is not None and pid_alive(self.pid)

    def kill(self, sig=signal.SIGTERM, timeout=5.0):
        """Stop the client; SIGKILL if it does not go away."""
        if self.pid is None:
            return
        kill_quiet(self.pid, sig)
        try:
            wait_until(lambda: not pid_alive(self.pid), timeout, what=f"openconnect {self.pid} exit")
        except LabError:
            kill_quiet(self.pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(self.pid), 3.0, what=f"openconnect {self.pid} SIGKILL")

    def log(self):
        return read_log(self.log_file)

    def __repr__(self):
        return f"<Client {self.user}#{self.index} pid={self.pid} id={self.session_id}>"


class Lab:
    """A real ocserv with a generated config, users and certificate in a private temp dir.

    The caller must already be inside the network namespace the lab should use (NetNS.enter()).
    """

    def __init__(self, users=None, port=4443, host="127.0.0.1", max_same_clients=64,
                 max_clients=256, network="192.168.99.0", base_dir=None, name="lab",
                 listen_all=False, max_ban_score=None, min_reauth_time=None,
                 connect_script=None, disconnect_script=None, route_add_cmd=None,
                 conf_options=None):
        """listen_all: no listen-host line (ocserv listens on every address, e.g. a PeerNS veth's
        too; clients of this namespace still use `host`). max_ban_score / min_reauth_time (the
        ban time 1.1.6 honours) / connect_script / disconnect_script / route_add_cmd set those
        ocserv.conf keys; conf_options {key: value or [values]} sets any others (each replaces
        the template's line for that key). All of them are attributes write_conf() reads."""
        self.listen_all = listen_all
        self.conf_options = dict(conf_options or {})
        for key, value in (("max-ban-score", max_ban_score), ("min-reauth-time", min_reauth_time),
                           ("connect-script", connect_script),
                           ("disconnect-script", disconnect_script),
                           ("route-add-cmd", route_add_cmd)):
            if value is not None:
                self.conf_options[key] = value
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.port = port
        self.host = host
        self.max_same_clients = max_same_clients
        self.max_clients = max_clients
        self.network = network
        self.dir = tempfile.mkdtemp(prefix=f"oa-{name}-", dir=base_dir)
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "ocserv.conf")
        self.passwd = os.path.join(self.dir, "ocpasswd")
        self.socket = os.path.join(self.dir, "run", "occtl.socket")
        self.log_file = os.path.join(self.dir, "ocserv.log")
        self.proc = None
        self._log_fh = None
        self.clients = []
        self._client_counter = 0
        self._lock = threading.Lock()
        self.pin = None
        try:
            self._prepare()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    # ---- files -------------------------------------------------------------------------
    def _prepare(self):
        for sub in ("run", "clients", "config-per-user", "config-per-group"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            os.chmod(os.path.join(self.dir, sub), 0o755)
        key = os.path.join(self.dir, "server-key.pem")
        cert = os.path.join(self.dir, "server-cert.pem")
        tmpl = os.path.join(self.dir, "cert.tmpl")
        with open(tmpl, "w") as f:
            f.write(CERT_TEMPLATE)
        subprocess.run(self.tool_argv([CERTTOOL, "--generate-privkey", "--key-type=ecdsa",
                                       "--outfile", key]),
                       check=True, capture_output=True, timeout=30)
        subprocess.run(self.tool_argv([CERTTOOL, "--generate-self-signed", "--load-privkey", key,
                                       "--template", tmpl, "--outfile", cert]),
                       check=True, capture_output=True, timeout=30)
        info = subprocess.run(self.tool_argv([CERTTOOL, "--certificate-info", "--infile", cert]),
                              check=True, capture_output=True, text=True, timeout=30).stdout
        for line in info.splitlines():
            if "pin-sha256:" in line:
                self.pin = line.split()[-1]
                break
        if not self.pin:
            raise LabError("certtool printed no pin-sha256")
        for user, (pw, group) in self.users.items():
            self._ocpasswd(user, pw, group)
        # A per-group file gives the staff group's sessions non-empty DNS and Routes lists.
        with open(os.path.join(self.dir, "config-per-group", "staff"), "w") as f:
            f.write("route = 192.168.50.0/255.255.255.0\ndns = 192.168.50.53\n")
        self.write_conf()

    def tool_argv(self, cmd):
        """The argv that runs a lab tool's command line (ocserv, occtl, ocpasswd, certtool,
        openconnect; possibly behind a PeerNS's `ip netns exec`): as is, the host's tools here;
        lab_chroot.ChrootLab runs the same command on another ocserv version's chroot."""
        return list(cmd)

    def _ocpasswd(self, user, pw, group=None):
        cmd = [OCPASSWD, "-c", self.passwd]
        if group:
            cmd += ["-g", group]
        cmd.append(user)
        subprocess.run(self.tool_argv(cmd), input=f"{pw}\n{pw}\n", text=True, check=True,
                       capture_output=True, timeout=30)

    def add_user(self, user, pw=None, group=None):
        """Add (or update) a user; ocserv re-reads the file on every login."""
        pw = pw or f"{user}-pw"
        with self._lock:
            self._ocpasswd(user, pw, group)
            self.users[user] = (pw, group)
        return pw

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write(self._apply_conf_options(OCSERV_CONF_TEMPLATE.format(
                dir=self.dir, host=self.host, port=self.port, network=self.network,
                max_same_clients=self.max_same_clients, max_clients=self.max_clients)))
            f.write(extra)

    def _apply_conf_options(self, text):
        """The template with listen_all and conf_options applied (see __init__)."""
        drop = set(getattr(self, "conf_options", {}))
        if getattr(self, "listen_all", False):
            drop.add("listen-host")
        lines = [ln for ln in text.splitlines()
                 if ln.split("=", 1)[0].strip() not in drop or ln.lstrip().startswith("#")]
        for key, value in getattr(self, "conf_options", {}).items():
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                lines.append(f"{key} = {v}")
        return "\n".join(lines) + "\n"

    def set_conf_option(self, key, value):
        """Set (value) or drop (None) one conf_options key; call write_conf() (and reload or
        restart ocserv) to apply it."""
        if value is None:
            self.conf_options.pop(key, None)
        else:
            self.conf_options[key] = value

    def user_config(self, user, text):
        """Write (text) or remove (None) config-per-user/USER; ocserv reads it on each login."""
        return self._per_config("config-per-user", user, text)

    def group_config(self, group, text):
        """Write (text) or remove (None) config-per-group/GROUP."""
        return self._per_config("config-per-group", group, text)

    def _per_config(self, sub, name, text):
        path = os.path.join(self.dir, sub, name)
        if text is None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        else:
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        return path

    def hook_script(self, socket_path, binary=None, name="agent-hook.sh"):
        """A /bin/sh connect/disconnect script in the lab dir that execs `AGENT hook --socket
        SOCKET` (ocserv runs scripts without arguments, via /bin/sh when ocserv-fw is involved).
        Returns its path; pass it as connect_script= / disconnect_script=."""
        binary = binary or agent_binary()
        path = os.path.join(self.dir, name)
        log = os.path.join(self.dir, "agent-hook.log")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    "# ocserv-agent lab: hand the connect/disconnect event to the agent's hook\n"
                    f"echo \"$(date +%s) $REASON ID=$ID USERNAME=$USERNAME IP_REAL=$IP_REAL\" >>{log}\n"
                    f"exec {binary} hook --socket {socket_path} 2>>{log}\n")
        os.chmod(path, 0o755)
        return path

    # ---- server ------------------------------------------------------------------------
    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        if self.running():
            return
        self._log_fh = open(self.log_file, "ab")
        self.proc = subprocess.Popen(self.tool_argv([OCSERV, "-c", self.conf, "-f"]),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise LabError(f"ocserv exited with {self.proc.returncode}:\n{self.server_log()[-2000:]}")
            return self.occtl("show", "status", timeout=3).returncode == 0

        try:
            wait_until(ready, timeout, interval=0.1, what="ocserv to answer occtl show status")
        except LabError:
            self.stop()
            raise

    def stop(self, timeout=10.0):
        """SIGTERM ocserv (and so its workers) and wait; SIGKILL on timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            kill_quiet(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # Workers and sec-mod are in ocserv's process group (new session); make sure none lingers.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        rc = self.proc.returncode
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None
        return rc

    def pause(self):
        """SIGSTOP ocserv-main: occtl then waits for a reply that never comes."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        wait_until(lambda: pid_state(self.proc.pid) == "T", 3.0, what="ocserv stopped state")

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def restart(self, timeout=10.0):
        self.stop()
        self.start(timeout)

    def replace_cert(self, expiration_days=30, activation_date=None, expiration_date=None):
        """Re-issue the self-signed server certificate (same file, same key, so the pin stays)
        with another validity: expiration_days from now, or fixed dates such as
        activation_date="2020-01-01 00:00:00", expiration_date="2021-01-01 00:00:00" for an
        expired one. ocserv loads it on its next (re)start."""
        key = os.path.join(self.dir, "server-key.pem")
        cert = os.path.join(self.dir, "server-cert.pem")
        tmpl = os.path.join(self.dir, "cert-replace.tmpl")
        lines = [l for l in CERT_TEMPLATE.splitlines() if not l.startswith("expiration_days")]
        if expiration_date is not None:
            lines.append(f'expiration_date = "{expiration_date}"')
        else:
            lines.append(f"expiration_days = {expiration_days}")
        if activation_date is not None:
            lines.append(f'activation_date = "{activation_date}"')
        with open(tmpl, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(self.tool_argv([CERTTOOL, "--generate-self-signed", "--load-privkey", key,
                                       "--template", tmpl, "--outfile", cert]),
                       check=True, capture_output=True, timeout=30)
        return cert

    def server_log(self):
        return read_log(self.log_file)

    # ---- occtl -------------------------------------------------------------------------
    def occtl(self, *args, timeout=10.0, json_output=False):
        cmd = [OCCTL, "-s", self.socket]
        if json_output:
            cmd.append("-j")
        cmd += list(args)
        return subprocess.run(self.tool_argv(cmd), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def occtl_json(self, *args, timeout=10.0):
        r = self.occtl(*args, timeout=timeout, json_output=True)
        if r.returncode not in (0, 2):
            raise LabError(f"occtl {' '.join(args)} failed rc={r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout) if r.stdout.strip() else None

    def users_json(self):
        """occtl -j show users as a list (authenticated sessions only, occtl's order)."""
        data = self.occtl_json("show", "users") or []
        return [u for u in data if u.get("Username") not in (None, "", "(none)")]

    def status_json(self):
        return self.occtl_json("show", "status")

    def session_ids(self, user=None):
        return [u["ID"] for u in self.users_json() if user is None or u["Username"] == user]

    def wait_sessions(self, user, count, timeout=15.0):
        """Wait until occtl shows exactly `count` sessions for user; return their IDs."""
        def exact():
            ids = self.session_ids(user)
            return (ids or True) if len(ids) == count else None

        res = wait_until(exact, timeout, interval=0.1, what=f"{count} session(s) of {user}")
        return [] if res is True else res

    def open_preauth(self, timeout=5.0):
        """A TLS connection that starts the AnyConnect login and stops at the password prompt:
        occtl then lists a "(none)" user in state "pre-auth". Close the returned socket to end it."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = ctx.wrap_socket(socket.create_connection((self.host, self.port), timeout=timeout))
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="init">'
                b'<version who="vpn">v9.01</version><group-access>https://' + self.host.encode() +
                b'/</group-access></config-auth>')
        tls.sendall(b"POST / HTTP/1.1\r\nHost: " + self.host.encode() +
                    b"\r\nUser-Agent: Open AnyConnect VPN Agent v9.01\r\nX-Transcend-Version: 1\r\n"
                    b"X-Aggregate-Auth: 1\r\nContent-Type: application/xml\r\nContent-Length: " +
                    str(len(body)).encode() + b"\r\n\r\n" + body)
        tls.recv(4096)
        return tls

    def tls_probe(self, timeout=3.0):
        """Whether ocserv completes a TLS handshake on its TCP port within timeout. ocserv-main
        stops accepting connections while max-clients workers exist, so this tells whether it
        would take one more client (the probe itself is a worker while it lasts)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as raw:
                with ctx.wrap_socket(raw):
                    return True
        except (OSError, ssl.SSLError):
            return False

    # ---- clients -----------------------------------------------------------------------
    def _spawn_client(self, user, password=None):
        with self._lock:
            self._client_counter += 1
            idx = self._client_counter
        if password is None:
            password = self.users[user][0]
        c = Client(self, user, idx)
        cmd = [OPENCONNECT, "--protocol=anyconnect", "--non-inter", "--passwd-on-stdin",
               f"--user={user}", "--servercert", self.pin, "--script=/bin/true", "--background",
               f"--pid-file={c.pid_file}", f"https://{self.host}:{self.port}/"]
        # stdout/stderr go to a file: --background keeps them open, a pipe would never close.
        log = open(c.log_file, "wb")
        proc = subprocess.Popen(self.tool_argv(cmd), stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        proc.stdin.write(f"{password}\n".encode())
        proc.stdin.close()
        return c, proc

    def connect(self, user, count=1, timeout=30.0, password=None):
        """Connect `count` real openconnect clients as `user` (in parallel); wait until occtl
        shows them. Returns the Client objects (session_id set when it could be determined)."""
        before = set(self.session_ids(user))
        started = [self._spawn_client(user, password) for _ in range(count)]
        deadline = time.monotonic() + timeout
        clients = []
        try:
            for c, proc in started:
                try:
                    rc = proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise LabError(f"openconnect for {user} did not background in time:\n{c.log()[-1500:]}")
                if rc != 0:
                    raise LabError(f"openconnect for {user} exited {rc}:\n{c.log()[-1500:]}")
                c.pid = wait_until(c.read_pid, max(0.5, deadline - time.monotonic()),
                                   what=f"pid file {c.pid_file}")
                clients.append(c)
                self.clients.append(c)
        except BaseException:
            # Leave nothing behind: the ones still starting and the ones already in background.
            for c, proc in started:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                c.pid = c.pid or c.read_pid()
                if c.pid and c not in self.clients:
                    c.kill(timeout=2.0)
            raise

        def arrived():
            ids = [i for i in self.session_ids(user) if i not in before]
            return ids if len(ids) >= count else None

        new_ids = wait_until(arrived, max(0.5, deadline - time.monotonic()), interval=0.1,
                             what=f"{count} new session(s) of {user} in occtl")
        if count == 1:
            clients[0].session_id = new_ids[0]
        return clients

    def connect_one(self, user, timeout=30.0):
        return self.connect(user, 1, timeout)[0]

    def kill_clients(self, user=None):
        """Stop the clients (of one user, or all): signal them all first, then wait for each."""
        victims = [c for c in self.clients if user is None or c.user == user]
        for c in victims:
            if c.pid is not None:
                kill_quiet(c.pid, signal.SIGTERM)
        for c in victims:
            c.kill()
            self.clients.remove(c)

    # ---- logins by cookie, from another namespace, expected failures -------------------
    def url(self, peer=None, host=None):
        """The server URL for a client here (host, or the given one, e.g. "::1") or in a
        PeerNS (its local_ip: needs listen_all=True)."""
        host = host or (peer.local_ip if peer else self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}/"

    def authenticate(self, user, password=None, peer=None, timeout=30.0, host=None):
        """`openconnect --authenticate`: log in, print the cookie, exit (no tunnel).
        Returns (returncode, {COOKIE, HOST, CONNECT_URL, FINGERPRINT, ...} unquoted, output)."""
        if password is None:
            password = self.users[user][0]
        cmd = [OPENCONNECT, "--protocol=anyconnect", "--non-inter", "--passwd-on-stdin",
               f"--user={user}", "--servercert", self.pin, "--authenticate",
               self.url(peer, host)]
        if peer is not None:
            cmd = peer.wrap(cmd)
        try:
            r = subprocess.run(self.tool_argv(cmd), input=f"{password}\n", capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"openconnect --authenticate for {user} timed out") from exc
        values = {}
        for line in r.stdout.splitlines():
            m = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
            if m:
                try:
                    parts = shlex.split(m.group(2))
                except ValueError:
                    parts = [m.group(2)]
                values[m.group(1)] = parts[0] if parts else ""
        return r.returncode, values, r.stdout + r.stderr

    def login_cookie(self, user, password=None, peer=None, timeout=30.0):
        """A fresh session cookie for user (openconnect --authenticate); LabError if refused."""
        rc, values, out = self.authenticate(user, password, peer, timeout)
        if rc != 0 or not values.get("COOKIE"):
            raise LabError(f"openconnect --authenticate for {user} failed rc={rc}:\n{out[-1500:]}")
        return values["COOKIE"]

    def try_connect(self, user, password=None, *, cookie=None, peer=None, timeout=30.0,
                    host=None, vhost=None):
        """Start one backgrounded openconnect for user: by password (default: the lab's), or
        resuming `cookie` with --cookie-on-stdin (no password); here or from a PeerNS.
        vhost: connect to https://VHOST:PORT/ with VHOST resolved to the lab's address
        (--resolve), so that ocserv picks its [vhost:VHOST] section by the TLS server name.
        Returns (Client, None) once occtl lists its new session (client.session_id set), or
        (None, openconnect's output) when openconnect exits non-zero (refused)."""
        before = set(self.session_ids(user))
        with self._lock:
            self._client_counter += 1
            idx = self._client_counter
        c = Client(self, user, idx)
        cmd = [OPENCONNECT, "--protocol=anyconnect", "--non-inter"]
        if cookie is not None:
            cmd.append("--cookie-on-stdin")
            secret = cookie
        else:
            cmd += ["--passwd-on-stdin", f"--user={user}"]
            secret = self.users[user][0] if password is None else password
        url = self.url(peer, host)
        if vhost is not None:
            ip = host or (peer.local_ip if peer else self.host)
            cmd.append(f"--resolve={vhost}:{ip}")
            url = f"https://{vhost}:{self.port}/"
        cmd += ["--servercert", self.pin, "--script=/bin/true", "--background",
                f"--pid-file={c.pid_file}", url]
        if peer is not None:
            cmd = peer.wrap(cmd)
        log = open(c.log_file, "wb")   # never a pipe: --background keeps it open
        proc = subprocess.Popen(self.tool_argv(cmd), stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        try:
            proc.stdin.write(f"{secret}\n".encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise LabError(f"openconnect for {user} did not finish/background in {timeout}s:\n"
                           f"{c.log()[-1500:]}")
        if rc != 0:
            stray = c.read_pid()
            if stray and pid_alive(stray):
                c.pid = stray
                c.kill(timeout=2.0)
            return None, c.log()
        c.pid = wait_until(c.read_pid, 5.0, what=f"pid file {c.pid_file}")
        self.clients.append(c)

        def arrived():
            ids = [i for i in self.session_ids(user) if i not in before]
            return ids or None

        c.session_id = wait_until(arrived, timeout, interval=0.1,
                                  what=f"a new session of {user} in occtl")[0]
        return c, None

    def connect_cookie(self, user, cookie, peer=None, timeout=30.0):
        """Resume a session with its cookie; LabError if refused. Returns the Client."""
        c, out = self.try_connect(user, cookie=cookie, peer=peer, timeout=timeout)
        if c is None:
            raise LabError(f"cookie resume for {user} refused:\n{out[-1500:]}")
        return c

    def connect_from(self, peer, user, password=None, timeout=30.0):
        """A password login from a PeerNS; LabError if refused. Returns the Client."""
        c, out = self.try_connect(user, password, peer=peer, timeout=timeout)
        if c is None:
            raise LabError(f"login of {user} from {peer.peer_ip} refused:\n{out[-1500:]}")
        return c

    def forget_client(self, client):
        """Drop a client that is already gone (killed by the test) from the teardown list."""
        if client in self.clients:
            self.clients.remove(client)

    # ---- occtl's less regular outputs (1.1.6 prints invalid JSON for these) -----------
    def occtl_json_lenient(self, *args, timeout=10.0):
        """occtl -j ARGS parsed after dropping the trailing commas older versions print."""
        r = self.occtl(*args, timeout=timeout, json_output=True)
        if r.returncode not in (0, 2):
            raise LabError(f"occtl {' '.join(args)} failed rc={r.returncode}: {r.stderr.strip()}")
        text = re.sub(r",(\s*[}\]])", r"\1", r.stdout)
        return json.loads(text) if text.strip() else None

    def cookies_occtl(self, which="all"):
        """occtl -j show sessions all|valid as a list of dicts."""
        return self.occtl_json_lenient("show", "sessions", which) or []

    def cookie_occtl(self, sid):
        """occtl -j show session SID as a list of dicts ([] when occtl knows none)."""
        return self.occtl_json_lenient("show", "session", sid) or []

    def bans_occtl(self):
        """occtl -j show ip bans as a list of dicts."""
        return self.occtl_json_lenient("show", "ip", "bans") or []

    def ban_points_occtl(self):
        """occtl -j show ip ban points as a list of dicts."""
        return self.occtl_json_lenient("show", "ip", "ban", "points") or []

    def iroutes_occtl(self):
        """occtl -j show iroutes as [{ID, Username, vhost, Device, IP, iRoutes}]: read key by key
        (1.1.6 prints one object around all users with "IP" twice and no separators)."""
        r = self.occtl("show", "iroutes", json_output=True)
        if r.returncode not in (0, 2):
            raise LabError(f"occtl show iroutes failed rc={r.returncode}: {r.stderr.strip()}")
        out = []
        for m in re.finditer(r'"([^"]+)":\s*("(?:[^"\\]|\\.)*"|-?\d+|\[[^\]]*\])', r.stdout):
            key, raw = m.group(1), m.group(2)
            if raw.startswith("["):
                value = re.findall(r'"((?:[^"\\]|\\.)*)"', raw)
            else:
                value = json.loads(raw)
            if key == "ID":
                out.append({})
            if out and key not in out[-1]:
                out[-1][key] = value
        return out

    # ---- teardown ----------------------------------------------------------------------
    def close(self, keep_dir=False):
        for c in self.clients:
            try:
                c.kill(timeout=2.0)
            except LabError:
                pass
        self.clients = []
        self.stop()
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The agent under test
# --------------------------------------------------------------------------------------------

def agent_binary():
    return os.environ.get("OA_AGENT_BIN", os.path.join(REPO, "build", "ocserv-agent"))


class Agent:
    """build/ocserv-agent configured only by environment variables (a clean environment)."""

    def __init__(self, lab=None, token=None, previous=None, port=None, state_dir=None,
                 env=None, binary=None, args=None, log_dir=None, timeout_ms=5000, wrapper=None):
        """wrapper: an argv prefix that must end by exec'ing the agent (so that proc.pid is the
        agent's), e.g. systemd_wrapper(); None runs the binary directly."""
        self.lab = lab
        self.wrapper = list(wrapper or [])
        self.binary = binary or agent_binary()
        self.token = token or secrets.token_hex(24)
        self.previous = previous
        self.port = port or free_port()
        base = log_dir or (lab.dir if lab else tempfile.gettempdir())
        self.work = tempfile.mkdtemp(prefix="agent-", dir=base)
        os.chmod(self.work, 0o755)
        if state_dir is None:
            state_dir = os.path.join(self.work, "state")
            os.makedirs(state_dir, mode=0o755)
        self.state_dir = state_dir
        self.log_file = os.path.join(self.work, "agent.log")
        self.args = list(args or [])
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "AGENT_HOST": "127.0.0.1",
            "AGENT_PORT": str(self.port),
            "AGENT_AUTH_TOKEN_CURRENT": self.token,
            "OCCTL_PATH": OCCTL,
            "OCCTL_USE_SUDO": "false",
            "OCCTL_TIMEOUT_MS": str(timeout_ms),
            "AGENT_STATE_DIR": self.state_dir,
            "RADIUSCLIENT_CONF_PATH": os.path.join(self.work, "radiusclient.conf"),
            "RADIUS_SERVERS_PATH": os.path.join(self.work, "servers"),
            "OCSERV_PATH": OCSERV,
            # Never the system-wide /run/ocserv-agent/hook.sock: one per agent.
            "AGENT_HOOK_SOCKET": os.path.join(self.work, "hook.sock"),
            # Tests send many wrong tokens and open many streams from 127.0.0.1 to one
            # agent; test_limits.py sets its own limits to test them.
            "AGENT_AUTH_FAIL_LIMIT": "1000000",
            "AGENT_MAX_CONNECTIONS_PER_IP": "1000",
            "AGENT_MAX_CONNECTIONS": "2000",
        }
        # A sanitizer build of the agent (scripts/test.sh) must run with these.
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        # OA_BACKEND=occtl|ctl: run the suite on one backend (default: the agent's auto, which
        # is the control socket here, as root). Tests that pin a backend override it in env.
        if os.environ.get("OA_BACKEND"):
            self.env["OCSERV_BACKEND"] = os.environ["OA_BACKEND"]
        if lab is not None:
            self.env["OCCTL_SOCKET"] = lab.socket
            self.env["OCSERV_CONF_PATH"] = lab.conf
            # The lab's plain-auth password file (the /ocserv/accounts endpoints edit it).
            self.env["OCPASSWD_PATH"] = lab.passwd
            # lab_chroot.ChrootLab: its own occtl and ocserv (wrappers that run the chroot's)
            self.env.update(getattr(lab, "agent_env", dict)())
        if previous is not None:
            self.env["AGENT_AUTH_TOKEN_PREVIOUS"] = previous
        for k, v in (env or {}).items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        if self.env.get("AGENT_AUTH_TOKEN_CURRENT"):
            self.token = self.env["AGENT_AUTH_TOKEN_CURRENT"].strip()
        self.proc = None
        self._log_fh = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=None, wait=True):
        # scripts/valgrind.sh: an agent under valgrind takes longer to listen
        timeout = timeout or float(os.environ.get("OA_AGENT_START_TIMEOUT", "10"))
        self._log_fh = open(self.log_file, "ab")
        self.proc = subprocess.Popen(self.wrapper + [self.binary] + self.args, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._log_fh,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10.0):
        def ready():
            if self.proc.poll() is not None:
                raise LabError(f"agent exited with {self.proc.returncode}:\n{self.log()[-2000:]}")
            try:  # listening and answering HTTP (whatever the status: tests check that)
                return self.get("/ocserv/health", timeout=5).status > 0
            except OSError:
                return False

        wait_until(ready, timeout, interval=0.05, what="agent /ocserv/health")

    def request(self, method, path, token=..., **kw):
        if token is ...:
            token = self.token
        return http_request(self.port, method, path, token=token, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code (SIGKILL and -9 on timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None
        return self.proc.returncode

    def restart(self, timeout=10.0, **env):
        self.stop()
        for k, v in env.items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        return self.start(timeout)

    def log(self):
        return read_log(self.log_file)

    def close(self):
        try:
            self.stop(timeout=5)
            report = sanitizer_report(self.log())
            if report:
                raise LabError(f"sanitizer report in the agent's log:\n{report}")
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def audit_line(agent, resp):
    """The agent's audit log line for one response (by its X-Request-Id), or None."""
    rid = resp.header("X-Request-Id")
    for line in agent.log().splitlines():
        if rid and rid in line and "audit" in line:
            return line
    return None


# The agent believes systemd runs when /run/systemd/system exists (sd_booted()). In a private
# mount namespace a tmpfs over /run/systemd gives it that directory; nothing else sees it.
SYSTEMD_WRAPPER_SH = ('mount -t tmpfs -o mode=0755 oa-systemd /run/systemd && '
                      'mkdir /run/systemd/system && exec "$@"')


def systemd_wrapper():
    """An Agent(wrapper=...) that runs the agent where systemd seems to run: `unshare --mount`
    (private propagation) + a tmpfs on /run/systemd holding an empty system/ directory, then
    exec of the agent (same pid). Give it SYSTEMCTL_PATH = FakeSystemctl(...).path."""
    if not os.path.isdir("/run/systemd"):
        raise LabError("systemd_wrapper: no /run/systemd directory to mount over")
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
            SYSTEMD_WRAPPER_SH, "oa-systemd"]


FAKE_SYSTEMCTL = """#!/usr/bin/python3
# ocserv-agent lab: a systemctl that asks the test process (FakeSystemctl in lab.py)
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout({timeout})
s.connect({sock!r})
s.sendall(json.dumps(sys.argv[1:]).encode() + b"\\n")
buf = b""
while not buf.endswith(b"\\n"):
    data = s.recv(65536)
    if not data:
        break
    buf += data
r = json.loads(buf) if buf.strip() else {{"rc": 1, "out": "", "err": "fake systemctl: no answer\\n"}}
sys.stdout.write(r["out"])
sys.stderr.write(r["err"])
sys.exit(r["rc"])
"""


class FakeSystemctl:
    """A systemctl for the agent (SYSTEMCTL_PATH = .path) that hands every call to this test
    process: a script sends its arguments over a unix socket and a thread here acts on the lab's
    real ocserv: restart = lab.restart(), start, stop, reload = `occtl reload`, show = the unit
    properties of that ocserv (MainPID = lab.pid). It answers the exit code and output once the
    action is done, as systemctl does after its job. calls: every argument list, in order.
    fail: {action: message} makes that action exit 1 with message on stderr (nothing done).
    Use as a context manager or close() it."""

    def __init__(self, lab, directory=None, timeout=60.0):
        self.lab = lab
        self.dir = tempfile.mkdtemp(prefix="fake-systemctl-", dir=directory or lab.dir)
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "systemctl")
        self.sock_path = os.path.join(self.dir, "systemctl.sock")
        self.calls = []
        self.fail = {}
        self._stop = threading.Event()
        self._srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._srv.bind(self.sock_path)
        self._srv.listen(8)
        self._srv.settimeout(0.2)
        with open(self.path, "w") as f:
            f.write(FAKE_SYSTEMCTL.format(sock=self.sock_path, timeout=timeout))
        os.chmod(self.path, 0o755)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-systemctl")
        self._thread.start()

    def actions(self):
        """The calls' first non-option words ("restart", "show", ...)."""
        return [next((a for a in c if not a.startswith("-")), "") for c in self.calls]

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(10)
                    buf = b""
                    while not buf.endswith(b"\n"):
                        data = conn.recv(65536)
                        if not data:
                            break
                        buf += data
                    argv = json.loads(buf)
                    self.calls.append(argv)
                    rc, out, err = self._act(argv)
                except Exception as exc:  # noqa: BLE001 - answer the script, never hang it
                    rc, out, err = 1, "", f"fake systemctl: {exc!r}\n"
                try:
                    conn.sendall(json.dumps({"rc": rc, "out": out, "err": err}).encode() + b"\n")
                except OSError:
                    pass

    def _act(self, argv):
        words = [a for a in argv if not a.startswith("-")]
        action = words[0] if words else ""
        if action in self.fail:
            return 1, "", self.fail[action] + "\n"
        if action == "show":
            running = self.lab.running()
            props = {"LoadState": "loaded", "ActiveState": "active" if running else "inactive",
                     "SubState": "running" if running else "dead", "UnitFileState": "enabled",
                     "MainPID": str(self.lab.pid if running else 0),
                     "ActiveEnterTimestampMonotonic": "0", "ActiveExitTimestampMonotonic": "0",
                     "InactiveEnterTimestampMonotonic": "0",
                     "InactiveExitTimestampMonotonic": "0"}
            return 0, "".join(f"{k}={v}\n" for k, v in props.items()), ""
        try:
            if action == "restart":
                self.lab.restart()
            elif action == "start":
                self.lab.start()
            elif action == "stop":
                self.lab.stop()
            elif action == "reload":
                r = self.lab.occtl("reload")
                if r.returncode != 0:
                    return 1, "", f"occtl reload failed: {r.stderr}\n"
            else:
                return 1, "", f"fake systemctl: unsupported {argv!r}\n"
        except LabError as exc:
            return 1, "", f"Job for ocserv.service failed: {exc}\n"
        return 0, "", ""

    def close(self):
        self._stop.set()
        self._srv.close()
        self._thread.join(5.0)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start_hooked_lab(binary=None, agent_env=None, lab_factory=None, **lab_kwargs):
    """A started Lab whose connect-script and disconnect-script run the agent's hook
    (`AGENT hook --socket SOCK`, through Lab.hook_script) and a started Agent listening on
    SOCK (AGENT_HOOK_SOCKET). Returns (lab, agent); close the agent, then the lab.
    lab_factory: what makes the Lab (default Lab; lab_chroot.make_lab for OA_OCSERV_VERSION)."""
    lab = (lab_factory or Lab)(**lab_kwargs)
    agent = None
    try:
        agent = Agent(lab=lab, env=agent_env, binary=binary)
        script = lab.hook_script(agent.env["AGENT_HOOK_SOCKET"], binary=agent.binary)
        lab.set_conf_option("connect-script", script)
        lab.set_conf_option("disconnect-script", script)
        lab.write_conf()
        lab.start()
        agent.start()
        return lab, agent
    except BaseException:
        if agent is not None:
            try:
                agent.close()
            except LabError:
                pass
        lab.close()
        raise


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_report(log):
    """The first ASan/LSan/UBSan report in an agent log, or None."""
    for mark in SANITIZER_MARKS:
        i = log.find(mark)
        if i >= 0:
            return log[max(0, i - 200):i + 3000]
    return None


def run_agent_cli(args=(), env=None, timeout=15.0, binary=None):
    """Run the agent binary to completion (for --help, --check-config, config errors)."""
    base_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    base_env.update(env or {})
    return subprocess.run([binary or agent_binary()] + list(args), env=base_env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# CLI: up / down / selftest (used by scripts/demo.sh)
# --------------------------------------------------------------------------------------------

def _write_env(path, values):
    with open(path, "w") as f:
        for k, v in values.items():
            f.write(f"{k}={v}\n")


def cmd_up(args):
    """Start netns + ocserv + demo clients (+ agent) and leave them running; write lab.env."""
    state = os.path.abspath(args.state)
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o755)
    NetNS.cleanup_stale()
    ns = NetNS(name=f"{NS_PREFIX}demo-{os.getpid()}")
    env = {"NS": ns.name, "STATE": state}
    _write_env(os.path.join(state, "lab.env"), env)  # first, so `down` can clean up whatever fails
    ns.create().enter()
    lab = Lab(users={"alice": ("alice-pw", None), "bob": ("bob-pw", "staff")}, base_dir=state,
              name="demo")
    env.update({"LAB_DIR": lab.dir, "OCCTL_SOCKET": lab.socket})
    _write_env(os.path.join(state, "lab.env"), env)
    lab.start()
    for user in ("alice", "bob"):
        c = lab.connect_one(user)
        print(f"  {user}: openconnect pid {c.pid}, occtl ID {c.session_id}", flush=True)
    if args.agent:
        agent = Agent(lab=lab, log_dir=state)
        agent.start()
        env.update({"AGENT_PORT": agent.port, "AGENT_TOKEN": agent.token, "AGENT_PID": agent.pid,
                    "AGENT_LOG": agent.log_file})
    _write_env(os.path.join(state, "lab.env"), env)
    # Leave everything running; `down` kills it all by namespace.
    return 0


def cmd_down(args):
    # Cleanup must finish even if the user presses Ctrl-C again.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    state = os.path.abspath(args.state)
    env = {}
    try:
        with open(os.path.join(state, "lab.env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    except OSError:
        pass
    ns = env.get("NS")
    if ns:
        NetNS.kill_all_in(ns)
        subprocess.run([IP, "netns", "del", ns], capture_output=True)
    shutil.rmtree(state, ignore_errors=True)
    return 0


def cmd_selftest(args):
    NetNS.cleanup_stale()
    ns = NetNS().create()
    ns.enter()
    lab = None
    try:
        lab = Lab()
        t0 = time.monotonic()
        lab.start()
        print(f"ocserv pid {lab.pid} ready in {time.monotonic() - t0:.2f}s; pin {lab.pin}")
        t0 = time.monotonic()
        a = lab.connect_one("alice")
        bs = lab.connect("bob", 2)
        print(f"clients connected in {time.monotonic() - t0:.2f}s: {a} {bs}")
        for u in lab.users_json():
            print(f"  ID {u['ID']} {u['Username']}/{u['Groupname']} {u['IPv4']} {u['Device']} "
                  f"{u['State']}")
        st = lab.status_json()
        print(f"status: pid {st['Server PID']} active {st['Active sessions']}")
        return 0
    finally:
        if lab:
            lab.close()
        ns.destroy()


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--state", required=True)
    up.add_argument("--agent", action="store_true")
    down = sub.add_parser("down")
    down.add_argument("--state", required=True)
    sub.add_parser("selftest")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("lab.py must run as root", file=sys.stderr)
        return 1
    return {"up": cmd_up, "down": cmd_down, "selftest": cmd_selftest}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
