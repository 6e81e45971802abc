"""infra/: every manifest parses and passes the schemas to be had offline: Kubernetes' own (kubernetes-validate)
for the core kinds and for every pod template inside the KubeRay resources, and a schema of the KubeRay fields
these files use (ray.io/v1, KubeRay >= 1.5.1) that refuses unknown or misspelt fields. The image they name,
the Ray version and the token Secret agree across files."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import ray
import yaml

from tests.support.cli import REPO

INFRA = REPO / "infra"
MANIFESTS = sorted([*INFRA.glob("kuberay/*.yaml"), *INFRA.glob("prefect/*.yaml")])
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to work on (infra/README.md)

STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT = {"type": "object"}
GROUP = {"type": "object", "required": ["template"], "additionalProperties": False, "properties": {
    "groupName": {"type": "string"}, "replicas": {"type": "integer", "minimum": 0},
    "minReplicas": {"type": "integer", "minimum": 0}, "maxReplicas": {"type": "integer", "minimum": 0},
    "rayStartParams": STRING_MAP, "template": OBJECT, "serviceType": {"type": "string"},
    "numOfHosts": {"type": "integer"}, "idleTimeoutSeconds": {"type": "integer"}, "suspend": {"type": "boolean"},
    "headService": OBJECT, "enableIngress": {"type": "boolean"}, "scaleStrategy": OBJECT}}
RAY_CLUSTER_SPEC = {"type": "object", "required": ["headGroupSpec"], "additionalProperties": False, "properties": {
    "rayVersion": {"type": "string"}, "enableInTreeAutoscaling": {"type": "boolean"},
    "autoscalerOptions": OBJECT, "headServiceAnnotations": STRING_MAP, "suspend": {"type": "boolean"},
    "authOptions": {"type": "object", "additionalProperties": False, "properties": {
        "mode": {"enum": ["disabled", "token"]}, "secretName": {"type": "string"},
        "enableK8sTokenAuth": {"type": "boolean"}}},
    "headGroupSpec": GROUP,
    "workerGroupSpecs": {"type": "array", "items": {**GROUP, "required": ["groupName", "template"]}}}}
KUBERAY = {
    "RayCluster": RAY_CLUSTER_SPEC,
    "RayJob": {"type": "object", "required": ["entrypoint"], "additionalProperties": False, "properties": {
        "entrypoint": {"type": "string"}, "clusterSelector": STRING_MAP, "rayClusterSpec": RAY_CLUSTER_SPEC,
        "submissionMode": {"enum": ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]},
        "backoffLimit": {"type": "integer", "minimum": 0}, "submitterPodTemplate": OBJECT,
        "shutdownAfterJobFinishes": {"type": "boolean"}, "ttlSecondsAfterFinished": {"type": "integer"},
        "activeDeadlineSeconds": {"type": "integer"}, "runtimeEnvYAML": {"type": "string"},
        "suspend": {"type": "boolean"}}},
}


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_templates(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    if doc["kind"] == "RayCluster":
        return [spec["headGroupSpec"]["template"], *(g["template"] for g in spec.get("workerGroupSpecs", []))]
    if doc["kind"] == "RayJob":
        return [spec["submitterPodTemplate"]] if "submitterPodTemplate" in spec else []
    return []


def containers(doc: dict) -> list[dict]:
    templates = [doc["spec"]["template"]] if doc["kind"] == "Deployment" else pod_templates(doc)
    return [c for t in templates for c in t["spec"]["containers"]]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_each_manifest_passes_its_schema(path):
    for doc in documents(path):
        if doc["apiVersion"] == "ray.io/v1":
            jsonschema.validate(doc["spec"], KUBERAY[doc["kind"]])
            for template in pod_templates(doc):
                kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate",
                                              "metadata": {"name": "t"}, "template": template},
                                             K8S_VERSION, strict=True)
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_a_misspelt_field_is_caught():
    doc = documents(INFRA / "kuberay" / "raycluster.yaml")[0]
    doc["spec"]["workerGroupSpecs"][0]["maxReplica"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc["spec"], KUBERAY["RayCluster"])
    template = doc["spec"]["headGroupSpec"]["template"]
    template["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                                      "template": template}, K8S_VERSION, strict=True)


def test_the_files_agree_on_image_ray_version_and_token_secret():
    docs = [doc for path in MANIFESTS for doc in documents(path)]
    images = {c["image"] for doc in docs for c in containers(doc)}
    assert len(images) == 1, images
    (cluster,) = [doc for doc in docs if doc["kind"] == "RayCluster"]
    assert cluster["spec"]["rayVersion"] == ray.__version__
    assert cluster["spec"]["authOptions"] == {"mode": "token", "secretName": "lontar-ray-token"}
    (job,) = [doc for doc in docs if doc["kind"] == "RayJob"]
    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": cluster["metadata"]["name"]}
    worker = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "lontar-worker")
    command = " ".join(worker["spec"]["template"]["spec"]["containers"][0]["command"])
    assert f"--ray-address {cluster['metadata']['name']}-head-svc:6379" in command
    token = [e for c in containers(worker) for e in c.get("env", []) if e["name"] == "RAY_AUTH_TOKEN"]
    assert token[0]["valueFrom"]["secretKeyRef"] == {"name": "lontar-ray-token", "key": "auth_token"}


def test_the_image_installs_every_language_pack_and_the_project_lists():
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert "tesseract-ocr-all" in dockerfile and "infra/apt-packages.txt" in dockerfile
    for package in ("flows", "actors", "configs", "ocr_models"):
        assert f"COPY {package} {package}" in dockerfile
    assert "--no-binary tesserocr" in dockerfile  # links Debian's Tesseract, as `make` does
