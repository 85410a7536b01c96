"""The lab itself: a real ocserv, real openconnect clients and occtl in our private namespace.

These run without the agent, so a broken lab is told apart from a broken agent.
"""

import os
import socket

from lab import NetNS, pid_alive, wait_until


def test_private_namespace(netns):
    # We are inside our own namespace: its name resolves to our own net namespace inode.
    assert os.stat(netns.path).st_ino == os.stat("/proc/self/ns/net").st_ino
    assert os.getpid() in NetNS.pids_of(netns.name)
    # Loopback is up and usable inside it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)


def test_ocserv_answers_occtl(lab):
    st = lab.status_json()
    assert st["Status"] == "online"
    assert st["Server PID"] == lab.pid
    assert os.stat(lab.dir).st_mode & 0o777 == 0o755


def test_clients_connect_and_show_in_occtl(lab):
    alice = lab.connect_one("alice")
    bobs = lab.connect("bob", 2)
    users = lab.users_json()
    by_id = {u["ID"]: u for u in users}
    assert by_id[alice.session_id]["Username"] == "alice"
    assert len(lab.session_ids("bob")) == 2
    assert all(u["State"] == "connected" for u in users)
    assert all(u["Groupname"] == "staff" for u in users if u["Username"] == "bob")
    assert all(c.alive() for c in [alice] + bobs)
    # occtl disconnect really ends the session and the client exits (no silent reconnect).
    r = lab.occtl("disconnect", "id", str(alice.session_id))
    assert r.returncode == 0, r
    lab.wait_sessions("alice", 0, timeout=5)
    lab.kill_clients("bob")
    lab.wait_sessions("bob", 0, timeout=10)
    wait_until(lambda: not pid_alive(alice.pid), 10, what="alice's openconnect to exit")


def test_added_user_can_log_in(lab):
    lab.add_user("zed", "zed-secret", group="staff")
    c = lab.connect_one("zed")
    assert lab.session_ids("zed") == [c.session_id]
    c.kill()
    lab.wait_sessions("zed", 0, timeout=10)
