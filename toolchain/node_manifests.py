"""The Kubernetes objects the real node deploys into the cluster, as JSON ``List`` documents.

Used by ``toolchain.node.RealNode.up`` (``kubectl apply -f -``): CoreDNS (ServiceAccount, RBAC,
ConfigMap, Deployment and the ``kube-dns`` Service) for cluster DNS, and local-path's ConfigMap and
StorageClass for the node's persistent volumes. Plain data; nothing here talks to a cluster.
"""

from __future__ import annotations

import json

from toolchain.node_config import (
    CLUSTER_DNS,
    CLUSTER_DOMAIN,
    COREDNS_IMAGE,
    GATEWAY,
    HELPER_IMAGE,
    LOCAL_PATH_CONFIGMAP,
    LOCAL_PATH_PROVISIONER,
    NODE_LABEL,
    NODE_TAINT,
    STORAGE_CLASS,
    NodeLayout,
)

COREFILE = f"""\
.:53 {{
    errors
    health :8080
    ready :8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig /etc/coredns/kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
    reload
}}
"""
# No `forward`: the node's pods resolve cluster names only, and a lookup of any other name fails
# at once instead of leaving the machine.


def pod_kubeconfig(*, apiserver_port: int, user: str) -> str:
    """A kubeconfig for a system pod on the real node: the API server through the bridge gateway
    (the host), the pod's own service-account token and CA; the server certificate names
    ``kubernetes.default.svc``, not the gateway's address."""
    return f"""\
apiVersion: v1
kind: Config
clusters:
  - name: cluster
    cluster:
      server: https://{GATEWAY}:{apiserver_port}
      certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
      tls-server-name: kubernetes.default.svc
users:
  - name: {user}
    user:
      tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
contexts:
  - name: {user}
    context: {{cluster: cluster, user: {user}}}
current-context: {user}
"""


def system_account(name: str, rules: list[dict[str, object]]) -> list[dict[str, object]]:
    """A kube-system ServiceAccount ``name`` and the ClusterRole ``storestack:<name>`` (``rules``)
    bound to it: what a system pod of the real node (CoreDNS, Traefik) reads the API with."""
    role = f"storestack:{name}"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": "kube-system"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "kube-system"}],
        },
    ]


def coredns_manifests(*, apiserver_port: int) -> str:
    """CoreDNS as a pod in kube-system (``k8s-app: kube-dns``) on the real node, and its Service.

    It reaches the API server through the bridge gateway (the host) with its service-account token;
    the server certificate names ``kubernetes.default.svc``.
    """
    kubeconfig = pod_kubeconfig(apiserver_port=apiserver_port, user="coredns")
    labels = {"k8s-app": "kube-dns"}
    objects = [
        *system_account(
            "coredns",
            [
                {
                    "apiGroups": [""],
                    "resources": ["services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        ),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "data": {"Corefile": COREFILE, "kubeconfig": kubeconfig},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
                        "tolerations": [{"key": NODE_TAINT[0], "operator": "Equal", "value": NODE_TAINT[1]}],
                        "serviceAccountName": "coredns",
                        "dnsPolicy": "Default",
                        "enableServiceLinks": False,
                        "securityContext": {
                            "runAsUser": 65532,
                            "runAsGroup": 65532,
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
                        },
                        "containers": [
                            {
                                "name": "coredns",
                                "image": COREDNS_IMAGE,
                                "imagePullPolicy": "Never",
                                "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [
                                    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                    {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "32Mi"},
                                    "limits": {"memory": "128Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True,
                                },
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                                "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns"}],
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "clusterIP": CLUSTER_DNS,
                "selector": labels,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                ],
            },
        },
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


def local_path_manifests(layout: NodeLayout) -> str:
    """k3s's storage on the real node: local-path's ConfigMap and the ``local-path`` StorageClass.

    A volume is a directory under ``layout.volumes`` made (mode 0777, as local-path does) and removed
    by a helper pod on the node; the PV is pinned to the node, the class binds on first consumer.
    """
    config = {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(layout.volumes)]}]}
    helper_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "local-path-helper"},
        "spec": {
            "tolerations": [{"key": NODE_TAINT[0], "operator": "Equal", "value": NODE_TAINT[1]}],
            "enableServiceLinks": False,
            "automountServiceAccountToken": False,
            "containers": [{"name": "helper", "image": HELPER_IMAGE, "imagePullPolicy": "Never"}],
        },
    }
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": LOCAL_PATH_CONFIGMAP, "namespace": "kube-system"},
            "data": {
                "config.json": json.dumps(config),
                "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
                "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
                "helperPod.yaml": json.dumps(helper_pod),
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS},
            "provisioner": LOCAL_PATH_PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
