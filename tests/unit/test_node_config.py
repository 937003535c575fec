"""The real node's generated configuration and its iptables clean-up, without a node."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import yaml

from toolchain import node_host
from toolchain.node_config import (
    INGRESS_ADDRESS,
    NODE_TAINT,
    NodeLayout,
    cni_conflist,
    containerd_toml,
    kubelet_yaml,
)
from toolchain.node_ingress import traefik_manifests
from toolchain.node_manifests import coredns_manifests, local_path_manifests


def test_containerd_config_keeps_everything_under_the_node_dir(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path)
    config = tomllib.loads(containerd_toml(layout))
    assert config["root"].startswith(str(tmp_path)) and config["state"].startswith(str(tmp_path))
    assert config["grpc"]["address"] == str(layout.socket)
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True  # the VM lacks CAP_SYS_RESOURCE
    assert cri["sandbox_image"].startswith("localhost/storestack/")
    assert cri["cni"]["conf_dir"] == str(layout.cni_conf_dir)
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False


def test_cni_bridge_does_not_masquerade(tmp_path: Path) -> None:
    bridge = json.loads(cni_conflist(NodeLayout(tmp_path)))["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["ipMasq"] is False
    assert bridge["ipam"]["dataDir"].startswith(str(tmp_path))


def test_kubelet_accepts_only_certificates_of_the_cluster_ca(tmp_path: Path) -> None:
    config = yaml.safe_load(
        kubelet_yaml(NodeLayout(tmp_path), port=1, healthz_port=2, client_ca=tmp_path / "ca")
    )
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["x509"]["clientCAFile"] == str(tmp_path / "ca")
    assert config["cgroupDriver"] == "cgroupfs" and config["readOnlyPort"] == 0
    assert config["registerWithTaints"] == [
        {"key": NODE_TAINT[0], "value": NODE_TAINT[1], "effect": "NoSchedule"}
    ]


def test_coredns_resolves_cluster_names_only_and_runs_unprivileged() -> None:
    items = json.loads(coredns_manifests(apiserver_port=6443))["items"]
    kinds = {i["kind"]: i for i in items}
    corefile = kinds["ConfigMap"]["data"]["Corefile"]
    assert "kubernetes cluster.local" in corefile and "forward" not in corefile
    pod = kinds["Deployment"]["spec"]["template"]
    assert pod["metadata"]["labels"] == {"k8s-app": "kube-dns"}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert kinds["Service"]["spec"]["clusterIP"] == "10.0.0.10"
    assert {r["verbs"][0] for r in kinds["ClusterRole"]["rules"]} == {"list"}


def test_traefik_is_k3s_shaped_publishes_the_node_address_and_runs_unprivileged() -> None:
    items = json.loads(traefik_manifests(apiserver_port=6443))["items"]
    kinds = {i["kind"]: i for i in items}
    assert kinds["IngressClass"]["metadata"]["name"] == "traefik"
    assert kinds["IngressClass"]["spec"]["controller"] == "traefik.io/ingress-controller"
    pod = kinds["Deployment"]["spec"]["template"]
    # the labels k3s's Traefik pods carry, which prod.yaml's controller selector names
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "traefik"
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == "traefik-kube-system"
    container = pod["spec"]["containers"][0]
    assert f"--providers.kubernetesingress.ingressendpoint.ip={INGRESS_ADDRESS}" in container["args"]
    [web] = [p for p in container["ports"] if p["name"] == "web"]
    assert (web["hostIP"], web["hostPort"]) == (INGRESS_ADDRESS, 80) and web["containerPort"] > 1024
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    rules = kinds["ClusterRole"]["rules"]
    assert {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses/status"],
        "verbs": ["update"],
    } in rules
    assert "tls-server-name: kubernetes.default.svc" in kinds["ConfigMap"]["data"]["kubeconfig"]


def test_local_path_volumes_live_under_the_node_dir(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path)
    items = json.loads(local_path_manifests(layout))["items"]
    config = json.loads(items[0]["data"]["config.json"])
    assert config["nodePathMap"][0]["paths"] == [str(layout.volumes)]
    assert items[1]["volumeBindingMode"] == "WaitForFirstConsumer"


DUMP = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:STORESTACK-POD-EGRESS - [0:0]
:MINE - [0:0]
-A FORWARD -s 10.88.0.0/24 -j STORESTACK-POD-EGRESS
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -j MINE
-A KUBE-FORWARD -j ACCEPT
-A MINE -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def test_iptables_cleanup_removes_only_our_new_chains_and_the_jumps_to_them() -> None:
    script = node_host.removal_script(DUMP, {"KUBE-FORWARD", "STORESTACK-POD-EGRESS"})
    assert script is not None
    lines = script.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert "-D FORWARD -s 10.88.0.0/24 -j STORESTACK-POD-EGRESS" in lines
    assert '-D FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD' in lines
    assert lines.index("-F KUBE-FORWARD") < lines.index("-X KUBE-FORWARD")
    assert not [line for line in lines if "MINE" in line]  # others' rules and chains stay
    assert node_host.removal_script(DUMP, set()) is None
