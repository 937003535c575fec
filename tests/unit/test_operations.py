"""A store that keeps working once it runs, on the rendered specs (Pulumi mocks): scheduled work from
a CronJob (WP-Cron off), core pinned to the image, no PHP editor, Apache and PHP sized from the
limits, uploads up to the environment's setting, MySQL without binary logs, and the Ingress only
after the store is set up. The real-node tier runs the same specs (``tests/realnode``)."""

from __future__ import annotations

from collections.abc import Callable

import environments
from api.settings import Settings
from components.wordpress import TUNING_HASH, TUNING_PATH, tuning_conf
from stacks.program import buffer_pool_size, up_budget_seconds, web_tuning
from tests.unit.conftest import STORE
from tests.unit.harness import Deployment
from tests.unit.test_store import (
    CONFIGMAP,
    DEPLOYMENT,
    INGRESS,
    JOB,
    NETPOL,
    STATEFULSET,
    container,
    env_of,
    pod_spec,
    policy,
)

Deployed = Callable[[str], Deployment]
CRONJOB = "kubernetes:batch/v1:CronJob"


def test_wordpress_config_runs_no_cron_on_page_views_pins_core_and_has_no_editor(
    deployed: Deployed, env_name: str
) -> None:
    extra = env_of(deployed(env_name).one(DEPLOYMENT, "wordpress"))["WORDPRESS_CONFIG_EXTRA"]["value"]
    for line in (
        "define('DISABLE_WP_CRON', true);",
        "define('WP_AUTO_UPDATE_CORE', false);",
        "define('DISALLOW_FILE_EDIT', true);",
    ):
        assert line in extra


def test_a_cronjob_runs_due_events_through_the_store_service(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    cron = deployed(env_name).one(CRONJOB, "wp-cron")
    assert cron.spec["schedule"] == env.cron.schedule
    assert cron.spec["concurrencyPolicy"] == "Forbid"
    job = cron.spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] == 600
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 33 and pod["securityContext"]["runAsNonRoot"] is True
    assert job["template"]["metadata"]["labels"]["storestack.io/role"] == "cron"
    (c,) = pod["containers"]
    assert c["image"] == env.images.wordpress
    assert "env" not in c and "volumeMounts" not in c  # no secret, no volume
    assert c["command"][0] == "curl" and c["command"][-1] == "http://wordpress:80/wp-cron.php"
    assert f"Host: {STORE}.{env.domain}" in c["command"]
    assert c["resources"]["limits"] == {"cpu": env.cron.cpu, "memory": env.cron.memory}
    assert pod.get("nodeSelector") == (dict(env.scheduling.node_selector) or None)


def test_only_cron_pods_reach_the_web_pods_besides_the_ingress_controller(deployed: Deployed) -> None:
    d = deployed("sim")
    egress = policy(d, "allow-cron-egress")
    assert egress["podSelector"] == {"matchLabels": {"storestack.io/role": "cron"}}
    assert egress["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"storestack.io/role": "web"}}}],
            "ports": [{"protocol": "TCP", "port": 80}],
        }
    ]
    sources = policy(d, "allow-ingress-to-web")["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"storestack.io/role": "cron"}}} in sources
    assert len(d.of_type(NETPOL)) == 7


def test_apache_and_php_are_sized_from_the_environment(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    d = deployed(env_name)
    tuning = web_tuning(env)
    text = d.one(CONFIGMAP, "wordpress-tuning").inputs["data"]["zz-storestack-tuning.conf"]
    assert text == tuning_conf(tuning)
    assert f"MaxRequestWorkers {tuning.max_workers}\n" in text
    upload = f"{int(environments.model.byte_count(env.web.upload_max_size)) // 2**20}M"
    assert (
        f"php_value upload_max_filesize {upload}\n" in text and f"php_value post_max_size {upload}\n" in text
    )
    dep = d.one(DEPLOYMENT, "wordpress")
    mount = next(m for m in container(dep)["volumeMounts"] if m["name"] == "tuning")
    assert mount == {
        "name": "tuning",
        "mountPath": TUNING_PATH,
        "subPath": "zz-storestack-tuning.conf",
        "readOnly": True,
    }
    assert TUNING_HASH in dep.spec["template"]["metadata"]["annotations"]
    assert pod_spec(dep)["volumes"][1]["configMap"]["name"] == "wordpress-tuning"


def test_worker_count_follows_the_memory_limit() -> None:
    expected = {"sim": 3, "local": 7, "prod": 15, "realnode": 5}  # (limit - 64Mi) / 64Mi
    assert {name: web_tuning(environments.load(name)).max_workers for name in expected} == expected
    tiny = environments.load("sim").model_copy(
        update={"web": environments.load("sim").web.model_copy(update={"worker_memory": "1Gi"})}
    )
    assert web_tuning(tiny).max_workers == 2  # never fewer than two


def test_mysql_keeps_no_binary_log_and_sizes_its_buffer_pool(deployed: Deployed, env_name: str) -> None:
    env = environments.load(env_name)
    args = container(deployed(env_name).one(STATEFULSET, "mysql"))["args"]
    assert args == ["--skip-log-bin", f"--innodb-buffer-pool-size={buffer_pool_size(env)}"]
    assert {name: buffer_pool_size(environments.load(name)) for name in ("sim", "prod")} == {
        "sim": "64M",
        "prod": "512M",
    }


def test_the_ingress_appears_only_after_the_setup_job_completed(deployed: Deployed) -> None:
    d = deployed("sim")
    assert d.depends_on(d.one(INGRESS), d.one(JOB))
    assert d.depends_on(d.one(INGRESS), d.one(DEPLOYMENT, "wordpress"))


def test_the_up_budget_adds_the_awaits_in_series() -> None:
    prod = environments.load("prod")
    assert up_budget_seconds(prod) == 600 + 1500 + prod.readiness.timeout_seconds
    assert up_budget_seconds(environments.load("realnode")) == 600  # no setup job, no storefront check
    assert Settings().provisioning_timeout_seconds >= max(
        up_budget_seconds(environments.load(n)) for n in environments.available()
    )


def test_uploads_pass_the_ingress_nginx_body_limit(deployed: Deployed) -> None:
    annotations = deployed("local").one(INGRESS).inputs["metadata"].get("annotations", {})
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"
    prod = deployed("prod").one(INGRESS).inputs["metadata"].get("annotations", {})
    assert "nginx.ingress.kubernetes.io/proxy-body-size" not in prod  # traefik has no body limit
