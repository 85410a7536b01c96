#!/usr/bin/python3
"""Capture the real bytes ocserv's control socket answers, for the unit tests and the fuzz corpus
of the native backend (src/ctl_backend.c), beside occtl's JSON for the same state.

Usage (root):  OA_OCSERV_VERSION=1.1.6|1.3.0|1.5.0 tests/integration/ctl_capture.py OUTDIR

A real ocserv (lab_chroot.make_lab: the host's 1.1.6 or a chroot's 1.3.0/1.5.0) with real
openconnect sessions: alice (no group, an iroute), bob (group staff, a route and a DNS) twice,
"jürgen" (a UTF-8 name) and a ban: a peer namespace (10.77.0.2) banned by wrong passwords, and
ban points on 127.0.0.1. For each request OUTDIR gets NAME.bin: the reply frame exactly as read
(1 command byte, 4-byte host-order length, payload), or NAME.closed when ocserv closed the
connection without a reply. occtl's `-j` output for the read commands goes to NAME.occtl, read
right after the socket request, with TZ=UTC as the unit tests use. OUTDIR/MANIFEST lists what was
captured with the ids used and the capture time.

The module is also a tiny client (ctl_call) for the integration tests.
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab_chroot  # noqa: E402
from lab import NetNS, PeerNS, free_port, wait_until  # noqa: E402

CMD = {"status": 1, "reload": 2, "list": 4, "user": 5, "id": 6, "disconnect_name": 7,
       "disconnect_id": 8, "list_banned": 9, "unban": 10, "top": 11, "list_cookies": 12,
       "terminate_user": 13, "terminate_id": 14, "terminate_session": 15}
HEADER = struct.Struct("=BI")   # command byte, length in host byte order: ocserv's framing


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(num, data):
    """A length-delimited protobuf field (string or bytes)."""
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_sint32(num, v):
    return varint(num << 3) + varint((v << 1) ^ (v >> 31))


def ctl_call(path, cmd, payload=b"", timeout=5.0):
    """One request; returns the reply frame (header + payload) or None when ocserv closed the
    connection without answering."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(HEADER.pack(cmd, len(payload)) + payload)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            data += chunk
            if cmd == CMD["top"] and len(data) >= HEADER.size:
                _, n = HEADER.unpack_from(data)
                if len(data) >= HEADER.size + n:   # the subscription stays open
                    data = data[:HEADER.size + n]
                    break
        return data or None
    finally:
        s.close()


def save(outdir, name, frame):
    if frame is None:
        open(os.path.join(outdir, name + ".closed"), "w").close()
    else:
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(frame)


def save_occtl(lab, outdir, name, *args):
    r = lab.occtl(*args, json_output=True)
    with open(os.path.join(outdir, name + ".occtl"), "w") as f:
        f.write(r.stdout)


def connect_utf8(lab, user):
    """lab.connect() waits for occtl to list `user`, which it never does: occtl -j prints each
    byte >= 0x80 of a name as \\u00ff (1.1.6), so the name is lost. Wait for any new ID."""
    before = set(lab.session_ids())
    c, proc = lab._spawn_client(user)
    if proc.wait(30) != 0:
        raise RuntimeError(f"openconnect for {user} failed:\n{c.log()[-1500:]}")
    c.pid = wait_until(c.read_pid, 10, what="pid file")
    lab.clients.append(c)
    c.session_id = wait_until(lambda: [i for i in lab.session_ids() if i not in before], 30,
                              what=f"a session of {user}")[0]
    return [c]


def build_state(lab, peer):
    lab.user_config("alice", "iroute = 192.168.200.0/255.255.255.0\n")
    lab.add_user("jürgen", "jürgen-pw")
    state = {"alice": lab.connect("alice", 1), "bob": lab.connect("bob", 2),
             "jürgen": connect_utf8(lab, "jürgen")}
    for _ in range(2):   # 2 x (10 + 1) points over max-ban-score 20: banned
        lab.authenticate("bob", "wrong-password", peer=peer)
    lab.authenticate("carol", "wrong-password")   # points, never a ban on 127/8
    return state


