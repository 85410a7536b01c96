"""The root side of the privilege boundary, spoken to directly over its socketpair as a
compromised api process could (priv_harness.PrivRoot runs `ocserv-agent --priv-serve-fd N` on a
real ocserv lab):

- every operation of src/priv.h answers a well-formed call with a REPLY;
- every string argument of every operation refuses path traversal, option injection, line
  breaks, NUL bytes and over-long values with a REPLY of status ERR_BAD_REQUEST (-1) naming the
  argument, the session goes on, and nothing changes on disk;
- a frame that breaks the wire format or an argument list of the wrong shape ends the session:
  the root side exits non-zero, and ocserv is untouched (same pid, still answering).

The operations and their arguments are read from src/priv_ops_*.c, so that one added later is
covered (test_every_op_has_a_valid_call fails until VALID has a row for it)."""

import json
import os
import socket

import pytest

from lab import REPO, Agent
from priv_harness import (ERR_BAD_REQUEST, KIND_CALL, KIND_EVENT, KIND_REPLY, PRIV_HDR_LEN,
                          PRIV_MAGIC, PRIV_MAX_CALL, PrivRoot, encode_frame, lab_snapshot,
                          load_ops, op_enum)

OPS = load_ops()
GHOST = "ghost"
GHOST_HASH = "$6$abcdefgh$" + "B" * 86

BAD = {
    "traversal": "../../etc/shadow",
    "absolute": "/etc/shadow",
    "option-x": "-x",
    "option-help": "--help",
    "option-s": "-s /tmp/evil",
    "newline": "ghost\nroot",
    "cr": "ghost\rroot",
}
# A NUL in a string ("\u0000") never reaches the value checks: the frame decoder refuses it
# (jansson without JSON_ALLOW_NUL) and the session ends: test_nul_in_a_string_ends_the_session.
# "long" is added per argument: its declared max + 1 bytes (or 70000 when it has none).

# Arguments whose values are data rather than names, with the BAD values that are therefore
# well-formed for them (not sent: a password may be "-x"; an ETag is compared, never parsed; a
# session lookup's user name is only compared with ocserv's list, where "/" may occur; a cookie
# id is base64, whose alphabet has "/").
DATA_ARGS = {
    ("accounts.put", "password"): {"traversal", "absolute", "option-x", "option-help",
                                   "option-s", "cr"},
    ("accounts.patch", "password"): {"traversal", "absolute", "option-x", "option-help",
                                     "option-s", "cr"},
    ("config.change", "ifMatch"): {"traversal", "absolute", "option-x", "option-help",
                                   "option-s"},
    ("ocserv.user", "username"): {"traversal", "absolute"},
    ("ocserv.disconnect_user", "username"): {"traversal", "absolute"},
    ("ocserv.terminate_user", "username"): {"traversal", "absolute"},
    ("ocserv.cookie", "sid"): {"absolute"},
    ("ocserv.terminate_cookie", "sid"): {"absolute"},
}
# Arguments checked by the operation itself (not by the table's check): the refusal names the
# argument or the line/key at fault.
OWN_CHECK = {("accounts.import", "content"), ("config.change", "vhost")}


