"""A test harness for the root side of the privilege boundary: it runs `ocserv-agent
--priv-serve-fd N` (the root process alone, serving one end of a socketpair) and speaks the frames
of src/priv_wire.h on the other end, as the api process would, or as a compromised one could.

Pieces:
  OPS / op_number(name)   the operations of src/priv.h (enum order = wire number) and their
                          argument tables, read from src/priv_ops_*.c (so a new operation or
                          argument is covered without editing the tests)
  encode_frame / Frame    the wire format (little-endian header, JSON payload)
  PrivRoot                the root side under test: call(), send_raw(), close(), wait_exit()
  DiskSnapshot            every byte and name under the directories a root operation may write,
                          to prove that a refused call changed nothing
"""

import json
import os
import re
import socket
import struct
import subprocess
import time

from lab import REPO, LabError, agent_binary, read_log, wait_until

PRIV_MAGIC = 0x3150414F            # "OAP1"
REQUEST_ID_LEN = 32
HEADER = struct.Struct("<IHHIiI%ds" % REQUEST_ID_LEN)   # magic kind op seq status len rid
PRIV_HDR_LEN = HEADER.size
PRIV_MAX_CALL = 32 << 20

KIND_CALL, KIND_REPLY, KIND_EVENT, KIND_TLS = 1, 2, 3, 4
ERR_BAD_REQUEST = -1

SRC = os.path.join(REPO, "src")


# --------------------------------------------------------------------------------------------
# The operations and their argument tables, from the sources
# --------------------------------------------------------------------------------------------

def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def op_enum():
    """{PRIV_X: number} in the order of enum priv_op (PRIV_OP_NONE = 0 ... PRIV_OP_MAX)."""
    with open(os.path.join(SRC, "priv.h")) as f:
        text = _strip_comments(f.read())
    body = re.search(r"enum\s+priv_op\s*\{(.*?)\};", text, re.S).group(1)
    names = re.findall(r"\b(PRIV_[A-Z0-9_]+)\b", body)
    assert names[0] == "PRIV_OP_NONE" and names[-1] == "PRIV_OP_MAX", names
    return {n: i for i, n in enumerate(names)}


class Arg:
    def __init__(self, name, kind, required, lo, hi):
        self.name = name
        self.kind = kind          # "STRING", "INT", "BOOL", "OBJECT", "ARRAY", "NULLABLE_STRING"
        self.required = required
        self.min = lo
        self.max = hi

    @property
    def is_string(self):
        return self.kind in ("STRING", "NULLABLE_STRING")

    def __repr__(self):
        return f"<Arg {self.name} {self.kind}{' req' if self.required else ''} max={self.max}>"


class Op:
    def __init__(self, enum_name, number, name, args):
        self.enum_name = enum_name
        self.number = number
        self.name = name          # "accounts.put"
        self.args = args          # [Arg]

    def arg(self, name):
        return next(a for a in self.args if a.name == name)

    def __repr__(self):
        return f"<Op {self.name} #{self.number} {self.args}>"


def _c_int(tok, consts):
    tok = tok.strip()
    if tok in consts:
        return consts[tok]
    tok = re.sub(r"(?<=\d)[uUlL]+\b", "", tok)
    for k, v in consts.items():
        tok = re.sub(r"\b%s\b" % re.escape(k), str(v), tok)
    if not re.fullmatch(r"[0-9xXa-fA-F+\-*()<> ]+", tok):
        return None
    try:
        return int(eval(tok, {"__builtins__": {}}))   # noqa: S307 - digits and operators only
    except Exception:  # noqa: BLE001
        return None


def _split_top(s, sep=","):
    """s split at sep outside (), {}, quotes."""
    out, depth, cur, q = [], 0, "", None
    for ch in s:
        if q:
            cur += ch
            if ch == q and not cur.endswith("\\" + q):
                q = None
            continue
        if ch in "\"'":
            q = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur)
    return [x.strip() for x in out]


