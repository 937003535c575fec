"""A store keeps working on the real node: its scheduled work runs, its servers are sized by the
environment, and its database keeps no binary log.

- WP-Cron is off in wp-config (no request to the store's public URL on page views); an event that
  is due is run by the store's ``wp-cron`` CronJob, which calls ``wp-cron.php`` through the store's
  Service with its Host header.
- Apache read the tuning file the environment decided: PHP's upload and memory limits (the
  ``realnode`` environment sets values unlike the image's own) are what a request sees.
- An older core on the volume is brought to the image's version by the ``sync-core`` init
  container when the pod starts (what an image bump needs), the site's content kept.
- MariaDB runs with the binary log off and the buffer pool sized from its memory limit.
- Mail goes through the environment's SMTP relay (a sink on the node's bridge address), and
  nowhere without it.
- A volume size the class cannot give is refused; the claims and the data on them stay.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

import environments
from stacks import Fleet, FleetConfig, StoreSpec
from stacks.errors import InvalidSpecError
from stacks.program import buffer_pool_size
from tests.live import LiveServer, free_port
from tests.realnode import probe
from tests.realnode.conftest import record
from tests.realnode.mailsink import MailSink
from toolchain.cluster import SimCluster
from toolchain.node_config import GATEWAY

pytestmark = pytest.mark.cluster

STORE = "ops1"
NAMESPACE = f"store-{STORE}"
HOST = f"{STORE}.realnode.storestack.test"
HOOK = "storestack_probe_event"
PHP_CRON = (
    "require '/var/www/html/wp-load.php'; "
    "if (($argv[1] ?? '') === 'schedule') { wp_schedule_single_event(time() - 60, '" + HOOK + "'); } "
    "echo (DISABLE_WP_CRON ? 'off' : 'on'), ' ', (wp_next_scheduled('" + HOOK + "') ? 'due' : 'none');"
)


def _php(cluster: SimCluster, *args: str) -> str:
    return cluster.kubectl("exec", "-n", NAMESPACE, "deploy/wordpress", "-c", "wordpress", "--", "php", *args)


def test_cron_runs_due_events_and_the_servers_are_sized(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    cluster = real_cluster
    env = environments.load("realnode")
    with real_server.client() as api:
        assert api.post("/stores", json={"name": STORE, "engine": "woocommerce"}).status_code == 202
        real_server.wait_status(STORE, "ready", timeout=600)
        password = api.get(f"/stores/{STORE}/credentials").json()["admin_password"]
    wordpress = probe.WordPress(HOST)
    try:
        wordpress.wait_answering()
        done = wordpress.install(title="Ops", user="admin", password=password, email="admin@example.com")
        assert done.status_code == 200 and "Success!" in done.text, done.text[:500]

        # Scheduled work: off on page views; a due event is run by the CronJob, and only then.
        assert _php(cluster, "-r", PHP_CRON, "--", "schedule").strip() == "off due"
        assert wordpress.get("/").status_code == 200  # a page view runs nothing
        assert _php(cluster, "-r", PHP_CRON).strip() == "off due"
        started = time.monotonic()
        cluster.kubectl("create", "job", "-n", NAMESPACE, "--from=cronjob/wp-cron", "cron-now")
        cluster.kubectl(
            "wait", "-n", NAMESPACE, "--for=condition=complete", "job/cron-now", "--timeout=120s", timeout=150
        )
        record("cron run: job created -> complete (s)", round(time.monotonic() - started, 1))
        assert _php(cluster, "-r", PHP_CRON).strip() == "off none"

        # Apache read the environment's tuning file: PHP's limits are the environment's, not the image's.
        probe_file = "/var/www/html/storestack-limits.php"
        names = "['upload_max_filesize', 'post_max_size', 'memory_limit']"
        script = f"<?php echo implode(' ', array_map('ini_get', {names}));"
        cluster.kubectl(
            "exec", "-n", NAMESPACE, "deploy/wordpress", "-c", "wordpress", "--",
            "php", "-r", f"file_put_contents('{probe_file}', {script!r});",
        )  # fmt: skip
        limits = wordpress.get("/storestack-limits.php")
        assert limits.status_code == 200, limits.text[:300]
        assert limits.text.split() == ["24M", "24M", "192M"], limits.text
    finally:
        wordpress.close()

    # An older core on the volume (as after an image bump: the volume keeps the core it was given)
    # is brought to the image's version by the pod's sync-core init container; the site stays.
    version_php = "/var/www/html/wp-includes/version.php"
    image_version = _php(
        cluster, "-r", "include '/usr/src/wordpress/wp-includes/version.php'; echo $wp_version;"
    ).strip()
    cluster.kubectl(
        "exec", "-n", NAMESPACE, "deploy/wordpress", "-c", "wordpress", "--", "sh", "-c",
        f"sed -i \"s/^\\$wp_version = .*/\\$wp_version = '6.1.1';/\" {version_php}"
        " && rm /var/www/html/wp-login.php",
    )  # fmt: skip
    assert _php(cluster, "-r", f"include '{version_php}'; echo $wp_version;").strip() == "6.1.1"
    cluster.kubectl("rollout", "restart", "-n", NAMESPACE, "deploy/wordpress")
    cluster.kubectl("rollout", "status", "-n", NAMESPACE, "deploy/wordpress", "--timeout=240s", timeout=260)
    (pod,) = probe.app_pods(cluster, NAMESPACE, "web")
    (init,) = pod["status"]["initContainerStatuses"]
    assert init["restartCount"] == 0, init  # it did its work in one go (a failed try would be retried)
    synced = cluster.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"], "-c", "sync-core")
    assert f"WordPress 6.1.1 -> {image_version}" in synced, synced
    assert _php(cluster, "-r", f"include '{version_php}'; echo $wp_version;").strip() == image_version
    wordpress = probe.WordPress(HOST)
    try:
        assert wordpress.wait_answering().status_code == 200  # wp-login.php is back
        home = wordpress.get("/")
        assert home.status_code == 200 and "Ops" in home.text  # still installed: database and content kept
    finally:
        wordpress.close()

    # MariaDB: no binary log, the buffer pool from the memory limit.
    out = cluster.kubectl(
        "exec", "-n", NAMESPACE, "mysql-0", "-c", "mysql", "--", "sh", "-c",
        'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -h 127.0.0.1 -uroot -N -e '
        '"SELECT @@log_bin, @@innodb_buffer_pool_size"',
    )  # fmt: skip
    log_bin, pool = out.split()
    assert log_bin == "0"
    assert int(pool) == int(buffer_pool_size(env).removesuffix("M")) * 2**20

    with real_server.client() as api:
        assert api.delete(f"/stores/{STORE}").status_code == 202
    real_server.wait_status(STORE, "deleted", timeout=600)


def _env_file(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> str:
    data = yaml.safe_load((Path(environments.__file__).parent / "realnode.yaml").read_text())
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _uids(cluster: SimCluster, namespace: str) -> dict[str, str]:
    return {
        c["metadata"]["name"]: c["metadata"]["uid"]
        for c in probe.kget(cluster, "pvc", "-n", namespace)["items"]
    }


def test_mail_goes_through_the_relay_and_a_volume_change_keeps_the_data(
    tools: Path, real_cluster: SimCluster, tmp_path: Path
) -> None:
    """A store whose environment names an SMTP relay (a sink this test runs on the node's bridge
    address): a password-reset mail, sent by ``wp_mail`` as WooCommerce's order mails are, reaches
    the sink; without the relay's settings nothing leaves. Then local-path cannot expand volumes:
    an environment asking for more is refused with a clear error, and the claims (same uids) and
    the data on them are untouched."""
    sink = MailSink(hostname=GATEWAY, port=free_port())
    sink.start()
    relay = {
        "host": GATEWAY,
        "port": sink.port,
        "security": "none",
        "from_address": "shop@realnode.storestack.test",
    }
    relay["egress_cidrs"] = [f"{GATEWAY}/32"]
    with_mail = _env_file(tmp_path, "mail", lambda d: d.update(mail=relay))
    config = FleetConfig(
        data_dir=tmp_path / "data",
        passphrase=SecretStr(secrets.token_urlsafe(24)),
        kubeconfig=real_cluster.kubeconfig,
        tools_dir=tools,
        environment=with_mail,
    )
    name, namespace = "mail1", "store-mail1"
    spec = StoreSpec(name=name)
    fleet = Fleet(config)
    try:
        fleet.up(spec)
        password = fleet.credentials(name).admin_password.get_secret_value()
        wordpress = probe.WordPress(f"{name}.realnode.storestack.test")
        try:
            wordpress.wait_answering()
            done = wordpress.install(title="Mail", user="admin", password=password, email="owner@example.com")
            assert done.status_code == 200 and "Success!" in done.text, done.text[:500]
        finally:
            wordpress.close()
        exec_wp = ("exec", "-n", namespace, "deploy/wordpress", "-c", "wordpress", "--")
        reset = (
            "$_SERVER['REMOTE_ADDR'] = '127.0.0.1'; require '/var/www/html/wp-load.php'; "
            "echo PHP_EOL, var_export(retrieve_password('admin'), true);"
        )
        # The installer's own "New WordPress Site" mail went through the relay already.
        (installed,) = sink.wait_for(1)
        assert installed["To"] == "owner@example.com" and "New WordPress Site" in installed["Subject"]
        assert real_cluster.kubectl(*exec_wp, "php", "-r", reset).split()[-1] == "true"
        message = sink.wait_for(2)[1]
        assert message["To"] == "owner@example.com" and "Password Reset" in message["Subject"], message
        assert message["From"].endswith("<shop@realnode.storestack.test>") or message["From"] == (
            "shop@realnode.storestack.test"
        ), message["From"]
        # The same call without the relay's settings: PHP's mail() has no transport, nothing leaves.
        unset = ("env", "-u", "STORESTACK_SMTP_HOST", "php", "-r", reset)
        assert real_cluster.kubectl(*exec_wp, *unset).split()[-1] != "true"  # a WP_Error: not sent
        time.sleep(2)
        assert len(sink.messages) == 2

        marker = f"kept-{secrets.token_hex(4)}"
        real_cluster.kubectl(*exec_wp, "sh", "-c", f"echo {marker} > /var/www/html/wp-content/{marker}.txt")
        claims = _uids(real_cluster, namespace)
        assert set(claims) == {"mysql-data", "wordpress-data"}

        def grown(data: dict[str, Any]) -> None:
            data.update(mail=relay)
            data["storage"]["wordpress_size"] = "2Gi"

        bigger = _env_file(tmp_path, "bigger", grown)
        with pytest.raises(InvalidSpecError, match="StorageClass local-path does not allow volume expansion"):
            Fleet(config.model_copy(update={"environment": bigger})).up(spec)
        assert _uids(real_cluster, namespace) == claims
        assert (
            real_cluster.kubectl(*exec_wp, "cat", f"/var/www/html/wp-content/{marker}.txt").strip() == marker
        )
        fleet.up(spec)  # the environment it was made with: converges as before
    finally:
        sink.stop()
        fleet.destroy(name)
