"""GET /ocserv/health: the handshake fields, ocserv readiness and the persisted instance id."""

import datetime
import os
import socket

from helpers import ISO_MS_RE, UUID4_RE, assert_ok
from lab import run_agent_cli


def parse_started(s):
    assert ISO_MS_RE.match(s), s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def test_health_shape(agent, agent_bin):
    body = assert_ok(agent.get("/ocserv/health"))
    a = body["agent"]
    assert a["name"] == "ocserv-agent"
    assert a["apiVersion"] == "v1"
    assert isinstance(a["version"], str) and a["version"]
    version_out = run_agent_cli(["--version"])
    assert a["version"] in version_out.stdout + version_out.stderr
    assert UUID4_RE.match(a["instanceId"]), a["instanceId"]
    assert a["hostname"] == socket.gethostname()
    started = parse_started(a["startedAt"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(0) <= now - started < datetime.timedelta(minutes=10), (now, started)
    assert a["persistedInstanceId"] is True
    assert body["ocserv"] == {"ok": True}
    caps = body["capabilities"]
    for k in ("listSessions", "disconnectSession", "disconnectAllForUser", "refreshSession"):
        assert isinstance(caps[k], bool), (k, caps)
    assert caps["listSessions"] and caps["disconnectSession"] and caps["disconnectAllForUser"]


def test_health_is_stable_between_requests(agent):
    a1 = agent.get("/ocserv/health").json()["agent"]
    a2 = agent.get("/ocserv/health").json()["agent"]
    assert a1 == a2


def test_instance_id_persists_across_restart(make_agent):
    a = make_agent()
    first = assert_ok(a.get("/ocserv/health"))["agent"]
    assert first["persistedInstanceId"] is True
    # The id is kept in the state directory.
    found = []
    for root, _dirs, files in os.walk(a.state_dir):
        for f in files:
            with open(os.path.join(root, f), errors="replace") as fh:
                if first["instanceId"] in fh.read():
                    found.append(f)
    assert found, f"instance id not stored under {a.state_dir}: {os.listdir(a.state_dir)}"
    assert a.stop() == 0
    a.start()
    second = assert_ok(a.get("/ocserv/health"))["agent"]
    assert second["instanceId"] == first["instanceId"]
    assert second["persistedInstanceId"] is True
    assert parse_started(second["startedAt"]) > parse_started(first["startedAt"])


def test_missing_state_dir_is_created(make_agent, tmp_path):
    tmp_path.chmod(0o755)
    state = tmp_path / "nested" / "state"
    a = make_agent(state_dir=str(state))
    first = assert_ok(a.get("/ocserv/health"))["agent"]
    assert first["persistedInstanceId"] is True
    assert state.is_dir()
    a.restart()
    assert assert_ok(a.get("/ocserv/health"))["agent"]["instanceId"] == first["instanceId"]


def test_state_dir_not_writable_gives_fresh_ids(make_agent):
    # root ignores permission bits, so use a path that cannot exist at all.
    a = make_agent(state_dir="/dev/null/ocserv-agent-state")
    first = assert_ok(a.get("/ocserv/health"))["agent"]
    assert first["persistedInstanceId"] is False
    assert UUID4_RE.match(first["instanceId"])
    a.restart()
    second = assert_ok(a.get("/ocserv/health"))["agent"]
    assert second["persistedInstanceId"] is False
    assert UUID4_RE.match(second["instanceId"])
    assert second["instanceId"] != first["instanceId"]


def test_different_state_dirs_give_different_ids(make_agent):
    a = make_agent()
    b = make_agent()
    ia = a.get("/ocserv/health").json()["agent"]["instanceId"]
    ib = b.get("/ocserv/health").json()["agent"]["instanceId"]
    assert ia != ib
