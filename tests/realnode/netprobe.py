"""Connection attempts made from inside pods on the real node, for the isolation tests: a TCP connect
(bash's ``/dev/tcp`` under ``timeout``) and a DNS lookup (``getent``), run with ``kubectl exec`` in a
container that already runs there, so each attempt leaves from that pod's own network namespace and
meets the NetworkPolicies kube-router enforces for it.

Used by ``tests/realnode/test_isolation.py``. Also starts the "outsider": a pod in a namespace of its
own, under no policy, on the real node.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from toolchain.cluster import SimCluster
from toolchain.node_config import NODE_LABEL, NODE_TAINT

OUTSIDER_NAMESPACE = "isolation-outsider"
OUTSIDER = "outsider"
CONNECT_SECONDS = 4


Target = tuple[str, str]
"""Where an attempt leaves from: (``pod/x`` or ``deploy/x``, the container's name)."""


def _run(cluster: SimCluster, namespace: str, target: Target, script: str) -> str:
    resource, container = target
    out = cluster.kubectl(
        "exec", "-n", namespace, resource, "-c", container, "--", "bash", "-c", script, timeout=60
    )
    return out.strip().splitlines()[-1]


def tcp(cluster: SimCluster, namespace: str, target: Target, host: str, port: int) -> str:
    """``open`` if a TCP connection from ``target`` to ``host:port`` is made within
    ``CONNECT_SECONDS``, else ``closed`` (refused, rejected or timed out)."""
    script = (
        f"if timeout {CONNECT_SECONDS} bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>/dev/null; "
        "then echo open; else echo closed; fi"
    )
    return _run(cluster, namespace, target, script)


def resolves(cluster: SimCluster, namespace: str, target: Target, name: str) -> bool:
    """Whether ``name`` resolves from ``target`` (cluster DNS through the node's CoreDNS)."""
    return _run(cluster, namespace, target, f"getent hosts {name} >/dev/null && echo yes || echo no") == "yes"


def start_outsider(cluster: SimCluster, image: str) -> Target:
    """A pod in a namespace of its own (no NetworkPolicy) on the real node."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": OUTSIDER, "namespace": OUTSIDER_NAMESPACE},
        "spec": {
            "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
            "tolerations": [{"key": NODE_TAINT[0], "operator": "Equal", "value": NODE_TAINT[1]}],
            "enableServiceLinks": False,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "probe", "image": image, "imagePullPolicy": "Never", "command": ["sleep", "3600"]}
            ],
        },
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OUTSIDER_NAMESPACE}}
    cluster.kubectl(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [namespace, pod]})
    )
    cluster.kubectl(
        "wait",
        "-n",
        OUTSIDER_NAMESPACE,
        f"pod/{OUTSIDER}",
        "--for=condition=Ready",
        "--timeout=120s",
        timeout=130,
    )
    return (f"pod/{OUTSIDER}", "probe")


def stop_outsider(cluster: SimCluster) -> None:
    cluster.kubectl("delete", "namespace", OUTSIDER_NAMESPACE, "--ignore-not-found", "--wait=false")


def wait_for(check: Callable[[], str], want: str, *, timeout: float = 30) -> str:
    """Call ``check()`` until it returns ``want`` or ``timeout`` passes; the last answer (policies
    take a moment to reach the node's iptables after a change)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer == want or time.monotonic() > deadline:
            return answer
        time.sleep(1)
