#!/usr/bin/python3
"""Capture real events-subscription frames (CTL_CMD_TOP) from the host's ocserv.

Run as root from the repository root:  /usr/bin/python3 tests/data/ctl_events/capture.py
It starts a lab ocserv in a private network namespace, subscribes on the control socket like
ocserv-agent does (command 11, empty body), connects and disconnects real openconnect clients and
writes every payload it receives into this directory as NN-KIND[-USER].bin (KIND: user-list,
connect, disconnect), plus frames.txt (one line per frame: file, command code, length).
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

from lab import Lab, NetNS, wait_until  # noqa: E402

USERS = {"alice": ("alice-pw", None), "bob": ("bob-pw", "staff"),
         "j\u00fcrgen": ("juergen-pw", None)}


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Subscriber(threading.Thread):
    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.sendall(struct.pack("=BI", 11, 0))
        self.frames = []

    def run(self):
        while True:
            hdr = recv_exact(self.sock, 5)
            if hdr is None:
                return
            cmd, length = struct.unpack("=BI", hdr)
            payload = recv_exact(self.sock, length) if length else b""
            if payload is None:
                return
            self.frames.append((cmd, payload))


def kind(cmd, payload):
    if cmd == 104:
        return "user-list"
    # CtlTopUpdate field 1 (connected) is the first varint: 08 01 or 08 00.
    return "connect" if payload[:2] == b"\x08\x01" else "disconnect"


def main():
    NetNS.cleanup_stale()
    ns = NetNS().create()
    ns.enter()
    lab = Lab(users=USERS, name="capture")
    try:
        lab.start()
        sub = Subscriber(lab.socket)
        sub.start()
        steps = []
        a = lab.connect_one("alice")
        b = lab.connect_one("bob")
        steps.append("alice connects; bob (group staff) connects")
        a.kill()                      # the client logs out: user disconnect
        lab.clients.remove(a)
        time.sleep(1)
        lab.occtl("disconnect", "user", "bob")   # server disconnect
        time.sleep(1)
        steps.append("alice's client quits; occtl disconnects bob")
        # occtl's JSON mangles UTF-8 names, so lab.connect() cannot see this session: wait for
        # its connect frame instead.
        n = len(sub.frames)
        c, proc = lab._spawn_client("j\u00fcrgen")
        proc.wait(30)
        c.pid = wait_until(c.read_pid, 10, what="pid file")
        wait_until(lambda: len(sub.frames) > n, 10, what="connect frame")
        # A second subscriber gets the initial list (here: one user) and then nothing.
        snap = Subscriber(lab.socket)
        hdr = recv_exact(snap.sock, 5)
        cmd, length = struct.unpack("=BI", hdr)
        user_list = (cmd, recv_exact(snap.sock, length))
        snap.sock.close()
        steps.append("a second subscriber reads the user list (one user)")
        c.kill()
        time.sleep(1)
        steps.append("a UTF-8 user name connects and quits")
        lab.stop()
        sub.join(5)
    finally:
        lab.stop()
        ns.leave()
        ns.destroy()
    with open(os.path.join(HERE, "frames.txt"), "w") as idx:
        idx.write("# ocserv 1.1.6; " + "; ".join(steps) + "\n")
        for i, (cmd, payload) in enumerate(sub.frames):
            name = f"{i:02d}-{kind(cmd, payload)}.bin"
            with open(os.path.join(HERE, name), "wb") as f:
                f.write(payload)
            idx.write(f"{name} cmd={cmd} len={len(payload)}\n")
        with open(os.path.join(HERE, "user-list-one.bin"), "wb") as f:
            f.write(user_list[1])
        idx.write(f"user-list-one.bin cmd={user_list[0]} len={len(user_list[1])}\n")
    print(open(os.path.join(HERE, "frames.txt")).read())


if __name__ == "__main__":
    main()
