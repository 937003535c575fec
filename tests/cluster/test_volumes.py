"""Volume sizes on a real API server: an environment asking a store's volume to grow, shrink or move
never replaces its claim. Growing on a class that cannot expand, shrinking and moving are refused
with a message that says what to do, before anything changes; growing on a class that can expand
patches the claim in place (same uid). Then the store is deleted as usual."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import environments
from stacks import Fleet, FleetConfig, StoreSpec
from stacks.errors import InvalidSpecError
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

STORE = "vol1"
NAMESPACE = f"store-{STORE}"


def _claims(cluster: SimCluster) -> dict[str, tuple[str, str]]:
    items = json.loads(cluster.kubectl("get", "pvc", "-n", NAMESPACE, "-o", "json"))["items"]
    return {
        c["metadata"]["name"]: (c["metadata"]["uid"], c["spec"]["resources"]["requests"]["storage"])
        for c in items
    }


def _env_file(tmp_path: Path, name: str, **storage: str) -> str:
    data = yaml.safe_load((Path(environments.__file__).parent / "sim.yaml").read_text())
    data["storage"].update(storage)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_volume_sizes_change_in_place_or_not_at_all(
    fleet_config: FleetConfig, sim_cluster: SimCluster, tmp_path: Path
) -> None:
    spec = StoreSpec(name=STORE)
    Fleet(fleet_config).up(spec)
    before = _claims(sim_cluster)
    assert {size for _, size in before.values()} == {"512Mi"}, before

    def up_with(**storage: str) -> None:
        env = _env_file(tmp_path, "changed", **storage)
        Fleet(fleet_config.model_copy(update={"environment": env})).up(spec)

    # The sim cluster's class cannot expand: refused, nothing changed.
    with pytest.raises(InvalidSpecError) as refused:
        up_with(mysql_size="1Gi")
    assert (
        "volume mysql-data is 512Mi; storage.mysql_size asks 1Gi, but StorageClass standard does not allow "
        "volume expansion (set it back to 512Mi" in str(refused.value)
    )
    with pytest.raises(
        InvalidSpecError,
        match=r"volume wordpress-data is 512Mi; storage\.wordpress_size asks 256Mi, but a volume cannot shr",
    ):
        up_with(wordpress_size="256Mi")
    with pytest.raises(InvalidSpecError, match=r"is on StorageClass standard; storage\.class_name asks fast"):
        up_with(class_name="fast")
    assert _claims(sim_cluster) == before

    sim_cluster.kubectl(
        "patch", "storageclass", "standard", "--type", "merge", "-p", '{"allowVolumeExpansion": true}'
    )
    try:
        up_with(mysql_size="1Gi")
        after = _claims(sim_cluster)
        assert after["mysql-data"] == (before["mysql-data"][0], "1Gi")  # the same claim, grown
        assert after["wordpress-data"] == before["wordpress-data"]
        up_with(mysql_size="1Gi")  # again: nothing to do
    finally:
        sim_cluster.kubectl(
            "patch",
            "storageclass",
            "standard",
            "--type",
            "json",
            "-p",
            '[{"op": "remove", "path": "/allowVolumeExpansion"}]',
        )
    # The environment it was created with asks less than the volume has now: refused, not shrunk.
    with pytest.raises(InvalidSpecError, match="cannot shrink"):
        Fleet(fleet_config).up(spec)
    Fleet(fleet_config).destroy(STORE)
    assert f"namespace/{NAMESPACE}" not in sim_cluster.kubectl("get", "namespaces", "-o", "name").split()