def _entries(block):
    """The {...} initialisers at the top level of an array's body."""
    out, depth, start = [], 0, None
    for i, ch in enumerate(block):
        if ch == "{":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(block[start:i])
    return out


ARG_FIELDS = ("name", "kind", "required", "min", "max", "check")
DEF_FIELDS = ("op", "name", "args", "run")


def _fields(entry, order):
    """A C initialiser as {field: text}: designated (.x = v) or positional."""
    parts = _split_top(entry)
    out = {}
    for i, p in enumerate(parts):
        m = re.match(r"\.(\w+)\s*=\s*(.*)$", p, re.S)
        if m:
            out[m.group(1)] = m.group(2).strip()
        elif i < len(order):
            out[order[i]] = p
    return out


def _consts(text):
    consts = {"USERNAME_MAX": 63, "INT64_MAX": 2**63 - 1, "INT32_MAX": 2**31 - 1,
              "INT_MAX": 2**31 - 1, "UINT32_MAX": 2**32 - 1, "SESSION_ID_MAX": 2**31 - 1}
    for m in re.finditer(r"#define\s+(\w+)\s+\(?([0-9][0-9xa-fA-FuUlL+\-*<> ]*)\)?\s*$", text,
                         re.M):
        v = _c_int(m.group(2), consts)
        if v is not None:
            consts[m.group(1)] = v
    return consts


def _expand_macros(text):
    """text with the object-like and one-level function-like #defines of text expanded (the
    tables are written with USERNAME(true), ID, ...)."""
    text = text.replace("\\\n", " ")
    defs = {}
    for m in re.finditer(r"^[ \t]*#define[ \t]+(\w+)(\(([\w, ]*)\))?[ \t]*(.*)$", text, re.M):
        params = [x.strip() for x in m.group(3).split(",")] if m.group(2) else None
        defs[m.group(1)] = (params, m.group(4).strip())
    text = re.sub(r"^[ \t]*#.*$", "", text, flags=re.M)
    for _ in range(3):
        for name, (params, body) in defs.items():
            if not body.startswith("{"):
                continue
            if params is None:
                text = re.sub(r"\b%s\b(?!\s*\()" % name, lambda _m, b=body: b, text)
            else:
                def sub(m, params=params, body=body):
                    out = body
                    for pname, val in zip(params, _split_top(m.group(1))):
                        out = re.sub(r"\b%s\b" % re.escape(pname), val, out)
                    return out
                text = re.sub(r"\b%s\s*\(([^()]*)\)" % name, sub, text)
    return text


def load_ops():
    """Every operation of src/priv_ops_*.c's tables, by name, with its arguments."""
    enum = op_enum()
    headers = ""
    for h in os.listdir(SRC):
        if h.endswith(".h"):
            with open(os.path.join(SRC, h)) as f:
                headers += f.read() + "\n"
    ops = {}
    for fn in sorted(os.listdir(SRC)):
        if not re.fullmatch(r"priv_ops_\w+\.c", fn):
            continue
        with open(os.path.join(SRC, fn)) as f:
            raw = _strip_comments(f.read())
        consts = _consts(headers + raw)
        text = _expand_macros(raw)
        arrays = {}
        for m in re.finditer(r"struct\s+priv_arg\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\};", text, re.S):
            args = []
            for e in _entries(m.group(2)):
                f_ = _fields(e, ARG_FIELDS)
                name = f_.get("name", "NULL").strip()
                if name in ("NULL", "0") or not name.startswith('"'):
                    continue
                kind = f_.get("kind", "").replace("PRIV_ARG_", "")
                args.append(Arg(json.loads(name), kind,
                                f_.get("required", "false").strip("() ") == "true",
                                _c_int(f_.get("min", "0"), consts),
                                _c_int(f_.get("max", "0"), consts)))
            arrays[m.group(1)] = args
        for m in re.finditer(r"struct\s+priv_op_def\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\};", text,
                             re.S):
            for e in _entries(m.group(1)):
                f_ = _fields(e, DEF_FIELDS)
                op = f_.get("op", "").strip()
                if op in ("", "PRIV_OP_NONE") or "name" not in f_:
                    continue
                argsname = f_.get("args", "NULL").strip()
                args = arrays.get(argsname, [])
                if argsname not in arrays and argsname not in ("NULL", "0"):
                    raise LabError(f"{fn}: {op}: argument table {argsname} not parsed")
                ops[json.loads(f_["name"])] = Op(op, enum[op], json.loads(f_["name"]), args)
    return ops


