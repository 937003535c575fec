"""Host-level state the real node changes, and how ``down`` puts it back.

Used by ``toolchain.node.RealNode``: the bridge, the pod-egress guard (pods may reach the host and
each other, nothing beyond the machine), the sysctls the kubelet and kube-proxy set, iptables rules
(kube-proxy's ``KUBE-*`` chains, CNI's ``CNI-*``, ours ``STORESTACK-*``), mounts under the node's
directory, network namespaces, cgroups and leftover containerd shims. Each function is idempotent:
``down`` calls all of them even after a crash half-way through ``up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from toolchain.node_config import BRIDGE, GATEWAY, POD_CIDR

# Sysctls the real node (or the kubelet / kube-proxy) may change; restored by `down`.
SYSCTLS = (
    "net/ipv4/ip_forward",  # the CNI bridge plugin (isGateway) turns it on host-wide
    "net/ipv4/conf/all/route_localnet",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
OUR_CHAINS = re.compile(r"^(KUBE-|CNI-|STORESTACK-)")
EGRESS_CHAIN = "STORESTACK-POD-EGRESS"
NETNS_DIR = Path("/var/run/netns")


def run(args: list[str], *, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name


def snapshot(path: Path) -> None:
    """Record the sysctls and network namespaces as they are before ``up`` (once)."""
    if path.exists():
        return
    values = {}
    for name in SYSCTLS:
        with contextlib.suppress(OSError):
            values[name] = _sysctl_path(name).read_text().strip()
    netns = sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.exists() else []
    path.write_text(json.dumps({"sysctls": values, "netns": netns, "chains": _chains()}))


def restore(path: Path) -> None:
    """Put back the sysctls recorded by ``snapshot`` and remove network namespaces made since."""
    if not path.exists():
        return
    before = json.loads(path.read_text())
    for name, value in before["sysctls"].items():
        with contextlib.suppress(OSError):
            if _sysctl_path(name).read_text().strip() != value:
                _sysctl_path(name).write_text(value)
    if NETNS_DIR.exists():
        for netns in NETNS_DIR.iterdir():
            if netns.name.startswith("cni-") and netns.name not in before["netns"]:
                run(["umount", str(netns)], check=False)
                with contextlib.suppress(OSError):
                    netns.unlink()


def prepare_network() -> None:
    """The bridge (so the node has its address before the first pod) and forwarding for pods.

    Forwarding is switched on for the bridge only; the CNI bridge plugin still turns on the
    host-wide ``ip_forward`` while pods run, which ``down`` puts back as it was.
    """
    if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    prefix = POD_CIDR.split("/")[1]
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if f"{GATEWAY}/{prefix}" not in addrs:
        run(["ip", "addr", "add", f"{GATEWAY}/{prefix}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    _sysctl_path(f"net/ipv4/conf/{BRIDGE}/forwarding").write_text("1")
    with contextlib.suppress(OSError):
        _sysctl_path("net/bridge/bridge-nf-call-iptables").write_text("1")
    # Pods may talk to each other, to Services (DNAT'd to pods) and to the host; anything routed
    # beyond the machine is rejected at once, so nothing a store does leaves this host.
    if run(["iptables", "-w", "-n", "-L", EGRESS_CHAIN], check=False).returncode != 0:
        run(["iptables", "-w", "-N", EGRESS_CHAIN])
    run(["iptables", "-w", "-F", EGRESS_CHAIN])
    run(["iptables", "-w", "-A", EGRESS_CHAIN, "-d", POD_CIDR, "-j", "RETURN"])
    run(["iptables", "-w", "-A", EGRESS_CHAIN, "-j", "REJECT", "--reject-with", "icmp-net-unreachable"])
    jump = ["FORWARD", "-s", POD_CIDR, "-j", EGRESS_CHAIN]
    if run(["iptables", "-w", "-C", *jump], check=False).returncode != 0:
        run(["iptables", "-w", "-I", *jump])


def remove_network() -> None:
    """Delete the veths still on the bridge, then the bridge."""
    links = run(["ip", "-o", "link", "show", "master", BRIDGE], check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        run(["ip", "link", "delete", name], check=False)
    run(["ip", "link", "delete", BRIDGE], check=False)


def _chains() -> dict[str, list[str]]:
    """Every chain of ours (by name) that exists now, per family and table: ``{"iptables:nat": [...]}``."""
    found: dict[str, list[str]] = {}
    for family in ("iptables", "ip6tables"):
        table = ""
        for line in run([f"{family}-save"], check=False).stdout.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and OUR_CHAINS.match(line[1:]):
                found.setdefault(f"{family}:{table}", []).append(line[1:].split()[0])
    return found


def removal_script(dump: str, chains: set[str]) -> str | None:
    """An ``iptables-restore --noflush`` script that deletes ``chains`` and every rule elsewhere that
    jumps to them, and touches nothing else (rules others add meanwhile stay); None if nothing to do."""
    jumps_in: dict[str, list[str]] = {}
    declared: dict[str, list[str]] = {}
    table = ""
    for line in dump.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":") and line[1:].split()[0] in chains:
            declared.setdefault(table, []).append(line[1:].split()[0])
        elif line.startswith("-A "):
            words = line.split()
            targets = {w for i, w in enumerate(words) if i and words[i - 1] in ("-j", "-g")}
            if words[1] not in chains and targets & chains:
                jumps_in.setdefault(table, []).append("-D " + line[3:])
    script: list[str] = []
    for name in sorted(set(jumps_in) | set(declared)):
        ours = declared.get(name, [])
        script += [f"*{name}", *jumps_in.get(name, []), *[f"-F {c}" for c in ours]]
        script += [*[f"-X {c}" for c in ours], "COMMIT"]
    return "\n".join(script) + "\n" if script else None


def remove_iptables_rules(snapshot_path: Path) -> None:
    """Remove the KUBE-/CNI-/STORESTACK- chains that did not exist before ``up`` (IPv4 and IPv6)
    and the rules that jump to them; nothing else in iptables is touched."""
    before = json.loads(snapshot_path.read_text()).get("chains", {}) if snapshot_path.exists() else {}
    for family in ("iptables", "ip6tables"):
        dump = run([f"{family}-save"], check=False).stdout
        ours = {
            line[1:].split()[0]
            for line in dump.splitlines()
            if line.startswith(":") and OUR_CHAINS.match(line[1:])
        }
        ours -= {c for key, names in before.items() if key.startswith(f"{family}:") for c in names}
        script = removal_script(dump, ours)
        if script is not None:
            run([f"{family}-restore", "-w", "--noflush"], stdin=script)


OUR_IPSETS = re.compile(r"^(inet6:)?(KUBE-SRC-|KUBE-DST-|kube-router-)")


def our_ipsets() -> list[str]:
    """The ipsets kube-router's policy controller made (by name); none exist before ``up``."""
    names = run(["ipset", "list", "-n"], check=False).stdout.split()
    return [name for name in names if OUR_IPSETS.match(name)]


