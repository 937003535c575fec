"""The configuration files of the real node, as text, and where it keeps its state.

Used by ``toolchain.node.RealNode`` only: containerd's config (its own root, state and socket, the
CRI plugin with ``restrict_oom_score_adj``), the CNI bridge conflist, the kubelet's and kube-proxy's
configuration, and the names, addresses and images they share with ``toolchain.node_manifests``.
Everything here is plain data built from a ``NodeLayout``; nothing runs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

NODE_NAME = "storestack-node"
NODE_LABEL = ("storestack.io/node", "real")
NODE_TAINT = ("storestack.io/real-node", "true")
BRIDGE = "storestack0"
POD_CIDR = "10.88.0.0/24"
GATEWAY = "10.88.0.1"
SERVICE_CIDR = "10.0.0.0/24"  # kube-apiserver's default service range
CLUSTER_DNS = "10.0.0.10"  # inside it
CLUSTER_DOMAIN = "cluster.local"
PAUSE_IMAGE = "localhost/storestack/pause:1.0"
COREDNS_IMAGE = "localhost/storestack/coredns:1.15.0"
TRAEFIK_IMAGE = "localhost/storestack/traefik:3.6.12"
# The ingress controller answers on the node's address (the bridge gateway, a host address) at port
# 80: a hostPort of the Traefik pod. Store host names "resolve" here by connection mapping.
INGRESS_ADDRESS = GATEWAY
INGRESS_PORT = 80
INGRESS_CLASS = "traefik"
# local-path's helper pods need only sh, mkdir and rm: the MySQL stand-in has them.
HELPER_IMAGE = "localhost/storestack/mysql-standin:11.8-trixie"
STORAGE_CLASS = "local-path"
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"
LOCAL_PATH_CONFIGMAP = "local-path-config"


@dataclasses.dataclass(frozen=True)
class NodeLayout:
    """Where the real node keeps everything, all under one directory (``<cluster dir>/node``)."""

    root: Path

    @property
    def containerd_root(self) -> Path:
        # Kept across `down`: it holds only the imported images (containers and snapshots go).
        return self.root / "containerd-root"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def containerd_state(self) -> Path:
        return self.state / "containerd"

    @property
    def socket(self) -> Path:
        return self.state / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.state / "containerd.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.state / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.state / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.state / "kubelet.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.state / "kube-proxy.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.state / "pod-logs"

    @property
    def resolv_conf(self) -> Path:
        return self.state / "resolv.conf"

    @property
    def logs(self) -> Path:
        # Outside `state`: kept after `down`, so a failed start can be read afterwards.
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def volumes(self) -> Path:
        """Where local-path puts the node's persistent volumes (one directory per PV). Outside
        ``state``: the node's ``down`` keeps the stores' data; the cluster's ``down`` removes it."""
        return self.root / "volumes"

    @property
    def host_snapshot(self) -> Path:
        """What the host looked like before ``up`` (sysctls, network namespaces), for ``down``."""
        return self.state / "host-before.json"


def containerd_toml(layout: NodeLayout) -> str:
    """containerd's config: its own root/state/socket, CRI with the node's CNI and pause image."""
    return f"""\
version = 2
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{layout.socket}"

[ttrpc]
  address = "{layout.socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # The VM lacks CAP_SYS_RESOURCE: a negative oom_score_adj (pod sandboxes ask for -998) fails.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{layout.state / "runc"}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{layout.cni_conf_dir}"
    max_conf_num = 1
"""


def cni_conflist(layout: NodeLayout) -> str:
    """A bridge network for the node's pods; no masquerade (pods reach nothing beyond the host)."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "storestack",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(layout.cni_ipam_dir),
                        "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def kubelet_yaml(layout: NodeLayout, *, port: int, healthz_port: int, client_ca: Path) -> str:
    """The kubelet's config: cgroupfs, the node's containerd, tainted for stores.

    It listens on the node's address (the bridge gateway, where the API server reaches it) and only
    accepts clients with a certificate of the cluster's CA: the API server presents the admin's
    (``--kubelet-client-certificate``), pods have none, so no pod can use the kubelet's API.
    """
    return f"""\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {GATEWAY}
port: {port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz_port}
containerRuntimeEndpoint: unix://{layout.socket}
cgroupDriver: cgroupfs
failSwapOn: false
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: {client_ca}}}
authorization: {{mode: AlwaysAllow}}
clusterDomain: {CLUSTER_DOMAIN}
clusterDNS: [{CLUSTER_DNS}]
resolvConf: {layout.resolv_conf}
podLogsDir: {layout.pod_logs}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}}
registerWithTaints:
  - {{key: {NODE_TAINT[0]}, value: "{NODE_TAINT[1]}", effect: NoSchedule}}
maxPods: 40
"""


def kube_proxy_yaml(kubeconfig: Path, *, healthz_port: int, metrics_port: int) -> str:
    """kube-proxy in iptables mode; conntrack sysctls left alone."""
    return f"""\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: {NODE_NAME}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:{healthz_port}
metricsBindAddress: 127.0.0.1:{metrics_port}
clusterCIDR: {POD_CIDR}
clientConnection:
  kubeconfig: {kubeconfig}
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"""