def op_number(name):
    return load_ops()[name].number


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------

class Frame:
    def __init__(self, kind, op, seq, status, request_id, payload, raw):
        self.kind = kind
        self.op = op
        self.seq = seq
        self.status = status
        self.request_id = request_id
        self.payload = payload
        self.raw = raw

    @property
    def message(self):
        return (self.payload or {}).get("message", "")

    @property
    def result(self):
        return (self.payload or {}).get("result")

    def __repr__(self):
        return (f"<Frame kind={self.kind} op={self.op} seq={self.seq} status={self.status} "
                f"{json.dumps(self.payload)[:400]}>")


def encode_frame(kind, op, seq, payload, request_id="test", status=0, magic=PRIV_MAGIC,
                 length=None):
    """One frame; payload is an object (serialised) or bytes (sent as they are). length, magic:
    lie on purpose."""
    body = payload if isinstance(payload, (bytes, bytearray)) else json.dumps(payload).encode()
    rid = request_id if isinstance(request_id, bytes) else request_id.encode()
    hdr = HEADER.pack(magic, kind, op, seq, status, len(body) if length is None else length,
                      rid.ljust(REQUEST_ID_LEN, b"\0")[:REQUEST_ID_LEN])
    return hdr + bytes(body)


# --------------------------------------------------------------------------------------------
# The root side under test
# --------------------------------------------------------------------------------------------

