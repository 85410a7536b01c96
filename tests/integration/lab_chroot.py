#!/usr/bin/python3
"""The integration lab on other ocserv versions: Debian 13's 1.3.0 and sid's 1.5.0, each from a
Debian chroot built by scripts/ocserv-root.sh (bookworm's 1.1.6 is the host's own, lab.Lab).

Selection: OA_OCSERV_VERSION=1.1.6 (default: lab.Lab, the host's ocserv) | 1.3.0 | 1.5.0
(ChrootLab on /var/tmp/ocserv-trixie or /var/tmp/ocserv-sid). conftest.py's `lab` fixture
calls make_lab(); a test that cannot apply to a version skips with a reason, e.g.
`pytest.mark.skipif(not lab_chroot.at_least(1, 4, 2), reason="...")`.

ChrootLab is a lab.Lab whose tools (ocserv, occtl, ocpasswd, certtool, openconnect) are the
chroot's own, run through Lab.tool_argv():
  - ocserv and openconnect need /dev (/dev/net/tun) and /proc (ocserv re-execs its workers via
    /proc/self/exe): they run as `ip netns exec NS sh -c 'mount --bind /dev R/dev && mount -t
    proc proc R/proc && exec chroot R CMD'`, so the mounts exist only in the private mount
    namespace `ip netns exec` creates (never on the host) and vanish with its last process.
    ip, sh and chroot all exec: the pid we get is ocserv-main (or openconnect) itself.
  - occtl, ocpasswd and certtool run as `chroot R CMD` (they need neither).
The lab dir lives inside the chroot (R/oa-PID-lab-XXXX) and is reachable under ONE path from
both sides: inside the chroot, R/R/oa-PID-lab-XXXX is a symlink to /oa-PID-lab-XXXX. So
ocserv.conf, the sockets, the pid files and everything the agent is given (OCCTL_SOCKET,
OCSERV_CONF_PATH, the server-cert that its health check reads, `ocserv -t -c CONF` on reload)
name the same files whether the chroot's tools or the agent on the host open them. The agent (on the host, in the
same network namespace) gets OCCTL_PATH/OCSERV_PATH = wrapper scripts in the lab dir that exec
the chroot's occtl / ocserv (agent_env(), read by lab.Agent).

Lab.hook_script(): ocserv runs its connect/disconnect-script inside the chroot, so the agent
binary goes there with the host's libraries and loader (see ChrootLab.hook_script).
"""

import os
import re
import shutil
import signal
import subprocess
import time

import lab as labmod
from lab import IP, Lab, LabError, NetNS, kill_quiet, pid_alive

HOST_VERSION = "1.1.6"
# version -> (Debian suite, chroot directory); scripts/ocserv-root.sh SUITE DIR builds it.
ROOTS = {
    "1.3.0": ("trixie", "/var/tmp/ocserv-trixie"),
    "1.5.0": ("sid", "/var/tmp/ocserv-sid"),
}
VERSIONS = (HOST_VERSION,) + tuple(ROOTS)
ROOT_SCRIPT = os.path.join(labmod.REPO, "scripts", "ocserv-root.sh")
CHROOT = "/usr/sbin/chroot"
# $0 is the root, "$@" the command as the chroot sees it.
MOUNT_SH = 'mount --bind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
NEEDS_MOUNTS = ("ocserv", "openconnect")


def selected_version():
    """OA_OCSERV_VERSION (default 1.1.6, the host's ocserv)."""
    return os.environ.get("OA_OCSERV_VERSION", "").strip() or HOST_VERSION


OCSERV_VERSION = selected_version()


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def at_least(major, minor, patch=0):
    """Whether the ocserv under test (OA_OCSERV_VERSION) is at least major.minor.patch."""
    return version_tuple(OCSERV_VERSION) >= (major, minor, patch)