def valid_args(lab, etag):
    """A well-formed call of every operation, on the lab (an ordinary error is fine)."""
    return {
        "ocserv.status": {"timeoutMs": 3000},
        "ocserv.list": {},
        "ocserv.user": {"username": "alice"},
        "ocserv.id": {"id": 999999, "timeoutMs": 3000},
        "ocserv.disconnect_id": {"id": 999999},
        "ocserv.disconnect_user": {"username": "nobody-here"},
        "ocserv.version": {},
        "ocserv.cookies": {"validOnly": False},
        "ocserv.cookie": {"sid": "AAAAAA"},
        "ocserv.iroutes": {},
        "ocserv.bans": {},
        "ocserv.ban_points": {},
        "ocserv.unban": {"ip": "192.0.2.7"},
        "ocserv.reload": {},
        "ocserv.terminate_id": {"id": 999999},
        "ocserv.terminate_user": {"username": "nobody-here"},
        "ocserv.terminate_cookie": {"sid": "AAAAAA"},
        "ocserv.backend_in_use": {},
        "ocserv.hook_configured": {},
        "events.renew": {},
        "accounts.list": {},
        "accounts.get": {"username": GHOST},
        "accounts.put": {"username": GHOST, "password": "ghost-pw2", "groups": ["staff"]},
        "accounts.patch": {"username": GHOST, "password": "ghost-pw3"},
        "accounts.delete": {"username": "nobody-here"},
        "accounts.lock": {"username": GHOST, "lock": False},
        "accounts.export": {},
        "accounts.import": {"content": f"{GHOST}:*:{GHOST_HASH}\n", "replace": False,
                            "dryRun": True},
        "userconf.list": {"kind": "user"},
        "userconf.get": {"kind": "user", "name": GHOST},
        "userconf.change": {"kind": "user", "name": GHOST, "settings": {"mtu": 1400},
                            "replace": False},
        "userconf.delete": {"kind": "group", "name": "nobody-here"},
        "config.get": {"raw": False},
        "config.change": {"set": {"mtu": 1400}, "dryRun": True, "apply": "none"},
        "config.backups": {},
        "config.backup": {"id": "20200101T000000Z-001"},
        "config.check": {},
        "service.show": {},
        "service.action": {"action": "reload"},
        "service.systemd": {},
        "health": {"tier": 2},
        "radius": {},
    }


def writing_args(lab, etag):
    """For the value checks: calls that WOULD write if the bad value got through (no dry run),
    so that a missed check shows on disk."""
    v = valid_args(lab, etag)
    v["accounts.import"] = {"content": f"{GHOST}:*:{GHOST_HASH}\n", "replace": False,
                            "dryRun": False}
    v["config.change"] = {"set": {"mtu": 1400}, "apply": "none", "ifMatch": etag}
    v["accounts.delete"] = {"username": GHOST}
    v["userconf.delete"] = {"kind": "user", "name": GHOST}
    v["accounts.lock"] = {"username": GHOST, "lock": True}
    return v


@pytest.fixture(scope="module")
def env(lab, agent_bin):
    """The environment of an agent on the module's lab: systemctl is /bin/false (a service
    action is then an ordinary error, never the host's ocserv unit), backups in the lab."""
    lab.add_user(GHOST, "ghost-pw")
    lab.user_config(GHOST, "mtu = 1300\n")
    backups = os.path.join(lab.dir, "conf-backups-privroot")
    os.makedirs(backups, exist_ok=True)
    a = Agent(lab=lab, env={"OCSERV_CONF_BACKUP_DIR": backups, "SYSTEMCTL_PATH": "/bin/false"})
    yield a.env
    lab.user_config(GHOST, None)


@pytest.fixture
def root(env):
    r = PrivRoot(env)
    yield r
    r.close()


def etag_of(root):
    rep = root.call("config.get", {"raw": False})
    assert rep.status == 0, rep
    res = rep.result
    return res.get("etag") or res.get("config", {}).get("etag")


def ocserv_intact(lab, pid):
    assert lab.running() and lab.pid == pid, "ocserv was restarted or is gone"
    assert lab.occtl("show", "status").returncode == 0


# ---- the table of operations ---------------------------------------------------------------

def test_every_op_has_a_table_entry_and_a_valid_call(lab):
    enum = op_enum()
    numbers = sorted(o.number for o in OPS.values())
    assert numbers == list(range(1, enum["PRIV_OP_MAX"])), "an operation has no table entry"
    missing = set(OPS) - set(valid_args(lab, "x"))
    assert not missing, f"no valid call in this test for {sorted(missing)}"


def test_every_op_answers_a_valid_call(root, lab):
    etag = etag_of(root)
    for name, args in valid_args(lab, etag).items():
        rep = root.call(name, args)
        assert rep.kind == KIND_REPLY and rep.op == OPS[name].number, (name, rep)
        if rep.status == 0:
            assert "result" in rep.payload, (name, rep)
        else:
            # an ordinary error (no such session, systemd missing...), never a refusal
            assert rep.status != ERR_BAD_REQUEST, (name, rep)
            assert isinstance(rep.payload.get("message"), str), (name, rep)
    # the session is still up and the process still serving
    assert root.call("ocserv.list", {}).status == 0
    assert root.close() == 0