class PrivRoot:
    """`ocserv-agent --priv-serve-fd N` with env (an Agent's, so that it works on a Lab)."""

    def __init__(self, env, binary=None, log_file=None):
        self.binary = binary or agent_binary()
        self.log_file = log_file or os.path.join(
            os.path.dirname(env.get("AGENT_HOOK_SOCKET", "/tmp/x")), "priv-root.log")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        self.seq = 0
        self.events = []
        self._buf = b""
        with open(self.log_file, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "--priv-serve-fd", str(theirs.fileno())], env=env,
                    pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
            finally:
                theirs.close()

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        return read_log(self.log_file)

    # ---- sending ----
    def send_raw(self, data):
        self.sock.sendall(data)

    def call(self, op, args, request_id=None, timeout=60.0):
        """One CALL of op (a name or a number) and its REPLY (a Frame). LabError when the root
        side closes the socket instead (e.g. after a shape error)."""
        number = op if isinstance(op, int) else op_number_cached(op)
        self.seq += 1
        seq = self.seq
        self.send_raw(encode_frame(KIND_CALL, number, seq, args,
                                   request_id=request_id or f"t-{seq}"))
        return self.reply(seq, timeout)

    # ---- receiving ----
    def _recv_exact(self, n, deadline):
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"root side: timed out reading a frame; log:\n{self.log()[-2000:]}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError as exc:
                raise LabError(f"root side: read failed: {exc}") from exc
            if not data:
                raise LabError(f"root side closed the socket; log:\n{self.log()[-2000:]}")
            self._buf += data
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def read_frame(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        hdr = self._recv_exact(PRIV_HDR_LEN, deadline)
        magic, kind, op, seq, status, length, rid = HEADER.unpack(hdr)
        assert magic == PRIV_MAGIC, hex(magic)
        body = self._recv_exact(length, deadline)
        payload = json.loads(body) if body else None
        return Frame(kind, op, seq, status, rid.rstrip(b"\0").decode(), payload, hdr + body)

    def reply(self, seq, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.1, deadline - time.monotonic()))
            if f.kind == KIND_REPLY and f.seq == seq:
                return f
            if f.kind == KIND_REPLY:
                raise LabError(f"a REPLY for seq {f.seq} while waiting for {seq}: {f!r}")
            self.events.append(f)

    def closed_by_peer(self, timeout=10.0):
        """True once the root side has closed its end (reads give EOF)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not data:
                return True
        return False

    # ---- ending ----
    def wait_exit(self, timeout=10.0):
        """The exit code once the process is gone; LabError if it is still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"root side still running after {timeout}s") from exc

    def close(self, timeout=10.0):
        """Close our end (the api side went away) and return the exit code."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_OPS_CACHE = {}


def op_number_cached(name):
    if not _OPS_CACHE:
        _OPS_CACHE.update(load_ops())
    return _OPS_CACHE[name].number


# --------------------------------------------------------------------------------------------
# Nothing changed on disk
# --------------------------------------------------------------------------------------------

class DiskSnapshot:
    """Names, bytes, modes and owners of every entry under some directories (recursively), minus
    the paths that change by themselves (logs, sockets, pid files)."""

    def __init__(self, dirs, ignore=()):
        self.dirs = [os.path.realpath(d) for d in dirs]
        self.ignore = [os.path.realpath(p) for p in ignore]
        self.state = self.take()

    def _ignored(self, path):
        return any(path == p or path.startswith(p + os.sep) for p in self.ignore)

    def take(self):
        state = {}
        for d in self.dirs:
            for root, dirnames, files in os.walk(d):
                dirnames[:] = [x for x in dirnames if not self._ignored(os.path.join(root, x))]
                for name in dirnames + files:
                    p = os.path.join(root, name)
                    if self._ignored(p):
                        continue
                    st = os.lstat(p)
                    data = None
                    if os.path.isfile(p) and not os.path.islink(p):
                        with open(p, "rb") as f:
                            data = f.read()
                    state[p] = (st.st_mode, st.st_uid, st.st_gid, data)
        return state

    def changes(self):
        """[(path, what)] of what differs now."""
        now = self.take()
        out = []
        for p in sorted(set(now) | set(self.state)):
            if p not in self.state:
                out.append((p, "new"))
            elif p not in now:
                out.append((p, "gone"))
            elif now[p] != self.state[p]:
                out.append((p, "changed"))
        return out

    def assert_unchanged(self, what=""):
        ch = self.changes()
        assert not ch, f"{what}: changed on disk: {ch}"


def lab_snapshot(lab, agent_env=None, extra=()):
    """The directories a root operation may write for this lab: the lab's own directory (ocpasswd,
    ocserv.conf, config-per-user/-group) and the agent's state dir (backups), plus extra ones;
    without ocserv's run/ dir, the clients' files and logs."""
    dirs = [lab.dir] + list(extra)
    ignore = [os.path.join(lab.dir, "run"), os.path.join(lab.dir, "clients"), lab.log_file,
              os.path.join(lab.dir, "agent-hook.log")]
    for name in os.listdir(lab.dir):
        if name.startswith("agent-"):    # Agent work dirs: logs, hook socket; not the state dir
            work = os.path.join(lab.dir, name)
            ignore += [os.path.join(work, x) for x in os.listdir(work) if x != "state"]
    if agent_env and agent_env.get("AGENT_STATE_DIR"):
        dirs.append(agent_env["AGENT_STATE_DIR"])
    if agent_env and agent_env.get("OCSERV_CONF_BACKUP_DIR"):
        dirs.append(agent_env["OCSERV_CONF_BACKUP_DIR"])
    return DiskSnapshot([d for d in dirs if os.path.isdir(d)], ignore)


def wait_gone(pid, timeout):
    from lab import pid_alive
    wait_until(lambda: not pid_alive(pid), timeout, what=f"pid {pid} to exit")


AGENT_USER = "ocservagent"


def ensure_agent_user(name=AGENT_USER):
    """The api process's default user (scripts/install-deps.sh makes it on a real install)."""
    import pwd
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", name], check=True, capture_output=True, timeout=30)
    return pwd.getpwnam(name)
