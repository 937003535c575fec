"""A store that keeps working once it runs, on the rendered specs (Pulumi mocks): scheduled work from
a CronJob (WP-Cron off), core pinned to the image, no PHP editor, Apache and PHP sized from the
limits, uploads up to the environment's setting, mail through the environment's relay only, MySQL
without binary logs, and the Ingress only after the store is set up. The real-node tier runs the
same specs (``tests/realnode``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pulumi.runtime.rpc import is_rpc_secret

import environments
from api.settings import Settings
from components.mail import MAIL_PLUGIN
from components.wordpress import SYNC_CORE, TUNING_HASH, TUNING_PATH, tuning_conf
from stacks.program import buffer_pool_size, mail_relay, up_budget_seconds, web_tuning
from tests.unit.conftest import STORE, deploy_store
from tests.unit.harness import Deployment, plain
from tests.unit.test_store import (
    CONFIGMAP,
    DEPLOYMENT,
    INGRESS,
    JOB,
    NETPOL,
    SECRET,
    SERVICE,
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
    # a policy engine admits a new pod a moment after it starts: refused connections are retried
    assert "--retry-connrefused" in c["command"] and "--retry-max-time" in c["command"]
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


def _with_mail(tmp_path: Path, **mail: object) -> environments.Environment:
    data = yaml.safe_load((Path(environments.__file__).parent / "sim.yaml").read_text())
    data["mail"] = mail
    path = tmp_path / "mail.yaml"
    path.write_text(yaml.safe_dump(data))
    return environments.load(str(path))


def test_without_a_relay_no_mail_setting_secret_or_port_exists(deployed: Deployed) -> None:
    d = deployed("sim")
    dep = d.one(DEPLOYMENT, "wordpress")
    assert not [name for name in env_of(dep) if name.startswith("STORESTACK_SMTP_")]
    assert (
        "define('WPMU_PLUGIN_DIR', '/etc/storestack/mu-plugins');"
        in env_of(dep)["WORDPRESS_CONFIG_EXTRA"]["value"]
    )
    plugin = d.one(CONFIGMAP, "wordpress-mu-plugins").inputs["data"]["storestack-mail.php"]
    assert plugin == MAIL_PLUGIN and "add_action('phpmailer_init'" in plugin
    assert {"name": "mu-plugins", "mountPath": "/etc/storestack/mu-plugins", "readOnly": True} in container(
        dep
    )["volumeMounts"]
    assert [s.k8s_name for s in d.of_type(SECRET)] == ["store-credentials"]
    assert "allow-smtp-egress" not in {p.k8s_name for p in d.of_type(NETPOL)}


def test_a_relay_reaches_wordpress_its_password_only_through_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "SENTINELSMTPx9")
    env = _with_mail(
        tmp_path,
        host="smtp.example.org",
        port=2525,
        security="none",
        user="shop-mailer",
        password_env="TEST_SMTP_PASSWORD",
        from_address="orders@example.org",
        egress_cidrs=["192.0.2.0/24"],
    )
    d = deploy_store(env)
    variables = env_of(d.one(DEPLOYMENT, "wordpress"))
    assert {k: v.get("value") for k, v in variables.items() if k.startswith("STORESTACK_SMTP_")} == {
        "STORESTACK_SMTP_HOST": "smtp.example.org",
        "STORESTACK_SMTP_PORT": "2525",
        "STORESTACK_SMTP_SECURITY": "none",
        "STORESTACK_SMTP_FROM": "orders@example.org",
        "STORESTACK_SMTP_USER": "shop-mailer",
        "STORESTACK_SMTP_PASSWORD": None,
    }
    assert variables["STORESTACK_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "mail-relay",
        "key": "smtp-password",
    }
    relay_secret = d.one(SECRET, "mail-relay")
    assert is_rpc_secret(relay_secret.inputs["stringData"])
    assert plain(relay_secret.inputs["stringData"]) == {"smtp-password": "SENTINELSMTPx9"}
    outside = [r for r in d.kubernetes() if r.typ != SECRET]
    assert not [r.name for r in outside if "SENTINELSMTPx9" in d.dump(r)]
    egress = policy(d, "allow-smtp-egress")
    assert egress["podSelector"] == {"matchLabels": {"storestack.io/role": "web"}}
    assert egress["egress"] == [
        {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"protocol": "TCP", "port": 2525}]}
    ]
    # the setup Job sends no mail (it installs with --skip-email) and gets no relay settings
    assert not [k for k in env_of(d.one(JOB)) if k.startswith("STORESTACK_SMTP_")]


def test_a_relay_password_variable_must_be_set_and_go_with_a_user(tmp_path: Path) -> None:
    env = _with_mail(tmp_path, host="smtp.example.org", user="u", password_env="NOT_SET_ANYWHERE_X")
    with pytest.raises(ValueError, match=r"mail\.password_env names NOT_SET_ANYWHERE_X, which is not set"):
        mail_relay(env)
    with pytest.raises(environments.EnvironmentError, match="user and password_env go together"):
        _with_mail(tmp_path, host="smtp.example.org", user="u")


def _tree(root: Path, version: str, files: dict[str, str]) -> None:
    (root / "wp-includes").mkdir(parents=True)
    (root / "wp-includes" / "version.php").write_text(f"<?php\n$wp_version = '{version}';\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


NOBODY = 65534


def _sync(src: Path, dst: Path) -> subprocess.CompletedProcess[str]:
    """The script as the pod runs it: not root (here nobody), on a volume whose root is root's."""
    env = {"PATH": "/usr/bin:/bin", "CORE_SOURCE": str(src), "CORE_TARGET": str(dst)}
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    done = subprocess.run([*as_nobody, "sh", "-c", SYNC_CORE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def _owned_by_nobody(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)


def test_sync_core_brings_the_volume_to_the_image_version_and_keeps_the_site() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="storestack-sync-"))  # nobody must reach it: not pytest's
    tmp_path.chmod(0o755)
    image, volume = tmp_path / "image", tmp_path / "volume"
    _tree(
        image,
        "6.8.3",
        {"wp-login.php": "new", "wp-content/themes/new/style.css": "bundled", ".htaccess": "img"},
    )
    _tree(volume, "6.1.1", {"wp-login.php": "old", "wp-config.php": "site", ".htaccess": "site rules"})
    (volume / "wp-content" / "uploads").mkdir(parents=True)
    (volume / "wp-content" / "uploads" / "photo.jpg").write_text("upload")
    _owned_by_nobody(image)
    _owned_by_nobody(volume)
    os.chown(volume, 0, 0)  # the volume's root, as local-path makes it: root's, mode 0777
    volume.chmod(0o777)
    done = _sync(image, volume)
    assert "WordPress 6.1.1 -> 6.8.3" in done.stdout and "core is now 6.8.3" in done.stdout
    assert (volume / "wp-login.php").read_text() == "new"
    assert "6.8.3" in (volume / "wp-includes" / "version.php").read_text()
    assert (volume / "wp-config.php").read_text() == "site"  # kept
    assert (volume / ".htaccess").read_text() == "site rules"  # kept
    assert (volume / "wp-content" / "uploads" / "photo.jpg").read_text() == "upload"  # kept
    assert not (volume / "wp-content" / "themes").exists()  # wp-content is the site's, untouched
    assert _sync(image, volume).stdout == ""  # same version: nothing to do
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o777)
    assert _sync(image, empty).stdout == "" and list(empty.iterdir()) == []  # the entrypoint's job
    shutil.rmtree(tmp_path)


def test_the_wordpress_pod_syncs_core_before_apache_starts(deployed: Deployed) -> None:
    dep = deployed("sim").one(DEPLOYMENT, "wordpress")
    (init,) = pod_spec(dep)["initContainers"]
    assert init["name"] == "sync-core" and init["image"] == container(dep)["image"]
    assert init["command"] == ["sh", "-c", SYNC_CORE]
    assert init["volumeMounts"] == [{"name": "html", "mountPath": "/var/www/html"}]
    assert init["securityContext"]["runAsNonRoot"] is True


def test_services_skip_their_await_and_their_workloads_keep_theirs(deployed: Deployed, env_name: str) -> None:
    d = deployed(env_name)
    for service in d.of_type(SERVICE):
        assert service.metadata["annotations"] == {"pulumi.com/skipAwait": "true"}, service.k8s_name
        workload = d.one(DEPLOYMENT if service.k8s_name == "wordpress" else STATEFULSET)
        assert service.inputs["spec"]["selector"] == workload.spec["selector"]["matchLabels"]  # the same pods
        assert "pulumi.com/skipAwait" not in (workload.metadata.get("annotations") or {})
    assert "pulumi.com/skipAwait" not in (d.one(JOB).metadata.get("annotations") or {})
