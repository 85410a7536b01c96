"""Fixtures for the integration suite: one private network namespace for the whole pytest
process, a real ocserv per test module, real openconnect clients and the agent under test.

Run as root:  /usr/bin/python3 -m pytest -q tests/integration
The agent binary is build/ocserv-agent (override with OA_AGENT_BIN).
OA_OCSERV_VERSION=1.3.0|1.5.0 runs the `lab` fixture on that ocserv from a Debian chroot
(lab_chroot.py); the default, 1.1.6, is the host's own.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab as labmod  # noqa: E402
from lab import Agent, Lab, NetNS  # noqa: E402
import lab_chroot  # noqa: E402


def pytest_report_header(config):
    return f"ocserv under test: {lab_chroot.describe()}"


@pytest.fixture(scope="session", autouse=True)
def netns():
    """Move this process (and so everything it starts) into a fresh network namespace."""
    if os.geteuid() != 0:
        pytest.exit("the integration suite needs root (network namespaces, ocserv, tun)", 2)
    NetNS.cleanup_stale()
    ns = NetNS().create()
    ns.enter()
    yield ns
    ns.destroy()


@pytest.fixture(scope="session")
def agent_bin():
    path = labmod.agent_binary()
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary {path} is missing: build it first (ninja -C build) or set OA_AGENT_BIN")
    return path


@pytest.fixture(scope="module")
def lab(netns):
    """A running ocserv for this module (no clients yet); torn down with everything it started."""
    the_lab = lab_chroot.make_lab()   # Lab(), or ChrootLab for OA_OCSERV_VERSION
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


@pytest.fixture(scope="module")
def agent(lab, agent_bin):
    """The agent for this module, talking to the module's ocserv."""
    a = Agent(lab=lab)
    try:
        a.start()
        yield a
    finally:
        a.close()


@pytest.fixture
def make_agent(lab, agent_bin):
    """Factory: make_agent(env={...}, start=True, **Agent kwargs) -> Agent, stopped at test end."""
    made = []

    def factory(start=True, **kw):
        kw.setdefault("lab", lab)
        a = Agent(**kw)
        made.append(a)
        if start:
            a.start()
        return a

    yield factory
    for a in made:
        a.close()
