"""The environment files and their validation: every error names the file and the dotted field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import environments
from environments import EnvironmentError, load
from environments.model import byte_count, cpu_cores

PACKAGED = Path(environments.__file__).parent


def sim_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PACKAGED / "sim.yaml").read_text())
    return data


def write(tmp_path: Path, data: Any, name: str = "custom.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def load_error(tmp_path: Path, data: Any) -> EnvironmentError:
    path = write(tmp_path, data)
    with pytest.raises(EnvironmentError) as caught:
        load(path)
    assert str(caught.value).startswith(path + ":"), str(caught.value)
    return caught.value


def test_all_packaged_environments_load() -> None:
    assert environments.available() == ["local", "prod", "realnode", "sim"]
    for name in environments.available():
        env = load(name)
        assert env.name == name


def test_sim_matches_the_simulated_cluster() -> None:
    env = load("sim")
    assert env.domain == "sim.storestack.test"
    assert env.scheme == "http"
    assert env.ingress.class_name == "nginx"
    assert env.ingress.await_ready is False
    assert env.ingress.tls_issuer is None
    assert env.storage.class_name == "standard"
    assert env.readiness.http_check is False
    assert env.host("shop") == "shop.sim.storestack.test"


def test_prod_is_https_with_cert_manager_on_k3s() -> None:
    env = load("prod")
    assert env.scheme == "https"
    assert env.domain == "stores.example.com"
    assert env.ingress.tls_issuer == "letsencrypt-prod"
    assert env.ingress.class_name == "traefik"
    assert env.ingress.await_ready is True
    assert env.storage.class_name == "local-path"
    assert env.readiness.http_check is True
    # Larger than the simulation.
    sim = load("sim")
    assert byte_count(env.storage.mysql_size) > byte_count(sim.storage.mysql_size)
    assert byte_count(env.quota.limits_memory) > byte_count(sim.quota.limits_memory)


def test_local_is_plain_http_with_nginx() -> None:
    env = load("local")
    assert env.scheme == "http"
    assert env.ingress.tls_issuer is None
    assert env.ingress.class_name == "nginx"
    assert env.storage.class_name == "standard"
    assert env.readiness.http_check is True


def test_images_are_official_and_pinned(env_name: str) -> None:
    env = load(env_name)
    images = env.images
    for image in (images.wordpress, images.wordpress_cli, images.mysql):
        repo, tag = image.rsplit(":", 1)
        assert tag and tag != "latest"
        assert repo in ("wordpress", "mysql")
    assert images.wordpress.endswith("-apache")
    assert images.wordpress_cli.startswith("wordpress:cli-")


def test_load_accepts_a_path(tmp_path: Path) -> None:
    env = load(write(tmp_path, sim_data()))
    assert env.name == "sim"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(EnvironmentError) as caught:
        load("staging")
    message = str(caught.value)
    assert message.startswith("environments/staging.yaml:")
    assert "local, prod, realnode, sim" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(EnvironmentError, match=r"nope\.yaml: no such file"):
        load(missing)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "name: sim\nstorage: [unclosed\n")
    assert "invalid YAML" in str(error)
    assert "line" in str(error)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    error = load_error(tmp_path, "- just\n- a list\n")
    assert "mapping" in str(error)


def test_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    data = sim_data()
    data["storage"]["sizee"] = "1Gi"
    error = load_error(tmp_path, data)
    assert "storage.sizee: unknown field" in str(error)
    assert error.problems == [("storage.sizee", "unknown field (not part of the environment model)")]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    data = sim_data()
    data["colour"] = "blue"
    assert "colour: unknown field" in str(load_error(tmp_path, data))


def test_missing_field_is_named(tmp_path: Path) -> None:
    data = sim_data()
    del data["images"]["mysql"]
    assert "images.mysql: required field is missing" in str(load_error(tmp_path, data))


def test_bad_quantity_names_the_field(tmp_path: Path) -> None:
    data = sim_data()
    data["storage"]["mysql_size"] = "2 Gi"
    error = load_error(tmp_path, data)
    assert "storage.mysql_size: '2 Gi' is not a memory/storage quantity" in str(error)


def test_latest_tag_is_rejected(tmp_path: Path) -> None:
    data = sim_data()
    data["images"]["mysql"] = "mysql:latest"
    error = load_error(tmp_path, data)
    assert "images.mysql:" in str(error)
    assert "latest" in str(error)


def test_untagged_image_is_rejected(tmp_path: Path) -> None:
    data = sim_data()
    data["images"]["wordpress"] = "wordpress"
    assert "images.wordpress: 'wordpress' has no tag" in str(load_error(tmp_path, data))


def test_registry_port_is_not_a_tag(tmp_path: Path) -> None:
    data = sim_data()
    data["images"]["mysql"] = "registry.local:5000/mysql"
    assert "images.mysql:" in str(load_error(tmp_path, data))
    data["images"]["mysql"] = "registry.local:5000/mysql:8.4.7"
    assert load(write(tmp_path, data)).images.mysql == "registry.local:5000/mysql:8.4.7"


def test_digest_pinned_image_is_accepted(tmp_path: Path) -> None:
    data = sim_data()
    data["images"]["mysql"] = "mysql@sha256:" + "a" * 64
    assert load(write(tmp_path, data)).images.mysql.startswith("mysql@sha256:")


def test_unpinned_woocommerce_version(tmp_path: Path) -> None:
    data = sim_data()
    data["woocommerce_version"] = "latest"
    assert "woocommerce_version: 'latest' is not a pinned version" in str(load_error(tmp_path, data))


def test_list_items_are_named_by_index(tmp_path: Path) -> None:
    data = sim_data()
    data["network_policy"]["internet_egress"]["ports"] = [443, 70000]
    error = load_error(tmp_path, data)
    assert "network_policy.internet_egress.ports: 70000 is not a TCP port" in str(error)


def test_bad_cidr(tmp_path: Path) -> None:
    data = sim_data()
    data["network_policy"]["internet_egress"]["cidrs"] = ["0.0.0.0/33"]
    assert "network_policy.internet_egress.cidrs: '0.0.0.0/33' is not a CIDR" in str(
        load_error(tmp_path, data)
    )


def test_except_cidr_must_lie_inside_an_allowed_cidr(tmp_path: Path) -> None:
    data = sim_data()
    data["network_policy"]["internet_egress"]["cidrs"] = ["8.8.0.0/16"]
    error = load_error(tmp_path, data)
    assert "network_policy.internet_egress.except_cidrs: 10.0.0.0/8 is not strictly inside" in str(error)


def test_quota_must_fit_all_containers_at_once(tmp_path: Path) -> None:
    data = sim_data()
    data["quota"]["limits_memory"] = "512Mi"  # mysql 256 + wordpress 256 + setup 256 + cron 32 = 800Mi
    error = load_error(tmp_path, data)
    assert "quota.limits_memory: is less than the limits of mysql + wordpress + setup + cron" in str(error)
    assert "800Mi" in str(error)


def test_requests_must_not_exceed_limits(tmp_path: Path) -> None:
    data = sim_data()
    data["resources"]["mysql"]["requests"]["cpu"] = "2"
    assert "resources.mysql.requests.cpu: is more than limits.cpu" in str(load_error(tmp_path, data))


def test_pvc_must_fit_limit_range_and_storage_quota(tmp_path: Path) -> None:
    data = sim_data()
    data["storage"]["wordpress_size"] = "5Gi"
    message = str(load_error(tmp_path, data))
    assert "storage.wordpress_size: 5Gi is more than limit_range.max_pvc_storage" in message
    assert "quota.requests_storage: is less than the two PVCs together" in message


def test_tls_issuer_needs_https(tmp_path: Path) -> None:
    data = sim_data()
    data["ingress"]["tls_issuer"] = "letsencrypt-prod"
    assert "ingress.tls_issuer: a TLS issuer is set but scheme is 'http'" in str(load_error(tmp_path, data))


def test_woocommerce_setup_is_on_in_the_shipped_environments_and_by_default(tmp_path: Path) -> None:
    for name in ("sim", "local", "prod"):
        assert load(name).woocommerce_setup is True
    data = sim_data()
    del data["woocommerce_setup"]
    assert load(write(tmp_path, data)).woocommerce_setup is True


def test_woocommerce_setup_can_be_turned_off_without_the_storefront_check(tmp_path: Path) -> None:
    data = sim_data()
    data["woocommerce_setup"] = False
    assert data["readiness"]["http_check"] is False
    assert load(write(tmp_path, data)).woocommerce_setup is False


def test_woocommerce_setup_off_is_rejected_with_the_storefront_check(tmp_path: Path) -> None:
    data = yaml.safe_load((PACKAGED / "local.yaml").read_text())
    data["woocommerce_setup"] = False  # local's readiness.http_check is true: it needs the Store API
    error = load_error(tmp_path, data)
    assert [path for path, _ in error.problems] == ["woocommerce_setup"]
    assert "woocommerce_setup: is false but readiness.http_check is true" in str(error)


def test_woocommerce_setup_must_be_a_boolean(tmp_path: Path) -> None:
    data = sim_data()
    data["woocommerce_setup"] = "sometimes"
    assert "woocommerce_setup:" in str(load_error(tmp_path, data))


def test_pulumi_annotations_are_reserved(tmp_path: Path) -> None:
    data = sim_data()
    data["ingress"]["annotations"] = {"pulumi.com/skipAwait": "true"}
    assert "ingress.annotations:" in str(load_error(tmp_path, data))


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    data = sim_data()
    data["scheme"] = "ftp"
    data["quota"]["pods"] = 0
    error = load_error(tmp_path, data)
    paths = {path for path, _ in error.problems}
    assert {"scheme", "quota.pods"} <= paths
    assert len(str(error).splitlines()) == len(error.problems)


def test_bad_pod_security_level(tmp_path: Path) -> None:
    data = sim_data()
    data["pod_security"]["enforce"] = "strict"
    assert "pod_security.enforce:" in str(load_error(tmp_path, data))


def test_quantities() -> None:
    assert cpu_cores("250m") == Decimal("0.25")
    assert cpu_cores("2") == 2
    assert byte_count("1Gi") == 2**30
    assert byte_count("100M") == 10**8
    with pytest.raises(ValueError):
        cpu_cores("1 core")
    with pytest.raises(ValueError):
        byte_count("1GB")


def test_web_and_cron_default_and_reject_bad_values(tmp_path: Path) -> None:
    env = environments.load("sim")
    assert (env.web.upload_max_size, env.cron.schedule) == ("64Mi", "*/5 * * * *")
    data = sim_data()
    data["cron"] = {"schedule": "every 5 minutes"}
    assert "cron.schedule: 'every 5 minutes' is not a five-field cron expression" in str(
        load_error(tmp_path, data)
    )
    data = sim_data()
    data["web"] = {"upload_max_size": "64 MB"}
    assert "web.upload_max_size" in str(load_error(tmp_path, data))


@pytest.mark.parametrize(
    ("readiness", "path", "message"),
    [
        ({"check_through": "ingress", "ingress_address": "10.88.0.300"}, "readiness.ingress_address", "IPv4"),
        ({"check_through": "ingress", "ingress_address": "10.88.0.1:0"}, "readiness.ingress_address", "port"),
        (
            {"check_through": "service", "ingress_address": "10.88.0.1"},
            "readiness.ingress_address",
            "not 'ingress'",
        ),
    ],
)
def test_the_ingress_address_is_an_address_and_only_for_ingress_checks(
    tmp_path: Path, readiness: dict[str, str], path: str, message: str
) -> None:
    data = environments.load("realnode").model_dump(mode="json")
    data["readiness"].update(readiness)
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(data))
    with pytest.raises(environments.EnvironmentError) as info:
        environments.load(str(file))
    assert any(p == path and message in m for p, m in info.value.problems), info.value.problems


def test_the_real_node_serves_stores_through_prods_ingress_less_tls() -> None:
    """Same class, annotations, controller selector and await as k3s's prod; no cert-manager there."""
    prod, real = load("prod").ingress, load("realnode").ingress
    assert real.model_dump(exclude={"tls_issuer"}) == prod.model_dump(exclude={"tls_issuer"})
    assert real.tls_issuer is None and prod.tls_issuer
