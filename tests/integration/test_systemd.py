"""The systemd contract of dist/ocserv-agent.service (Type=notify): READY=1 once the agent
answers HTTP, STOPPING=1 on SIGTERM, exit code 0. Checked with a real notify socket."""

import os
import socket

from helpers import assert_ok
from lab import Agent


def recv_all(sock, timeout):
    sock.settimeout(timeout)
    got = []
    try:
        while True:
            got.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    return got


def test_sd_notify_ready_and_stopping(lab, agent_bin, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        a = Agent(lab=lab, env={"NOTIFY_SOCKET": path})
        try:
            a.start(wait=False)
            sock.settimeout(10)
            first = sock.recv(4096).decode()
            assert "READY=1" in first, first
            # READY means serving: the very next request must be answered.
            assert_ok(a.get("/ocserv/health"))
            assert a.stop() == 0
            rest = recv_all(sock, 1.0)
            assert any("STOPPING=1" in m for m in rest), rest
        finally:
            a.close()
    finally:
        sock.close()
        os.unlink(path)


def test_stale_journal_stream_does_not_swallow_logs(lab, agent_bin):
    """$JOURNAL_STREAM inherited by a process whose stderr is a file: log to the file."""
    a = Agent(lab=lab, env={"JOURNAL_STREAM": "8:12345"})
    try:
        a.start()
        r = a.get("/ocserv/health")
        assert_ok(r)
        a.stop()
        assert r.header("X-Request-Id") in a.log()
    finally:
        a.close()
