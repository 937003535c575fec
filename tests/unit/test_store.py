"""The ``Store`` component's Kubernetes specs, declared with each packaged environment against mocks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime.rpc import is_rpc_secret

import environments
from components.common import DELETE_TIMEOUT
from components.credentials import WORDPRESS_SALTS
from components.setup_job import DEADLINE_SECONDS, SETUP_SCRIPT
from stacks.program import CREDENTIAL_KEYS
from tests.unit.conftest import STORE, deploy_store, sentinel
from tests.unit.harness import Deployment, Registered, plain

Deployed = Callable[[str], Deployment]

NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE = "kubernetes:core/v1:Service"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITRANGE = "kubernetes:core/v1:LimitRange"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
CRONJOB = "kubernetes:batch/v1:CronJob"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SKIP_AWAIT = "pulumi.com/skipAwait"
CREDENTIAL_ENV = re.compile(r"PASSWORD|_KEY$|_SALT$")


def pod_spec(workload: Registered) -> dict[str, Any]:
    spec: dict[str, Any] = workload.spec["template"]["spec"]
    return spec


def container(workload: Registered) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def env_of(workload: Registered) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(workload).get("env", [])}


def secret_ref(env_var: dict[str, Any]) -> dict[str, Any]:
    assert "value" not in env_var, f"{env_var['name']} has a literal value"
    ref: dict[str, Any] = env_var["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "store-credentials"
    return ref


def policy(d: Deployment, name: str) -> dict[str, Any]:
    return d.one(NETPOL, name).spec


# --- namespace, secret, credentials ------------------------------------------------------------


def test_namespace_labels(deployed: Deployed, env_name: str) -> None:
    ns = deployed(env_name).one(NAMESPACE)
    assert ns.k8s_name == f"store-{STORE}"
    labels = ns.metadata["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "storestack"
    assert labels["storestack.io/store"] == STORE
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_every_object_is_named_labelled_and_in_the_namespace(deployed: Deployed, env_name: str) -> None:
    for resource in deployed(env_name).kubernetes():
        assert resource.k8s_name, f"{resource.name} has no explicit metadata.name"
        assert resource.metadata["labels"]["storestack.io/store"] == STORE
        if resource.typ != NAMESPACE:
            assert resource.metadata["namespace"] == f"store-{STORE}", resource.name


def test_secret_holds_every_credential_as_a_pulumi_secret(deployed: Deployed) -> None:
    secret = deployed("sim").one(SECRET, "store-credentials")
    string_data = secret.inputs["stringData"]
    assert is_rpc_secret(string_data), "stringData must be a Pulumi secret"
    values = plain(string_data)
    assert set(values) == {
        "mysql-root-password",
        "mysql-password",
        "wordpress-admin-password",
        *(f"wordpress-{s.lower().replace('_', '-')}" for s in WORDPRESS_SALTS),
    }
    assert sorted(values.values()) == sorted(sentinel(k) for k in CREDENTIAL_KEYS)


def test_no_credential_appears_outside_the_secret(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    for resource in d.resources:
        if resource.typ == SECRET:
            continue
        text = d.dump(resource)
        for key in CREDENTIAL_KEYS:
            assert sentinel(key) not in text, f"{key} leaked into {resource.typ} {resource.name}"


def test_every_credential_env_var_is_a_secret_key_ref(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    seen = 0
    for workload in [*d.of_type(STATEFULSET), *d.of_type(DEPLOYMENT), *d.of_type(JOB)]:
        for name, var in env_of(workload).items():
            if CREDENTIAL_ENV.search(name):
                secret_ref(var)
                seen += 1
    # mysql: 2, wordpress: db password + 8 salts, setup: the same 9 + admin password
    assert seen == 2 + 9 + 10


# --- database ------------------------------------------------------------------------------------


def test_mysql_statefulset(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    sts = d.one(STATEFULSET, "mysql")
    assert sts.spec["replicas"] == 1
    assert sts.spec["serviceName"] == "mysql"
    assert "volumeClaimTemplates" not in sts.spec
    c = container(sts)
    assert c["image"] == env.images.mysql
    assert c["resources"] == {
        "requests": {"cpu": env.resources.mysql.requests.cpu, "memory": env.resources.mysql.requests.memory},
        "limits": {"cpu": env.resources.mysql.limits.cpu, "memory": env.resources.mysql.limits.memory},
    }
    assert c["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/mysql", "subPath": "mysql"}]
    [volume] = pod_spec(sts)["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == "mysql-data"
    env_vars = env_of(sts)
    assert secret_ref(env_vars["MYSQL_ROOT_PASSWORD"])["key"] == "mysql-root-password"
    assert secret_ref(env_vars["MYSQL_PASSWORD"])["key"] == "mysql-password"
    assert env_vars["MYSQL_DATABASE"]["value"] == "wordpress"
    assert env_vars["MYSQL_USER"]["value"] == "wordpress"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = c[probe]["exec"]["command"]
        assert command[:2] == ["sh", "-c"]
        # the password comes from the env via MYSQL_PWD: never in the probe text or an argv
        assert command[2].startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" ')
        assert " -p" not in command[2]
    assert "mysqladmin ping" in c["livenessProbe"]["exec"]["command"][2]


def test_mysql_pvc_and_headless_service(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    pvc = d.one(PVC, "mysql-data")
    assert pvc.spec["storageClassName"] == env.storage.class_name
    assert pvc.spec["resources"]["requests"]["storage"] == env.storage.mysql_size
    assert pvc.spec["accessModes"] == ["ReadWriteOnce"]
    svc = d.one(SERVICE, "mysql")
    assert svc.spec["clusterIP"] == "None"
    assert svc.spec["ports"][0]["port"] == 3306
    assert svc.spec["selector"] == d.one(STATEFULSET, "mysql").spec["selector"]["matchLabels"]


# --- wordpress -----------------------------------------------------------------------------------


def test_wordpress_deployment(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    dep = d.one(DEPLOYMENT, "wordpress")
    assert dep.spec["replicas"] == 1
    assert dep.spec["strategy"] == {"type": "Recreate"}
    c = container(dep)
    assert c["image"] == env.images.wordpress
    assert c["resources"]["limits"] == {
        "cpu": env.resources.wordpress.limits.cpu,
        "memory": env.resources.wordpress.limits.memory,
    }
    readiness = c["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/wp-login.php"
    assert "host" not in readiness
    assert "tcpSocket" in c["livenessProbe"]
    env_vars = env_of(dep)
    assert env_vars["WORDPRESS_DB_HOST"]["value"] == "mysql"
    assert env_vars["WORDPRESS_DB_NAME"]["value"] == "wordpress"
    assert env_vars["WORDPRESS_DB_USER"]["value"] == "wordpress"
    assert secret_ref(env_vars["WORDPRESS_DB_PASSWORD"])["key"] == "mysql-password"
    for salt in WORDPRESS_SALTS:
        assert secret_ref(env_vars[f"WORDPRESS_{salt}"])["key"] == "wordpress-" + salt.lower().replace(
            "_", "-"
        )
    url = f"{env.scheme}://{STORE}.{env.domain}"
    extra = env_vars["WORDPRESS_CONFIG_EXTRA"]["value"]
    assert f"define('WP_HOME', '{url}');" in extra
    assert f"define('WP_SITEURL', '{url}');" in extra
    volume, tuning, plugins = pod_spec(dep)["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == "wordpress-data"
    assert tuning["configMap"]["name"] == "wordpress-tuning"
    assert plugins["configMap"]["name"] == "wordpress-mu-plugins"
    assert c["volumeMounts"][0]["mountPath"] == "/var/www/html"


def test_wordpress_security_context(deployed: Deployed) -> None:
    dep = deployed("sim").one(DEPLOYMENT, "wordpress")
    pod = pod_spec(dep)["securityContext"]
    assert pod["runAsUser"] == 33
    assert pod["runAsGroup"] == 33
    assert pod["fsGroup"] == 33
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"} in pod["sysctls"]
    sc = container(dep)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod_spec(dep)["automountServiceAccountToken"] is False


def test_wordpress_service(deployed: Deployed) -> None:
    d = deployed("sim")
    svc = d.one(SERVICE, "wordpress")
    assert svc.spec["type"] == "ClusterIP"
    assert svc.spec["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert svc.spec["selector"] == d.one(DEPLOYMENT, "wordpress").spec["selector"]["matchLabels"]


# --- ingress -------------------------------------------------------------------------------------


def test_sim_ingress_skips_await_and_has_no_tls(deployed: Deployed) -> None:
    ingress = deployed("sim").one(INGRESS, "store")
    assert ingress.spec["ingressClassName"] == "nginx"
    assert ingress.spec["rules"][0]["host"] == "shop.sim.storestack.test"
    backend = ingress.spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "wordpress", "port": {"number": 80}}
    annotations = ingress.metadata["annotations"]
    assert annotations[SKIP_AWAIT] == "true"
    assert "cert-manager.io/cluster-issuer" not in annotations
    assert "tls" not in ingress.spec


def test_prod_ingress_has_tls_and_issuer(deployed: Deployed) -> None:
    ingress = deployed("prod").one(INGRESS, "store")
    assert ingress.spec["ingressClassName"] == "traefik"
    host = "shop.stores.example.com"
    assert ingress.spec["rules"][0]["host"] == host
    assert ingress.spec["tls"] == [{"hosts": [host], "secretName": "shop-tls"}]
    annotations = ingress.metadata["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert SKIP_AWAIT not in annotations


def test_skip_await_only_on_the_services_and_the_sim_ingress(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    skipping = sorted(r.typ for r in d.kubernetes() if SKIP_AWAIT in d.dump(r))
    assert skipping == sorted([SERVICE, SERVICE, *([INGRESS] if env_name == "sim" else [])])


# --- setup job -----------------------------------------------------------------------------------


def test_setup_job(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    job = d.one(JOB, "woocommerce-setup")
    assert job.spec["backoffLimit"] >= 1
    assert "ttlSecondsAfterFinished" not in job.spec
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsUser"] == 33
    assert pod["securityContext"]["runAsGroup"] == 33
    c = container(job)
    assert c["image"] == env.images.wordpress_cli
    assert c["command"] == ["/bin/sh", "/scripts/setup.sh"]
    env_vars = env_of(job)
    assert env_vars["HOME"]["value"] == "/tmp"  # noqa: S108 - asserting the spec
    assert env_vars["WOOCOMMERCE_VERSION"]["value"] == env.woocommerce_version
    assert secret_ref(env_vars["WP_ADMIN_PASSWORD"])["key"] == "wordpress-admin-password"
    assert env_vars["STORE_URL"]["value"] == f"{env.scheme}://{STORE}.{env.domain}"
    assert env_vars["STORE_TITLE"]["value"] == "Bob's Shop"
    assert env_vars["ADMIN_EMAIL"]["value"] == "bob@example.org"
    assert env_vars["STORE_COUNTRY"]["value"] == env.store_defaults.country
    assert env_vars["STORE_CURRENCY"]["value"] == env.store_defaults.currency
    # wp-config.php reads the same configuration as the WordPress container.
    wp_env = env_of(d.one(DEPLOYMENT, "wordpress"))
    for name, var in wp_env.items():
        assert env_vars[name] == var
    claim = {v["name"]: v for v in pod["volumes"]}["html"]["persistentVolumeClaim"]["claimName"]
    assert claim == "wordpress-data"


def test_setup_job_runs_beside_the_wordpress_pod(deployed: Deployed) -> None:
    d = deployed("sim")
    job = d.one(JOB, "woocommerce-setup")
    [term] = pod_spec(job)["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    wordpress_selector = d.one(DEPLOYMENT, "wordpress").spec["selector"]["matchLabels"]
    assert term["labelSelector"]["matchLabels"] == wordpress_selector


def test_setup_script_is_idempotent_and_secret_free(deployed: Deployed) -> None:
    configmap = deployed("sim").one(CONFIGMAP, "woocommerce-setup")
    script = configmap.inputs["data"]["setup.sh"]
    assert script == SETUP_SCRIPT
    assert "--admin_password=" not in script
    guards = [
        "if ! wp core is-installed; then",
        "printf '%s\\n' \"$WP_ADMIN_PASSWORD\" | wp core install",
        "--skip-email",
        "--prompt=admin_password >/dev/null",  # password on stdin; WP-CLI's echo of it discarded
        "if ! wp plugin is-installed woocommerce; then",
        'wp plugin install woocommerce --version="$WOOCOMMERCE_VERSION"',
        "wp plugin is-active woocommerce || wp plugin activate woocommerce",
        "wp rewrite structure '/%postname%/'",
        '--name="$SAMPLE_PRODUCT_SLUG"',
        'if [ -z "$existing" ]; then',
        "--virtual=true",
        "wp wc tool run install_pages",
        "woocommerce_coming_soon no",
        "woocommerce_store_pages_only no",
        "woocommerce_allow_tracking no",
        'woocommerce_task_list_hidden_lists \'["setup","extended"]\' --format=json',
        '{"skipped":true}',
        "_wc_activation_redirect",
        '"enabled":"yes"',
        "woocommerce_cod_settings",
        "wp rewrite flush",
    ]
    for guard in guards:
        assert guard in script, guard
    assert "set -eu" in script
    # WooCommerce refuses updates of its deprecated task-list options (see test_setup_script.py).
    assert "option woocommerce_task_list_hidden " not in script
    assert "woocommerce_extended_task_list_hidden" not in script
    assert "mod_rewrite" in configmap.inputs["data"]["wp-cli.yml"]


def test_failed_setup_job_is_replaced_by_the_next_up(deployed: Deployed, env_name: str) -> None:
    # Without replaceUnready on the Job's metadata, Pulumi awaits the same failed Job on every `up`.
    job = deployed(env_name).one(JOB, "woocommerce-setup")
    assert job.metadata["annotations"] == {"pulumi.com/replaceUnready": "true"}
    assert "pulumi.com/replaceUnready" not in job.spec["template"]["metadata"].get("annotations", {})
    # The Job has a fixed name: the old one must be deleted before its replacement is created.
    assert job.delete_before_replace


def test_woocommerce_setup_off_creates_no_setup_configmap_or_job(deployed: Deployed, tmp_path: Path) -> None:
    data = yaml.safe_load((Path(environments.__file__).parent / "sim.yaml").read_text())
    data["woocommerce_setup"] = False
    path = tmp_path / "nosetup.yaml"
    path.write_text(yaml.safe_dump(data))
    without = deploy_store(environments.load(str(path)))
    with_setup = deployed("sim")
    assert with_setup.of_type(JOB) and with_setup.of_type(CONFIGMAP)  # on: the Job and its script
    assert without.of_type(JOB) == []
    assert sorted(c.k8s_name for c in without.of_type(CONFIGMAP)) == [
        "wordpress-mu-plugins",
        "wordpress-tuning",
    ]
    assert "storestack:index:WooCommerceSetup" not in {r.typ for r in without.resources}
    # Nothing else about the store changes.
    setup_parts = {(JOB, "woocommerce-setup"), (CONFIGMAP, "woocommerce-setup")}
    others = {
        (r.typ, r.k8s_name): r.inputs
        for r in with_setup.kubernetes()
        if (r.typ, r.k8s_name) not in setup_parts
    }
    assert {(r.typ, r.k8s_name): r.inputs for r in without.kubernetes()} == others
    assert without.outputs == with_setup.outputs


def test_setup_job_reruns_when_script_or_wordpress_image_change(deployed: Deployed) -> None:
    job = deployed("sim").one(JOB, "woocommerce-setup")
    annotations = job.spec["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["storestack.io/script-sha256"])
    assert annotations["storestack.io/wordpress-image"] == environments.load("sim").images.wordpress


# --- network policies ----------------------------------------------------------------------------


def test_default_deny(deployed: Deployed, env_name: str) -> None:
    spec = policy(deployed(env_name), "default-deny")
    assert spec["podSelector"] == {}
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in spec
    assert "egress" not in spec


def test_dns_egress(deployed: Deployed) -> None:
    spec = policy(deployed("sim"), "allow-dns-egress")
    assert spec["podSelector"] == {}
    assert spec["policyTypes"] == ["Egress"]
    [rule] = spec["egress"]
    assert rule["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_ingress_controller_to_wordpress(deployed: Deployed) -> None:
    d = deployed("sim")
    spec = policy(d, "allow-ingress-to-web")
    assert spec["podSelector"] == {"matchLabels": {"storestack.io/role": "web"}}
    [rule] = spec["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
        {"podSelector": {"matchLabels": {"storestack.io/role": "cron"}}},
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 80}]
    wordpress_labels = d.one(DEPLOYMENT, "wordpress").spec["template"]["metadata"]["labels"]
    assert wordpress_labels["storestack.io/role"] == "web"


def test_prod_ingress_source_is_traefik_pods_in_kube_system(deployed: Deployed) -> None:
    [rule] = policy(deployed("prod"), "allow-ingress-to-web")["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
        },
        {"podSelector": {"matchLabels": {"storestack.io/role": "cron"}}},
    ]


def test_mysql_reachable_only_from_wordpress_and_setup(deployed: Deployed) -> None:
    d = deployed("sim")
    app_selector = {
        "matchExpressions": [{"key": "storestack.io/role", "operator": "In", "values": ["web", "setup"]}]
    }
    ingress = policy(d, "allow-database-ingress")
    assert ingress["podSelector"] == {"matchLabels": {"storestack.io/role": "database"}}
    assert ingress["ingress"] == [
        {"from": [{"podSelector": app_selector}], "ports": [{"protocol": "TCP", "port": 3306}]}
    ]
    egress = policy(d, "allow-database-egress")
    assert egress["podSelector"] == app_selector
    assert egress["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"storestack.io/role": "database"}}}],
            "ports": [{"protocol": "TCP", "port": 3306}],
        }
    ]
    roles = {
        "mysql": d.one(STATEFULSET, "mysql"),
        "wordpress": d.one(DEPLOYMENT, "wordpress"),
        "woocommerce-setup": d.one(JOB, "woocommerce-setup"),
    }
    assert {k: v.spec["template"]["metadata"]["labels"]["storestack.io/role"] for k, v in roles.items()} == {
        "mysql": "database",
        "wordpress": "web",
        "woocommerce-setup": "setup",
    }


def test_internet_egress_for_the_setup_job(deployed: Deployed) -> None:
    spec = policy(deployed("sim"), "allow-internet-egress")
    assert spec["podSelector"] == {"matchLabels": {"storestack.io/role": "setup"}}
    [rule] = spec["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    [peer] = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(peer["ipBlock"]["except"])


def test_prod_lets_wordpress_reach_the_internet_and_acme_solver_be_reached(deployed: Deployed) -> None:
    d = deployed("prod")
    selector = policy(d, "allow-internet-egress")["podSelector"]
    assert selector["matchExpressions"][0]["values"] == ["setup", "web"]
    acme = policy(d, "allow-acme-http01")
    assert acme["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    assert acme["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8089}]
    assert [r.k8s_name for r in deployed("sim").of_type(NETPOL) if r.k8s_name == "allow-acme-http01"] == []


# --- quota and limit range -----------------------------------------------------------------------


def test_quota_and_limit_range_come_from_the_environment(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    assert d.one(QUOTA, "store-quota").spec["hard"] == {
        "requests.cpu": env.quota.requests_cpu,
        "requests.memory": env.quota.requests_memory,
        "limits.cpu": env.quota.limits_cpu,
        "limits.memory": env.quota.limits_memory,
        "pods": str(env.quota.pods),
        "persistentvolumeclaims": str(env.quota.persistentvolumeclaims),
        "requests.storage": env.quota.requests_storage,
    }
    container_limits, pvc_limits = d.one(LIMITRANGE, "store-limits").spec["limits"]
    assert container_limits == {
        "type": "Container",
        "default": {"cpu": env.limit_range.default.cpu, "memory": env.limit_range.default.memory},
        "defaultRequest": {
            "cpu": env.limit_range.default_request.cpu,
            "memory": env.limit_range.default_request.memory,
        },
    }
    assert pvc_limits == {
        "type": "PersistentVolumeClaim",
        "max": {"storage": env.limit_range.max_pvc_storage},
    }


def test_every_container_sets_requests_and_limits(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    for workload in [*d.of_type(STATEFULSET), *d.of_type(DEPLOYMENT), *d.of_type(JOB)]:
        resources = container(workload)["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}


def test_no_image_uses_latest(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    for workload in [*d.of_type(STATEFULSET), *d.of_type(DEPLOYMENT), *d.of_type(JOB)]:
        image = container(workload)["image"]
        assert ":" in image and not image.endswith(":latest")


# --- ordering ------------------------------------------------------------------------------------


def test_workloads_wait_for_guardrails_and_start_beside_each_other(deployed: Deployed) -> None:
    d = deployed("sim")
    guardrails = [d.one(QUOTA), d.one(LIMITRANGE), *d.of_type(NETPOL)]
    sts, dep, job = d.one(STATEFULSET), d.one(DEPLOYMENT), d.one(JOB)
    for workload in (sts, dep, job):
        for guard in guardrails:
            assert d.depends_on(workload, guard), f"{workload.name} does not wait for {guard.name}"
        assert d.depends_on(workload, d.one(SECRET))
    # The setup Job is not held back until WordPress and MySQL are ready: its script waits for
    # wp-config.php and for the database (tests/unit/test_setup_script.py runs those waits).
    assert not d.depends_on(job, dep)
    assert not d.depends_on(job, sts)
    script = d.one(CONFIGMAP, "woocommerce-setup").inputs["data"]["setup.sh"]
    assert 'wait_for "wp-config.php (written by the WordPress container)" wordpress_files' in script
    assert 'wait_for "the database" database_answers' in script
    # Each workload is created beside its claim (the scheduler waits for the claim), by name.
    for workload, claim in ((sts, d.one(PVC, "mysql-data")), (dep, d.one(PVC, "wordpress-data"))):
        assert not d.depends_on(workload, claim)
        volumes = workload.spec["template"]["spec"]["volumes"]
        assert claim.k8s_name in [v.get("persistentVolumeClaim", {}).get("claimName") for v in volumes]


def test_only_what_makes_pods_or_holds_data_waits_for_the_guardrails(deployed: Deployed) -> None:
    """ConfigMaps and Services (no pod, no traffic) need only the namespace, so they are made beside
    the guardrails and every workload can start as soon as the guardrails are in place."""
    d = deployed("sim")
    guardrails = {r.urn for r in (d.one(QUOTA), d.one(LIMITRANGE), *d.of_type(NETPOL))}
    namespace = d.one(NAMESPACE).urn
    early = [*d.of_type(CONFIGMAP), *d.of_type(SERVICE)]
    assert {r.k8s_name for r in early} >= {"woocommerce-setup", "wordpress", "mysql"}
    for resource in early:
        assert namespace in resource.dependencies, resource.name
        assert not guardrails & set(resource.dependencies), f"{resource.name} waits for the guardrails"
    gated = [*d.of_type(PVC), *d.of_type(CRONJOB), d.one(STATEFULSET), d.one(DEPLOYMENT), d.one(JOB)]
    for resource in gated:
        assert guardrails <= set(resource.dependencies), f"{resource.name} does not wait for the guardrails"


# --- component tree and outputs ------------------------------------------------------------------


def test_component_tokens_and_child_names(deployed: Deployed) -> None:
    d = deployed("sim")
    components = {r.typ: r.name for r in d.resources if not r.custom}
    assert components == {
        "storestack:index:Store": "shop",
        "storestack:index:StoreNamespace": "shop-ns",
        "storestack:index:Guardrails": "shop-guardrails",
        "storestack:index:StoreCredentials": "shop-credentials",
        "storestack:index:Database": "shop-database",
        "storestack:index:WooCommerce": "shop-woocommerce",
        "storestack:index:WordPress": "shop-woocommerce-wordpress",
        "storestack:index:WooCommerceSetup": "shop-woocommerce-setup",
        "storestack:index:StoreCron": "shop-woocommerce-cron",
        "storestack:index:StoreIngress": "shop-ingress",
    }
    for resource in d.resources:
        if resource.name != "shop":
            assert resource.name.startswith("shop-")


def test_outputs(deployed: Deployed) -> None:
    outputs = deployed("sim").outputs
    assert outputs["namespace"] == "store-shop"
    assert outputs["url"] == "http://shop.sim.storestack.test/"
    assert outputs["admin_url"] == "http://shop.sim.storestack.test/wp-admin/"
    assert outputs["admin_user"] == "admin"
    assert outputs["admin_password"] == sentinel("admin_password")
    assert outputs["admin_password_is_secret"] is True
    assert deployed("prod").outputs["url"] == "https://shop.stores.example.com/"


@pytest.mark.parametrize("field", ["store_name", "host"])
def test_store_args_reject_unsafe_names(field: str) -> None:
    from dataclasses import replace

    from stacks.program import store_args
    from stacks.types import StoreSpec
    from tests.unit.conftest import credential_values

    args = store_args(StoreSpec(name="shop"), environments.load("sim"), credential_values())
    with pytest.raises(ValueError, match=field.replace("_", " ")):
        if field == "host":
            replace(args, host="Bad'Name")
        else:
            replace(args, store_name="Bad'Name")


def test_every_kubernetes_delete_gives_up_in_time_and_the_job_keeps_its_long_await(
    deployed: Deployed,
) -> None:
    # A delete await whose watch an API-server restart cut was seen to hang for good: each object's
    # delete fails after a bound, and the reconciler's retry finishes the destroy.
    d = deployed("sim")
    for resource in d.kubernetes():
        assert resource.timeouts[2] == DELETE_TIMEOUT, f"{resource.typ} {resource.name}: {resource.timeouts}"
    create, update, _ = d.one(JOB).timeouts
    assert create == update == f"{DEADLINE_SECONDS + 300}s"