def test_request_id_echoed_and_events_are_events(root):
    rep = root.call("ocserv.version", {}, request_id="abc-123_X.y")
    assert rep.status == 0 and rep.request_id == "abc-123_X.y", rep
    # a refusal is logged by the root side with the request id it carried
    rep = root.call("ocserv.user", {"username": "-x"}, request_id="abc-124_X.y")
    assert rep.status == -1 and rep.request_id == "abc-124_X.y", rep
    assert "[abc-124_X.y] priv refused op=ocserv.user" in root.log(), root.log()[-1000:]
    for f in root.events:
        assert f.kind == KIND_EVENT, f


def test_closing_our_end_exits_zero(env, lab):
    r = PrivRoot(env)
    assert r.call("ocserv.list", {}).status == 0
    assert r.close() == 0


# ---- value checks: every string argument of every operation --------------------------------

def string_args():
    for op in sorted(OPS.values(), key=lambda o: o.number):
        for a in op.args:
            if a.is_string:
                yield op, a


STRING_ARGS = list(string_args())


def test_there_are_string_args_to_check():
    names = {(o.name, a.name) for o, a in STRING_ARGS}
    for must in [("accounts.put", "username"), ("userconf.change", "name"),
                 ("config.backup", "id"), ("service.action", "action"), ("ocserv.unban", "ip")]:
        assert must in names, must


@pytest.mark.parametrize("op,arg", STRING_ARGS, ids=[f"{o.name}.{a.name}" for o, a in STRING_ARGS])
def test_bad_values_refused_naming_the_member(root, lab, env, op, arg):
    etag = etag_of(root)
    base = writing_args(lab, etag)[op.name]
    snap = lab_snapshot(lab, env)
    pid = lab.pid
    values = dict(BAD)
    values["long"] = "g" * ((arg.max or 69999) + 1)
    skip = DATA_ARGS.get((op.name, arg.name), set())
    wrong = []
    for vname, v in values.items():
        if vname in skip:
            continue
        args = dict(base)
        args[arg.name] = v
        rep = root.call(op.name, args)
        text = json.dumps(rep.payload)
        if rep.status != ERR_BAD_REQUEST:
            wrong.append(f"{vname}: status {rep.status} {text[:300]}")
        elif (op.name, arg.name) not in OWN_CHECK and \
                not rep.message.startswith(arg.name + ":"):
            wrong.append(f"{vname}: message does not name {arg.name}: {rep.message!r}")
        ch = snap.changes()
        if ch:
            wrong.append(f"{vname}: changed on disk: {ch}")
            snap = lab_snapshot(lab, env)
        if os.path.exists("/tmp/evil"):
            wrong.append(f"{vname}: /tmp/evil exists")
    # a refusal is an ordinary answer: the session goes on
    assert root.call("ocserv.list", {}).status == 0
    ocserv_intact(lab, pid)
    assert not wrong, f"{op.name}.{arg.name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("op,arg", STRING_ARGS[::4], ids=[f"{o.name}.{a.name}"
                                                          for o, a in STRING_ARGS[::4]])
def test_nul_in_a_string_ends_the_session(env, lab, op, arg):
    """(A sample of the string arguments: each costs a root process.)"""
    pid = lab.pid
    snap = lab_snapshot(lab, env)
    r = PrivRoot(env)
    try:
        etag = etag_of(r)
        args = dict(writing_args(lab, etag)[op.name])
        args[arg.name] = "ghost\x00root"
        r.send_raw(encode_frame(KIND_CALL, op.number, 77, args))
        assert r.closed_by_peer(10.0)
        assert r.wait_exit(10.0) != 0
    finally:
        r.close()
    ocserv_intact(lab, pid)
    snap.assert_unchanged(f"{op.name}.{arg.name} with a NUL")


def test_int_out_of_range_refused(root, lab):
    pid = lab.pid
    for name, member, bad in [("ocserv.id", "id", 0), ("ocserv.id", "id", 2**31),
                              ("ocserv.disconnect_id", "id", -1),
                              ("ocserv.terminate_id", "id", 2**40), ("health", "tier", 9),
                              ("ocserv.status", "timeoutMs", 0)]:
        args = dict(valid_args(lab, "x")[name])
        args[member] = bad
        rep = root.call(name, args)
        assert rep.status == ERR_BAD_REQUEST and rep.message.startswith(member + ":"), \
            (name, member, bad, rep)
    ocserv_intact(lab, pid)


