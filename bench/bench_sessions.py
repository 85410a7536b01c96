#!/usr/bin/python3
"""Benchmark of GET /ocserv/sessions against the bare `occtl -j show users` call.

Starts the lab (a real ocserv in a private network namespace) with 1 and then 50 real
openconnect sessions, and in the same run measures:
  - the bare occtl call (posix_spawn + wait, the floor the agent cannot beat): p50/p99;
  - the agent at concurrency 1 over one keep-alive connection: p50/p99;
  - the agent at concurrency 32 (wrk): requests/s and latency;
  - the agent's RSS idle and under load.
Prints ratios agent/occtl. With --privsep-compare, also an agent in one process
(AGENT_PRIVSEP=off) beside the default two-process one, interleaved, and the cost of the
privilege boundary as a ratio. Nothing is asserted: figures are reported. Run as root:
    /usr/bin/python3 bench/bench_sessions.py [--requests 300] [--duration 10] [--privsep-compare]
"""

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from lab import OCCTL, Agent, Lab, NetNS  # noqa: E402


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def rss_kib(pid):
    """RSS of pid and of its children (the api process, in privilege-separated mode)."""
    total = 0
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(c) for c in f.read().split()]
    except OSError:
        kids = []
    for p in [pid] + kids:
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total


def privsep_compare(one, two, n):
    """GET /ocserv/sessions p50 of a one-process agent and a two-process agent,
    alternating requests so that both see the same machine state."""
    c1 = http.client.HTTPConnection("127.0.0.1", one.port, timeout=30)
    c2 = http.client.HTTPConnection("127.0.0.1", two.port, timeout=30)
    s1, s2 = [], []
    for _ in range(n):
        s1.append(agent_once(c1, one))
        s2.append(agent_once(c2, two))
    c1.close()
    c2.close()
    p1, p2 = pct(s1, 50), pct(s2, 50)
    print(f"one process  GET /sessions   p50 {p1:7.2f} ms  p99 {pct(s1, 99):7.2f} ms")
    print(f"two processes GET /sessions  p50 {p2:7.2f} ms  p99 {pct(s2, 99):7.2f} ms")
    print(f"ratio two/one (the boundary) p50 {p2 / p1:7.2f} x")


def bare_occtl_once(lab):
    """Time occtl the way the agent runs it: posix_spawn, stdout to a pipe, read, wait."""
    argv = [OCCTL, "-s", lab.socket, "-j", "show", "users"]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)])
    os.close(w)
    while os.read(r, 65536):
        pass
    os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - t0) * 1000
    os.close(r)
    return elapsed


def agent_once(conn, agent):
    t0 = time.perf_counter()
    conn.request("GET", "/ocserv/sessions", headers={"Authorization": f"Bearer {agent.token}"})
    resp = conn.getresponse()
    body = resp.read()
    elapsed = (time.perf_counter() - t0) * 1000
    if resp.status != 200:
        raise RuntimeError(f"agent answered {resp.status}: {body[:200]!r}")
    return elapsed


def interleaved(lab, agent, n):
    """Alternate bare occtl and agent calls so both see the same machine state
    (frequency, cache, other load): timing the two in separate phases drifts."""
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
    occ, seq = [], []
    for _ in range(n):
        occ.append(bare_occtl_once(lab))
        seq.append(agent_once(conn, agent))
    conn.close()
    return occ, seq


def agent_concurrent(agent, duration, conns=32):
    """wrk at 32 connections; returns (req/s, p50 ms, p99 ms, peak RSS KiB)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    cmd = [wrk, "-t", "2", "-c", str(conns), "-d", f"{duration}s", "--latency", "-H",
           f"Authorization: Bearer {agent.token}",
           f"http://127.0.0.1:{agent.port}/ocserv/sessions"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, rss_kib(agent.pid))
        time.sleep(0.2)
    out = proc.stdout.read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    return rps, lat(50), lat(99), peak, int(non2xx.group(1)) if non2xx else 0


def run_scenario(lab, agent, sessions, args):
    users = ["alice", "bob", "carol"]
    have = len(lab.users_json())
    while have < sessions:
        batch = min(10, sessions - have)
        lab.connect(users[have % len(users)], batch, timeout=60)
        have = len(lab.users_json())
    interleaved(lab, agent, 10)  # warm caches
    occ, seq = interleaved(lab, agent, args.requests)
    conc = agent_concurrent(agent, args.duration)
    o50, o99, a50, a99 = pct(occ, 50), pct(occ, 99), pct(seq, 50), pct(seq, 99)
    print(f"\n== {sessions} session(s) ==")
    print(f"bare occtl -j show users     p50 {o50:7.2f} ms  p99 {o99:7.2f} ms")
    print(f"agent c=1 GET /sessions      p50 {a50:7.2f} ms  p99 {a99:7.2f} ms")
    print(f"ratio agent/occtl            p50 {a50 / o50:7.2f} x   p99 {a99 / o99:7.2f} x"
          f"   (target p50 <= 1.30 x)")
    if conc:
        rps, c50, c99, peak, non2xx = conc
        floor = 1000.0 / statistics.median(occ)
        print(f"agent c=32 (wrk {args.duration}s)        {rps:9.1f} req/s  p50 {c50:.2f} ms"
              f"  p99 {c99:.2f} ms  non-2xx {non2xx}")
        print(f"serial occtl rate (1/p50)     {floor:9.1f} calls/s   ratio {rps / floor:.2f} x")
        print(f"agent RSS under load (peak)   {peak / 1024:7.2f} MiB")
    else:
        print("wrk not installed: concurrency 32 skipped (apt-get install wrk)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--sessions", default="1,50")
    ap.add_argument("--privsep-compare", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root")
    NetNS.cleanup_stale()
    ns = NetNS().create()
    ns.enter()
    lab = Lab(max_same_clients=64, max_clients=128)
    agent = one = None
    try:
        lab.start()
        agent = Agent(lab=lab)
        agent.start()
        if args.privsep_compare:
            one = Agent(lab=lab, env={"AGENT_PRIVSEP": "off"})
            one.start()
        time.sleep(1.0)
        print(f"agent idle RSS                 {rss_kib(agent.pid) / 1024:7.2f} MiB"
              "   (target <= 8 MiB)")
        for n in (int(x) for x in args.sessions.split(",")):
            run_scenario(lab, agent, n, args)
            if one:
                privsep_compare(one, agent, args.requests)
        print(f"\nagent RSS after load           {rss_kib(agent.pid) / 1024:7.2f} MiB")
    finally:
        for a in (agent, one):
            if a:
                a.close()
        lab.close()
        ns.destroy()


if __name__ == "__main__":
    main()
