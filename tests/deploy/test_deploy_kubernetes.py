"""deploy/kubernetes: every manifest validated against Kubernetes' own schemas (kubernetes-validate,
strict, offline), then the references between them and the scaling rules checked: several replicas only
on PostgreSQL, the SQLite variant one pod that never overlaps another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_tools import DEPLOY, IMAGE_UID, boot_env_names

K8S = DEPLOY / "kubernetes"
K8S_VERSION = "1.31.0"
"""The oldest Kubernetes these manifests are written for (autoscaling/v2, policy/v1, sizeLimit...)."""
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
VARIANTS = ("postgres", "sqlite")


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return data


def rendered(variant: str) -> dict[tuple[str, str], dict[str, Any]]:
    """What `kubectl apply -k` would send, keyed by (kind, name): the resources of the variant's
    kustomization, following directory references (no patches are used, so nothing else changes)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def walk(directory: Path) -> None:
        for entry in kustomization(directory)["resources"]:
            path = (directory / entry).resolve()
            if path.is_dir():
                walk(path)
                continue
            for doc in load(path):
                key = (doc["kind"], doc["metadata"]["name"])
                assert key not in out, f"{key} defined twice"
                out[key] = doc

    walk(K8S / variant)
    return out


def container(resources: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    (c,) = resources["Deployment", "satchel"]["spec"]["template"]["spec"]["containers"]
    assert isinstance(c, dict)
    return c


def env_names(c: dict[str, Any], resources: dict[tuple[str, str], dict[str, Any]]) -> set[str]:
    names = {e["name"] for e in c.get("env", [])}
    for source in c.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        names |= set(resources["ConfigMap", ref]["data"])
    return names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_is_valid(path: Path) -> None:
    for doc in load(path):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_validation_does_reject_a_broken_manifest() -> None:
    """The check above can fail: a misspelt field is refused in strict mode."""
    (doc,) = load(K8S / "postgres" / "pdb.yaml")
    doc["spec"]["minAvailabel"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_manifest_belongs_to_a_kustomization() -> None:
    listed = set()
    for k in K8S.rglob("kustomization.yaml"):
        for entry in kustomization(k.parent)["resources"]:
            path = (k.parent / entry).resolve()
            assert path.exists(), f"{k}: {entry} does not exist"
            listed.add(path)
    assert set(MANIFESTS) <= listed


@pytest.mark.parametrize("variant", VARIANTS)
def test_service_ingress_and_probes_line_up(variant: str) -> None:
    resources = rendered(variant)
    deployment = resources["Deployment", "satchel"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    c = container(resources)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    service = resources["Service", "satchel"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/api/health", "port": "http"}, probe
    ingress = resources["Ingress", "satchel"]
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "satchel"
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > 300


@pytest.mark.parametrize("variant", VARIANTS)
def test_pod_runs_as_the_image_user_with_a_read_only_root(variant: str) -> None:
    resources = rendered(variant)
    pod = resources["Deployment", "satchel"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    c = container(resources)
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/data", "/tmp"}
    assert not c["image"].endswith(":latest") and ":" in c["image"]
    assert env_names(c, resources) <= boot_env_names(), env_names(c, resources) - boot_env_names()


def test_postgres_variant_scales_out_on_shared_services() -> None:
    resources = rendered("postgres")
    deployment = resources["Deployment", "satchel"]
    c = container(resources)
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    # several pods only with PostgreSQL, one cache and one broker for all of them
    for name in ("SATCHEL_DB", "SATCHEL_CACHE_URL", "SATCHEL_BROKER_URL"):
        assert name in secrets and not secrets[name].get("optional"), name
    assert deployment["spec"]["replicas"] >= 2
    hpa = resources["HorizontalPodAutoscaler", "satchel"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "satchel"}
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = resources["PodDisruptionBudget", "satchel"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "a drain must be able to evict a pod"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_sqlite_variant_is_one_pod_on_a_volume() -> None:
    resources = rendered("sqlite")
    deployment = resources["Deployment", "satchel"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not {kind for kind, _ in resources} & {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
    c = container(resources)
    assert "SATCHEL_DB" not in env_names(c, resources)
    pod = deployment["spec"]["template"]["spec"]
    (data,) = [v for v in pod["volumes"] if v["name"] == "data"]
    claim = data["persistentVolumeClaim"]["claimName"]
    assert resources["PersistentVolumeClaim", claim]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]