def test_array_and_object_contents_checked(root, lab, env):
    """The members the table leaves to the operation (groups, settings, set, unset)."""
    snap = lab_snapshot(lab, env)
    etag = etag_of(root)
    cases = [
        ("accounts.put", {"username": GHOST, "password": "pw", "groups": ["../../etc"]}),
        ("accounts.put", {"username": GHOST, "password": "pw", "groups": ["-x"]}),
        ("accounts.patch", {"username": GHOST, "groups": ["a\nb"]}),
        ("userconf.change", {"kind": "user", "name": GHOST, "settings": {"../x": "1"},
                             "replace": False}),
        ("userconf.change", {"kind": "user", "name": GHOST, "settings": {"route": ["-x"]},
                             "replace": False}),
        ("userconf.change", {"kind": "user", "name": GHOST,
                             "settings": {"hostname": "a\nroute = 0.0.0.0/0"},
                             "replace": False}),
        ("config.change", {"set": {"../../etc/shadow": "1"}, "apply": "none", "ifMatch": etag}),
        ("config.change", {"set": {"route": ["10.0.0.0/8\nauth = none"]}, "apply": "none",
                           "ifMatch": etag}),
        ("config.change", {"unset": ["a/b"], "apply": "none", "ifMatch": etag}),
        ("config.change", {"unset": ["-x"], "apply": "none", "ifMatch": etag}),
        ("config.change", {"unset": ["--help"], "apply": "none", "ifMatch": etag}),
        ("config.change", {"unset": [7], "apply": "none", "ifMatch": etag}),
        ("accounts.import", {"content": f"{GHOST}:*:{GHOST_HASH}\nroot::\n", "replace": False,
                             "dryRun": False}),
    ]
    wrong = []
    for name, args in cases:
        rep = root.call(name, args)
        if rep.status != ERR_BAD_REQUEST:
            wrong.append(f"{name} {json.dumps(args)[:200]}: {rep!r}")
    snap.assert_unchanged("refused contents")
    assert not wrong, "\n".join(wrong)


# ---- shape and wire errors: the session ends, ocserv does not ------------------------------

def _num(name):
    return OPS[name].number


def frames_breaking_the_rules():
    enum = op_enum()
    ok = json.dumps({}).encode()
    return {
        # argument shapes (priv_ops.h stage one)
        "unknown member": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {"x": 1}),
        "wrong type": encode_frame(KIND_CALL, _num("ocserv.user"), 1, {"username": 5}),
        "wrong type int as string": encode_frame(KIND_CALL, _num("ocserv.id"), 1, {"id": "5"}),
        "required missing": encode_frame(KIND_CALL, _num("ocserv.user"), 1, {}),
        "null for a string": encode_frame(KIND_CALL, _num("accounts.get"), 1,
                                          {"username": None}),
        "group not a string": encode_frame(KIND_CALL, _num("accounts.put"), 1,
                                           {"username": GHOST, "password": "pw",
                                            "groups": [5]}),
        # operations
        "op 0": encode_frame(KIND_CALL, 0, 1, {}),
        "op max": encode_frame(KIND_CALL, enum["PRIV_OP_MAX"], 1, {}),
        "op 999": encode_frame(KIND_CALL, 999, 1, {}),
        # header
        "bad magic": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {}, magic=0x41414141),
        "kind reply": encode_frame(KIND_REPLY, _num("ocserv.list"), 1, {}),
        "kind event": encode_frame(KIND_EVENT, 0, 1, {}),
        "kind 0": encode_frame(0, _num("ocserv.list"), 1, {}),
        "kind 77": encode_frame(77, _num("ocserv.list"), 1, {}),
        "status set in a call": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {}, status=-1),
        "oversize len": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b"",
                                     length=PRIV_MAX_CALL + 1),
        "len 0xffffffff": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b"",
                                       length=0xFFFFFFFF),
        "request id space": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {},
                                         request_id="a b"),
        "request id slash": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {},
                                         request_id="../x"),
        "request id newline": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {},
                                           request_id="a\nb"),
        "request id unterminated": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {},
                                                request_id=b"a" * 32),
        "request id junk after NUL": encode_frame(KIND_CALL, _num("ocserv.list"), 1, {},
                                                  request_id=b"ab\0cd"),
        # payload
        "payload array": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b"[]"),
        "payload string": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b'"x"'),
        "payload null": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b"null"),
        "payload empty": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b""),
        "payload not json": encode_frame(KIND_CALL, _num("ocserv.list"), 1, b"{x"),
        "duplicate keys": encode_frame(KIND_CALL, _num("accounts.get"), 1,
                                       b'{"username":"alice","username":"ghost"}'),
        "trailing bytes": encode_frame(KIND_CALL, _num("ocserv.list"), 1, ok + b" {}"),
        "NUL byte": encode_frame(KIND_CALL, _num("ocserv.list"), 1, ok + b"\0"),
        "invalid UTF-8": encode_frame(KIND_CALL, _num("accounts.get"), 1,
                                      b'{"username":"\xff\xfe"}'),
        "too deep": encode_frame(KIND_CALL, _num("config.change"), 1,
                                 b'{"set":{"x":' + b"[" * 200 + b"]" * 200 +
                                 b'},"apply":"none","dryRun":true}'),
    }