def capture(lab, state, outdir):
    os.environ["TZ"] = "UTC"
    sock = lab.socket
    ids = {u: lab.session_ids(u) for u in ("alice", "bob")}
    ids["jürgen"] = [state["jürgen"][0].session_id]
    cookies = lab.cookies_occtl("all")
    alice_sid = next(c["Session"] for c in cookies if c.get("Username") == "alice")
    reads = [
        ("status", CMD["status"], b"", ("show", "status")),
        ("list", CMD["list"], b"", ("show", "users")),
        ("user-bob", CMD["user"], field_bytes(1, b"bob"), ("show", "user", "bob")),
        ("user-jurgen", CMD["user"], field_bytes(1, "jürgen".encode()),
         ("show", "user", "jürgen")),
        ("user-nosuchuser", CMD["user"], field_bytes(1, b"nosuchuser"),
         ("show", "user", "nosuchuser")),
        ("id-alice", CMD["id"], field_sint32(1, ids["alice"][0]),
         ("show", "id", str(ids["alice"][0]))),
        ("id-999999", CMD["id"], field_sint32(1, 999999), ("show", "id", "999999")),
        ("list-banned", CMD["list_banned"], b"", ("show", "ip", "bans")),
        ("list-cookies", CMD["list_cookies"], b"", ("show", "sessions", "all")),
    ]
    manifest = [f"ocserv {lab_chroot.selected_version()}, captured at {int(time.time())}",
                f"ids {ids}", f"alice's session {alice_sid}"]
    for name, cmd, payload, args in reads:
        save(outdir, name, ctl_call(sock, cmd, payload))
        save_occtl(lab, outdir, name, *args)
        manifest.append(f"{name}: command {cmd}, occtl -j {' '.join(args)}")
    save_occtl(lab, outdir, "list-ban-points", "show", "ip", "ban", "points")
    save_occtl(lab, outdir, "list-cookies-valid", "show", "sessions", "valid")
    save_occtl(lab, outdir, "iroutes", "show", "iroutes")
    save_occtl(lab, outdir, "session-alice", "show", "session", alice_sid)
    save(outdir, "top", ctl_call(sock, CMD["top"]))
    writes = [
        ("disconnect-name-nosuchuser", CMD["disconnect_name"], field_bytes(1, b"nosuchuser")),
        ("disconnect-id-999999", CMD["disconnect_id"], field_sint32(1, 999999)),
        ("unban-not-banned", CMD["unban"], field_bytes(1, bytes([10, 9, 9, 9]))),
        ("unban-peer", CMD["unban"], field_bytes(1, bytes([10, 77, 0, 2]))),
        ("disconnect-id-bob", CMD["disconnect_id"], field_sint32(1, ids["bob"][-1])),
        ("disconnect-name-jurgen", CMD["disconnect_name"], field_bytes(1, "jürgen".encode())),
        ("terminate-user-nosuchuser", CMD["terminate_user"], field_bytes(1, b"nosuchuser")),
        ("unknown-command-99", 99, b""),
        ("reload", CMD["reload"], b""),
    ]
    for name, cmd, payload in writes:
        save(outdir, name, ctl_call(sock, cmd, payload))
        manifest.append(f"{name}: command {cmd}")
        time.sleep(0.3)
    with open(os.path.join(outdir, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def main():
    outdir = os.path.abspath(sys.argv[1])
    os.makedirs(outdir, exist_ok=True)
    NetNS.cleanup_stale()
    ns = NetNS().create()
    ns.enter()
    peer = lab = None
    try:
        peer = PeerNS(local_ip="10.77.0.1", peer_ip="10.77.0.2").create()
        lab = lab_chroot.make_lab(port=free_port(), listen_all=True, max_ban_score=20,
                                  min_reauth_time=300, route_add_cmd="/bin/true", name="ctlcap")
        lab.start()
        capture(lab, build_state(lab, peer), outdir)
    finally:
        if lab is not None:
            lab.close()
        if peer is not None:
            peer.destroy()
        ns.destroy()


if __name__ == "__main__":
    main()