def root_for(version):
    if version not in ROOTS:
        raise LabError(f"OA_OCSERV_VERSION={version}: not one of {', '.join(VERSIONS)}")
    return os.path.realpath(ROOTS[version][1])


def chroot_version(root):
    """The chroot's ocserv version (`ocserv --version` writes it to stderr: "ocserv 1.1.6" or
    "OpenConnect VPN Server 1.3.0")."""
    r = subprocess.run([CHROOT, root, "/usr/sbin/ocserv", "--version"], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    first = (r.stderr + r.stdout).strip().splitlines()
    return first[0].split()[-1] if first else ""


def make_lab(**kw):
    """A lab.Lab (1.1.6) or ChrootLab for OA_OCSERV_VERSION, with Lab's keyword arguments."""
    version = selected_version()
    if version == HOST_VERSION:
        return Lab(**kw)
    return ChrootLab(version=version, **kw)


def describe():
    """One line for pytest's header."""
    version = selected_version()
    if version == HOST_VERSION:
        return f"ocserv {HOST_VERSION} (the host's, lab.Lab)"
    try:
        return f"ocserv {version} (chroot {root_for(version)}, lab_chroot.ChrootLab)"
    except LabError as exc:
        return str(exc)


def current_netns_name():
    """The /run/netns name of this thread's network namespace, or None."""
    try:
        me = os.stat("/proc/thread-self/ns/net")
        names = os.listdir("/run/netns")
    except OSError:
        return None
    for name in sorted(names):
        try:
            st = os.stat(os.path.join("/run/netns", name))
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (me.st_ino, me.st_dev):
            return name
    return None


def _proc_root(pid):
    try:
        return os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None


def _proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def remove_lab_dir(root, path):
    """rm -rf one oa-* lab dir directly inside root: never root itself (/dev may be mounted in
    it in some private namespace) and never a dir with anything mounted below it."""
    real = os.path.realpath(path)
    if os.path.dirname(real) != os.path.realpath(root) or \
            not os.path.basename(real).startswith("oa-"):
        raise LabError(f"refusing to remove {real}")
    with open("/proc/self/mounts") as f:
        if any((ln.split()[1] + "/").startswith(real + "/") for ln in f if ln.strip()):
            raise LabError(f"something is mounted under {real}; not removing it")
    shutil.rmtree(real, ignore_errors=True)


def cleanup_stale(root):
    """Remove what a crashed earlier run left in the chroot: lab dirs oa-<pid>-* whose process is
    gone (nothing is ever mounted in them: /dev and /proc live in private mount namespaces) and
    alias symlinks whose lab dir is gone."""
    root = os.path.realpath(root)
    for name in os.listdir(root):
        m = re.fullmatch(r"oa-(\d+)-.+", name)
        path = os.path.join(root, name)
        if m and not pid_alive(int(m.group(1))) and os.path.isdir(path) \
                and not os.path.islink(path):
            try:
                remove_lab_dir(root, path)
            except LabError:
                pass
    aliases = os.path.join(root, root.lstrip("/"))
    try:
        names = os.listdir(aliases)
    except OSError:
        return
    for name in names:
        link = os.path.join(aliases, name)
        if name.startswith("oa-") and os.path.islink(link) \
                and not os.path.isdir(os.path.join(root, name)):
            os.unlink(link)


class ChrootLab(Lab):
    """lab.Lab on the ocserv of a Debian chroot (see the module docstring). The caller must be
    inside the network namespace the lab should use, as for Lab."""

    def __init__(self, version=None, root=None, **kw):
        self.root = os.path.realpath(root) if root else root_for(version)
        if not os.path.isfile(os.path.join(self.root, ".ocserv-root")):
            suite = ROOTS.get(version, ("SUITE",))[0]
            raise LabError(f"{self.root} is not a complete ocserv root: build it with "
                           f"`{ROOT_SCRIPT} {suite} {self.root}` (as root)")
        if self.root in ("/", "") or not os.path.isdir(os.path.join(self.root, "dev")):
            raise LabError(f"refusing chroot {self.root!r}")
        self.version = chroot_version(self.root)
        if version and version_tuple(self.version)[:2] != version_tuple(version)[:2]:
            raise LabError(f"{self.root} has ocserv {self.version!r}, not {version}")
        self.netns_name = current_netns_name()
        self._alias = None
        self._bins = {}
        self.occtl_wrapper = self.ocserv_wrapper = None
        cleanup_stale(self.root)
        kw["base_dir"] = self.root   # the lab dir must be inside the chroot
        # oa-<pid>-<name>-XXXX: cleanup_stale() removes it once this process is gone.
        kw["name"] = f"{os.getpid()}-{kw.get('name', 'lab')}"
        super().__init__(**kw)

    # ---- paths -------------------------------------------------------------------------
    def _prepare(self):
        """The in-chroot alias of the lab dir and the agent's wrappers, then Lab's files
        (certificate, ocpasswd, ocserv.conf: made by the chroot's own tools)."""
        real = os.path.realpath(self.dir)
        if os.path.dirname(real) != self.root:
            raise LabError(f"lab dir {real} is not directly inside {self.root}")
        # Inside the chroot, <root>/<root> holds a symlink <name> -> /<name>: the host path of
        # the lab dir then names the same directory in the chroot.
        parent = os.path.join(self.root, self.root.lstrip("/"))
        self._makedirs_755(parent)
        alias = os.path.join(parent, os.path.basename(real))
        os.symlink("/" + os.path.basename(real), alias)
        self._alias = alias
        try:
            self.occtl_wrapper = self._wrapper("occtl-wrapper", self._bin("occtl"))
            self.ocserv_wrapper = self._wrapper("ocserv-wrapper", self._bin("ocserv"))
            super()._prepare()
        except BaseException:
            self._remove_alias()
            raise

    def _makedirs_755(self, path):
        """mkdir -p, each new directory 0755 (ocserv's workers run as nobody and must traverse)."""
        missing = []
        p = path
        while not os.path.isdir(p):
            missing.append(p)
            p = os.path.dirname(p)
        for d in reversed(missing):
            try:
                os.mkdir(d, 0o755)
            except FileExistsError:
                pass
            os.chmod(d, 0o755)

    def _remove_alias(self):
        if self._alias and os.path.islink(self._alias):
            os.unlink(self._alias)
        self._alias = None

    def _wrapper(self, name, inner):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    f"# ocserv-agent chroot lab: ocserv {self.version}'s {os.path.basename(inner)}\n"
                    f"exec {CHROOT} {self.root} {inner} \"$@\"\n")
        os.chmod(path, 0o755)
        return path

    def _bin(self, name):
        """A tool's path as the chroot sees it."""
        if name not in self._bins:
            for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
                if os.path.isfile(os.path.join(self.root, d.lstrip("/"), name)):
                    self._bins[name] = f"{d}/{name}"
                    break
            else:
                raise LabError(f"{name} is missing in {self.root}")
        return self._bins[name]

    # ---- the hooks lab.Lab and lab.Agent call ------------------------------------------
    def tool_argv(self, cmd):
        """cmd (a host tool's argv, possibly behind `ip netns exec NS`) run on the chroot's tool
        of the same name, in the same network namespace."""
        cmd = list(cmd)
        ns = self.netns_name
        if len(cmd) > 4 and cmd[0] == IP and cmd[1:3] == ["netns", "exec"]:
            ns, cmd = cmd[3], cmd[4:]
        name = os.path.basename(cmd[0])
        inner = [self._bin(name)] + cmd[1:]
        if name in NEEDS_MOUNTS:
            if ns:
                return [IP, "netns", "exec", ns, "/bin/sh", "-c", MOUNT_SH, self.root] + inner
            return (["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", MOUNT_SH,
                     self.root] + inner)
        if ns != self.netns_name:
            return [IP, "netns", "exec", ns, CHROOT, self.root] + inner
        return [CHROOT, self.root] + inner

    def agent_env(self):
        """What lab.Agent adds to the agent's environment: the chroot's occtl and ocserv."""
        return {"OCCTL_PATH": self.occtl_wrapper, "OCSERV_PATH": self.ocserv_wrapper}

    def hook_script(self, socket_path, binary=None, name="agent-hook.sh"):
        """Lab.hook_script inside the chroot: ocserv runs its scripts there, where the host's
        agent binary and libraries are not. So the binary, the shared libraries ldd lists and
        the host's dynamic loader are copied into LABDIR/hook-bundle/ and the script runs the
        binary through that loader. socket_path (under the lab dir) names the same socket on
        both sides."""
        binary = os.path.realpath(binary or labmod.agent_binary())
        r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise LabError(f"hook_script: `ldd {binary}` failed (not a dynamic ELF binary?): "
                           f"{(r.stdout + r.stderr).strip()[:300]}")
        bundle = os.path.join(self.dir, "hook-bundle")
        libdir = os.path.join(bundle, "lib")
        os.makedirs(libdir, mode=0o755, exist_ok=True)
        loader = None
        for line in r.stdout.splitlines():
            m = re.search(r"=>\s*(/\S+)", line)
            if m:
                shutil.copy2(os.path.realpath(m.group(1)),
                             os.path.join(libdir, os.path.basename(m.group(1))))
            elif line.strip().startswith("/"):
                loader = line.split()[0]
        if loader is None:
            raise LabError(f"hook_script: no dynamic loader in `ldd {binary}`")
        shutil.copy2(os.path.realpath(loader), os.path.join(bundle, "ld.so"))
        shutil.copy2(binary, os.path.join(bundle, "ocserv-agent"))
        path = os.path.join(self.dir, name)
        log = os.path.join(self.dir, "agent-hook.log")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    "# ocserv-agent chroot lab: hand the connect/disconnect event to the agent's hook\n"
                    f"echo \"$(date +%s) $REASON ID=$ID USERNAME=$USERNAME IP_REAL=$IP_REAL\" >>{log}\n"
                    f"exec {bundle}/ld.so --library-path {libdir} {bundle}/ocserv-agent "
                    f"hook --socket {socket_path} 2>>{log}\n")
        os.chmod(path, 0o755)
        return path

    # ---- teardown ----------------------------------------------------------------------
    def _leftovers(self):
        """Processes chrooted into this root that belong to this lab: their command line names
        the lab dir (ocserv -c, openconnect --pid-file), or they are in ocserv's process group."""
        pgid = self.proc.pid if self.proc is not None else None
        if self.netns_name:
            pids = NetNS.pids_of(self.netns_name)
        else:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        out = []
        for pid in pids:
            if pid == os.getpid() or _proc_root(pid) != self.root or not pid_alive(pid):
                continue
            try:
                in_group = pgid is not None and os.getpgid(pid) == pgid
            except OSError:
                continue
            if in_group or self.dir in _proc_cmdline(pid):
                out.append(pid)
        return out

    def _kill_leftovers(self, timeout=5.0):
        sig = signal.SIGTERM
        deadline = time.monotonic() + timeout
        while True:
            left = self._leftovers()
            if not left:
                return
            for pid in left:
                kill_quiet(pid, signal.SIGCONT)
                kill_quiet(pid, sig)
            time.sleep(0.2)
            if time.monotonic() > deadline:
                if sig == signal.SIGKILL:
                    return
                sig, deadline = signal.SIGKILL, time.monotonic() + 2.0

    def close(self, keep_dir=False):
        try:
            super().close(keep_dir=True)
        finally:
            self._kill_leftovers()
            self._remove_alias()
            if not keep_dir:
                remove_lab_dir(self.root, self.dir)