SHAPE = frames_breaking_the_rules()


@pytest.mark.parametrize("what", list(SHAPE), ids=list(SHAPE))
def test_broken_frame_ends_the_session_not_ocserv(env, lab, what):
    pid = lab.pid
    snap = lab_snapshot(lab, env)
    r = PrivRoot(env)
    try:
        assert r.call("ocserv.list", {}).status == 0     # a working session first
        r.send_raw(SHAPE[what])
        assert r.closed_by_peer(10.0), f"{what}: the root side kept reading"
        rc = r.wait_exit(10.0)
        assert rc != 0, f"{what}: exit code {rc}"
    finally:
        r.close()
    ocserv_intact(lab, pid)
    snap.assert_unchanged(what)


def test_truncated_frame_ends_the_session(env, lab):
    pid = lab.pid
    for cut in (10, PRIV_HDR_LEN, PRIV_HDR_LEN + 5):
        r = PrivRoot(env)
        try:
            frame = encode_frame(KIND_CALL, _num("accounts.get"), 1, {"username": "alice"})
            r.send_raw(frame[:cut])
            r.sock.shutdown(socket.SHUT_WR)
            rc = r.wait_exit(10.0)
            assert rc != 0, f"cut at {cut}: exit code {rc}"
        finally:
            r.close()
    ocserv_intact(lab, pid)


def test_value_error_keeps_the_session_shape_error_ends_it(env, lab):
    """The two stages of priv_ops.h side by side on one connection."""
    r = PrivRoot(env)
    try:
        rep = r.call("accounts.get", {"username": "../../etc/shadow"})
        assert rep.status == ERR_BAD_REQUEST and rep.message.startswith("username:"), rep
        assert r.call("accounts.get", {"username": "alice"}).status == 0
        r.send_raw(encode_frame(KIND_CALL, _num("accounts.get"), 9, {"username": ["alice"]}))
        assert r.closed_by_peer(10.0)
        assert r.wait_exit(10.0) != 0
    finally:
        r.close()
    # and the root side said why in its log, naming the operation
    assert "accounts.get" in r.log(), r.log()[-2000:]


def test_harness_agrees_with_priv_wire_h():
    """The harness's frame layout is the header's (magic, sizes, kinds)."""
    with open(os.path.join(REPO, "src", "priv_wire.h")) as f:
        text = f.read()
    assert "0x%08x" % PRIV_MAGIC in text.lower()
    assert "(4 + 2 + 2 + 4 + 4 + 4 + REQUEST_ID_LEN)" in text and PRIV_HDR_LEN == 20 + 32
    assert "(32u << 20)" in text and PRIV_MAX_CALL == 32 << 20
    for name, value in (("CALL", KIND_CALL), ("REPLY", KIND_REPLY), ("EVENT", KIND_EVENT)):
        assert f"PRIV_KIND_{name} = {value}," in text