def remove_ipsets() -> None:
    """Destroy kube-router's ipsets (after the rules that use them are gone)."""
    for name in our_ipsets():
        run(["ipset", "destroy", name], check=False)


def leftover_iptables_rules() -> list[str]:
    """Lines of our chains still in iptables (a test checks this is empty after ``down``)."""
    found = []
    for family in ("iptables", "ip6tables"):
        for line in run([f"{family}-save"], check=False).stdout.splitlines():
            if any(OUR_CHAINS.match(word.lstrip(":")) for word in line.split()):
                found.append(f"{family}: {line}")
    return found


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount_under(root: Path) -> None:
    for point in mounts_under(root):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


# Which node directory holds the real node that runs on this host (one per machine). It outlives the
# node's own processes when they are killed without `down` (a test run or a machine's session cut off),
# so the next node's start finds the leftovers' owner and cleans up after it. /run is emptied at boot,
# as are the leftovers (cgroups, iptables rules, the bridge, mounts).
REGISTRY = Path("/run/storestack/real-node")


def register(node_dir: Path) -> None:
    REGISTRY.parent.mkdir(parents=True, exist_ok=True)
    REGISTRY.write_text(str(node_dir))


def registered() -> Path | None:
    """The node directory of the last real node started on this host and not taken down, or None."""
    try:
        text = REGISTRY.read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def unregister(node_dir: Path) -> None:
    if registered() == node_dir:
        REGISTRY.unlink(missing_ok=True)


def kubepods_cgroups() -> list[Path]:
    """The kubelet's cgroups (``kubepods`` in every v1 hierarchy, and the unified one)."""
    base = Path("/sys/fs/cgroup")
    found = []
    if base.exists():
        for hierarchy in base.iterdir():
            cgroup = hierarchy / "kubepods"
            if cgroup.is_dir():
                found.append(cgroup)
    return found


def kubepods_pids() -> list[int]:
    """Processes still in the kubelet's cgroups (containers whose shim is gone)."""
    pids: set[int] = set()
    for cgroup in kubepods_cgroups():
        for procs in cgroup.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in procs.read_text().split())
    return sorted(pids)


def foreign_kubernetes() -> str | None:
    """What shows that another Kubernetes node runs on this host (its cgroups, its kubelet's iptables
    chains), or None. Checked before our node starts: its clean-up assumes it is the only one."""
    if kubepods_cgroups():
        return "kubepods cgroups exist"
    if any("KUBE-KUBELET-CANARY" in names for names in _chains().values()):
        return "a kubelet's iptables chains exist"
    return None


def remove_cgroups() -> None:
    for cgroup in kubepods_cgroups():
        for path in sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            cgroup.rmdir()


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (e.g. containerd shims started for our socket)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(proc.name))
    return pids


def stop_pid(pid: int, *, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; returns once the process is gone."""
    if pid <= 0:
        raise ValueError(f"refusing to signal pid {pid} (a process group)")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not alive(pid):
            return
        time.sleep(0.1)


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22); "" if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True
