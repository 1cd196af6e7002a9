"""The object-store role: MinIO (the seed's choice, frozen upstream) and Garage (maintained).

Both are rendered for two environments and validated with the real tools. The targeted checks follow
the contract every consumer codes against: S3_ENDPOINT_URL names the rendered Service's `s3` port,
credentials arrive only by Secret reference (the dependant's own `<provider>-<dependant>`), the PostSync Job
creates the shared datasets bucket and each dependant's own bucket and key, and the generated NetworkPolicy lets a dependant reach the
provider's S3 port — for whichever provider the spec picks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.errors import SpecError, TemplateError
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.loader import read_yaml, validate_model
from bbgen.spec.models import Platform

from support import MINIMAL_SPEC

Doc = dict[str, Any]
NS = "storage"
PROVIDERS = ("minio", "garage")
CONTRACT_ENV = {"S3_ENDPOINT_URL", "AWS_REGION", "S3_BUCKET", "S3_BUCKET_ARTIFACTS", "S3_BUCKET_DATASETS"}
CONTRACT_SECRET_ENV = {"AWS_ACCESS_KEY_ID": "access-key-id", "AWS_SECRET_ACCESS_KEY": "secret-access-key"}

BASE = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
apps:
  xyz: {image: "registry.example.org/x:1", dependsOn: [object-store]}
"""

BOTH_SPEC = BASE + """\
objectStore: garage
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  minio: {}
  garage: {storage: 120Gi, settings: {datasetsBucket: ml-datasets}}
"""

MINIO_SPEC = BASE + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  minio: {storage: 300Gi, settings: {datasetsBucket: ml-datasets}}
"""

GARAGE_SPEC = BASE + """\
components:
  garage: {storage: 100Gi}
"""

BUCKETS = "ml-datasets"


def _tree(write_spec: Callable[[str], Path], text: str) -> Tree:
    return build_tree(load_platform(write_spec(text)))


def _docs(tree: Tree, prefix: str) -> list[Doc]:
    out = []
    for path, data in sorted(tree.files.items()):
        if path.startswith(prefix) and path.endswith(".yaml") and not path.endswith("kustomization.yaml"):
            out += [d for d in yaml.safe_load_all(data) if isinstance(d, dict)]
    return out


def _base(tree: Tree, component: str) -> dict[tuple[str, str], Doc]:
    return {(d["kind"], d["metadata"]["name"]): d for d in _docs(tree, f"components/{component}/base/")}


def _container(workload: Doc, index: int = 0) -> Doc:
    return workload["spec"]["template"]["spec"]["containers"][index]


def _env(container: Doc) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _named_ports(container: Doc) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def _validate_clean(tree: Tree, out: Path) -> Any:
    write_tree(tree, out)
    report = api.validate(out)
    errors = [f for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(f"{f.check} {f.file} {f.resource}: {f.message}" for f in errors)
    return report


# --- the whole thing validates ------------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.usefixtures("tools")
def test_both_providers_render_and_validate_clean(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    report = _validate_clean(_tree(write_spec, BOTH_SPEC), tmp_path / "out")
    # the consumer gets its own key of the chosen provider only; no shared client key anywhere
    assert {"storage/garage-xyz", "storage/garage-secrets", "apps/garage-xyz", "storage/minio-root"} <= set(report.required_secrets)
    assert not {s for s in report.required_secrets if s.startswith("apps/minio-") or s.endswith("-client")}


@pytest.mark.tools
@pytest.mark.usefixtures("tools")
def test_minio_alone_validates_clean_and_is_flagged_frozen(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    report = _validate_clean(_tree(write_spec, MINIO_SPEC), tmp_path / "out")
    assert {"apps/minio-xyz", "storage/minio-xyz"} <= set(report.required_secrets)
    frozen = [f for f in report.findings if f.check == "deprecated" and "minio" in f.resource.lower()]
    assert frozen and all(f.severity == "warning" for f in frozen)


@pytest.mark.tools
def test_minio_console_redirect_follows_the_environment(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec, MINIO_SPEC), out)
    done = subprocess.run([tools["kustomize"], "build", str(out / "components/minio/overlays/staging")], capture_output=True, text=True, check=True)
    sts = next(d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "StatefulSet")
    assert _env(_container(sts))["MINIO_BROWSER_REDIRECT_URL"] == "https://minio.staging.demo.example.org"


# --- the role contract --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_expose_is_exactly_the_contract(provider: str) -> None:
    comp = load_catalog()[provider]
    assert comp.provides == ["object-store"]
    assert comp.namespace == NS and comp.domain == NS
    assert set(comp.expose.env) == CONTRACT_ENV
    assert {k: (v.secret, v.key) for k, v in comp.expose.secret_env.items()} == {
        k: (f"{provider}-{{{{ dependant }}}}", key) for k, key in CONTRACT_SECRET_ENV.items()
    }
    assert [s.name for s in comp.consumer_secrets] == [f"{provider}-{{{{ dependant }}}}"]
    assert not [s for s in comp.secrets if s.name == f"{provider}-client"]
    assert comp.expose.env["S3_BUCKET"] == comp.expose.env["S3_BUCKET_ARTIFACTS"] == "{{ dependant }}"
    assert "artifactsBucket" not in comp.defaults.settings
    assert comp.defaults.settings["datasetsBucket"] == "datasets"
    assert comp.defaults.settings["region"] == {"minio": "us-east-1", "garage": "garage"}[provider]
    assert (comp.host, "http" in comp.ports) == ({"minio": ("minio", True), "garage": (None, False)}[provider])


@pytest.mark.parametrize(
    ("spec", "provider", "buckets"),
    [
        (BOTH_SPEC, "garage", BUCKETS),
        (MINIO_SPEC, "minio", BUCKETS),
        (BOTH_SPEC.replace("objectStore: garage", "objectStore: minio"), "minio", "datasets"),
        (GARAGE_SPEC, "garage", "datasets"),
    ],
)
def test_consumer_is_wired_to_the_chosen_provider(write_spec: Callable[[str], Path], spec: str, provider: str, buckets: str) -> None:
    tree = _tree(write_spec, spec)
    base = _base(tree, provider)
    service = base[("Service", provider)]
    s3 = next(p for p in service["spec"]["ports"] if p["name"] == "s3")
    workload = base[("StatefulSet", provider)]
    pod_ports = _named_ports(_container(workload))
    assert s3["targetPort"] == "s3" and pod_ports["s3"] == s3["port"]

    env = _env(_container(_base(tree, "xyz")[("Deployment", "xyz")]))
    assert env["S3_ENDPOINT_URL"] == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{s3['port']}"
    assert env["AWS_REGION"] == {"minio": "us-east-1", "garage": "garage"}[provider]
    assert env["S3_BUCKET_DATASETS"] == buckets
    assert env["S3_BUCKET"] == env["S3_BUCKET_ARTIFACTS"] == "xyz"  # its own bucket, named after it
    for name, key in CONTRACT_SECRET_ENV.items():
        assert env[name] == {"secretKeyRef": {"name": f"{provider}-xyz", "key": key}}

    def from_x(rule: Doc) -> bool:
        return any(
            peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "apps"
            and peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "xyz"
            for peer in rule.get("from", [])
        )

    # the generated NetworkPolicy admits xyz (namespace apps) to the chosen provider's S3 pod port, in every environment
    other = "minio" if provider == "garage" else "garage"
    for env_name in ("prod", "staging"):
        policies = {d["metadata"]["name"]: d for d in _docs(tree, f"platform/{env_name}/") if d["kind"] == "NetworkPolicy" and d["metadata"].get("namespace") == NS}
        policy = policies[f"allow-{provider}"]
        assert policy["spec"]["podSelector"]["matchLabels"] == workload["spec"]["selector"]["matchLabels"]
        rules = [r for r in policy["spec"]["ingress"] if from_x(r)]
        assert rules and any({"protocol": "TCP", "port": pod_ports["s3"]} in r["ports"] for r in rules)
        if f"allow-{other}" in policies:
            assert not any(from_x(r) for r in policies[f"allow-{other}"]["spec"].get("ingress", []))


# --- the PostSync Jobs ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_setup_job_creates_the_configured_buckets_and_key(write_spec: Callable[[str], Path], provider: str) -> None:
    spec = BOTH_SPEC.replace("  minio: {}", "  minio: {settings: {datasetsBucket: ml-datasets}}")
    spec = spec.replace("objectStore: garage", f"objectStore: {provider}")
    tree = _tree(write_spec, spec)
    base = _base(tree, provider)
    job = base[("Job", f"{provider}-setup")]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    pod = job["spec"]["template"]
    # the Job's pods are not selected by the provider's Service
    service = base[("Service", provider)]
    assert not all(pod["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items())
    container = _container(job)
    env = _env(container)
    assert env["DATASETS_BUCKET"] == BUCKETS and env["DEPENDANTS"] == "xyz"
    # the dependant's own key, mounted from its own Secret (never in the env)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounts["/credentials/xyz"]["secret"]["secretName"] == f"{provider}-xyz"
    script = container["command"][-1]
    s3_port = _named_ports(_container(base[("StatefulSet", provider)]))
    if provider == "minio":
        assert env["MINIO_URL"] == f"http://minio.storage.svc.cluster.local:{s3_port['s3']}"
        assert env["MINIO_ROOT_PASSWORD"] == {"secretKeyRef": {"name": "minio-root", "key": "root-password"}}
        for step in ("mc mb --ignore-existing", "mc admin policy create", "mc admin user add", "mc admin policy attach"):
            assert step in script
        assert container["image"].startswith("quay.io/minio/mc:RELEASE.")
    else:
        assert env["ADMIN_URL"] == f"http://garage.storage.svc.cluster.local:{s3_port['admin']}"
        assert env["GARAGE_ADMIN_TOKEN"] == {"secretKeyRef": {"name": "garage-secrets", "key": "admin-token"}}
        assert env["CAPACITY"] == str(120 * 1024**3)  # the volume size, in bytes
        for endpoint in ("GetClusterStatus", "UpdateClusterLayout", "ApplyClusterLayout", "GetBucketInfo", "CreateBucket", "GetKeyInfo", "ImportKey", "AllowBucketKey"):
            assert f"/v2/{endpoint}" in script
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] and not sec["allowPrivilegeEscalation"] and sec["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["automountServiceAccountToken"] is False


# --- the servers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_is_hardened_probed_and_persistent(write_spec: Callable[[str], Path], provider: str) -> None:
    tree = _tree(write_spec, BOTH_SPEC)
    base = _base(tree, provider)
    sts = base[("StatefulSet", provider)]
    pod = sts["spec"]["template"]["spec"]
    container = _container(sts)
    ports = _named_ports(container)
    comp = load_catalog()[provider]
    assert ports == dict(comp.ports)
    # every Service port targets a port the container declares, with the same number
    for name in (provider, f"{provider}-headless"):
        for port in base[("Service", name)]["spec"]["ports"]:
            assert port["targetPort"] in ports and ports[port["targetPort"]] == port["port"]
    for probe in ("readinessProbe", "livenessProbe"):
        action = container[probe].get("httpGet") or container[probe]["tcpSocket"]
        assert action["port"] in ports
    if provider == "minio":
        assert container["readinessProbe"]["httpGet"]["path"] == "/minio/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] and not sec["allowPrivilegeEscalation"] and sec["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == "local-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == {"minio": "200Gi", "garage": "120Gi"}[provider]
    assert claim["metadata"]["name"] in {m["name"] for m in container["volumeMounts"]}
    assert sts["spec"]["replicas"] == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_credentials_only_by_reference(write_spec: Callable[[str], Path], provider: str) -> None:
    tree = _tree(write_spec, BOTH_SPEC)
    docs = _docs(tree, f"components/{provider}/")
    assert not [d for d in docs if d["kind"] == "Secret"]
    for doc in docs:
        if doc["kind"] not in ("StatefulSet", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                if any(word in var["name"] for word in ("PASSWORD", "SECRET", "TOKEN", "KEY", "ROOT_USER")):
                    assert "value" not in var and "secretKeyRef" in var["valueFrom"], var


def test_minio_root_credentials_and_region(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec, MINIO_SPEC), "minio")[("StatefulSet", "minio")]
    container = _container(sts)
    env = _env(container)
    assert env["MINIO_ROOT_USER"] == {"secretKeyRef": {"name": "minio-root", "key": "root-user"}}
    assert env["MINIO_ROOT_PASSWORD"] == {"secretKeyRef": {"name": "minio-root", "key": "root-password"}}
    assert env["MINIO_SITE_REGION"] == "us-east-1"
    assert env["MINIO_BROWSER_REDIRECT_URL"] == "https://minio.demo.example.org"
    args = container["args"]
    ports = _named_ports(container)
    assert args[args.index("--address") + 1] == f":{ports['s3']}"
    assert args[args.index("--console-address") + 1] == f":{ports['http']}"
    assert container["image"].startswith("quay.io/minio/minio:RELEASE.2025-")


def test_garage_config_wiring(write_spec: Callable[[str], Path]) -> None:
    spec = BOTH_SPEC.replace("garage: {storage: 120Gi, settings: {datasetsBucket: ml-datasets}}", "garage: {storage: 120Gi, settings: {datasetsBucket: ml-datasets, region: eu-central}}")
    tree = _tree(write_spec, spec)
    base = _base(tree, "garage")
    sts = base[("StatefulSet", "garage")]
    container = _container(sts)
    ports = _named_ports(container)
    env = _env(container)
    assert env["GARAGE_RPC_SECRET"] == {"secretKeyRef": {"name": "garage-secrets", "key": "rpc-secret"}}
    assert env["GARAGE_ADMIN_TOKEN"] == {"secretKeyRef": {"name": "garage-secrets", "key": "admin-token"}}
    config_path = env["GARAGE_CONFIG_FILE"]
    mount = next(m for m in container["volumeMounts"] if config_path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    config_map = base[("ConfigMap", volume["configMap"]["name"])]
    toml = config_map["data"][config_path.rsplit("/", 1)[1]]
    assert 'rpc_secret' not in toml and "admin_token" not in toml  # from the environment only
    assert f'api_bind_addr = "0.0.0.0:{ports["s3"]}"' in toml
    assert f'api_bind_addr = "0.0.0.0:{ports["admin"]}"' in toml
    assert f'rpc_bind_addr = "0.0.0.0:{ports["rpc"]}"' in toml
    assert 's3_region = "eu-central"' in toml
    assert "replication_factor = 1" in toml
    data_mount = next(m for m in container["volumeMounts"] if m["name"] == "data")["mountPath"]
    assert f'metadata_dir = "{data_mount}/meta"' in toml and f'data_dir = "{data_mount}/data"' in toml
    # the consumer signs with the region Garage checks
    assert _env(_container(_base(tree, "xyz")[("Deployment", "xyz")]))["AWS_REGION"] == "eu-central"


def test_garage_consumer_key_is_generated_in_garage_format() -> None:
    """Garage only accepts key ids of `GK` + 24 hex digits; bbgen generates exactly that, and the secret (32 bytes hex)."""
    import re

    from bbgen.secrets.generate import new_value
    from bbgen.render.inventory import KeyPlan

    secret = next(s for s in load_catalog()["garage"].consumer_secrets if s.name == "garage-{{ dependant }}")
    key = secret.keys["access-key-id"]
    assert (key.generate, key.length, key.prefix) == ("hex", 12, "GK")
    assert (secret.keys["secret-access-key"].generate, secret.keys["secret-access-key"].length) == ("hex", 32)
    rpc = next(s for s in load_catalog()["garage"].secrets if s.name == "garage-secrets").keys["rpc-secret"]
    assert (rpc.generate, rpc.length) == ("hex", 32)
    plan = KeyPlan(key="access-key-id", source="generate", generator="hex", length=12, prefix="GK")
    values = {new_value(plan) for _ in range(20)}
    assert len(values) == 20 and all(re.fullmatch(r"GK[0-9a-f]{24}", v) for v in values)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_more_than_one_replica_is_refused(write_spec: Callable[[str], Path], provider: str) -> None:
    spec = GARAGE_SPEC if provider == "garage" else MINIO_SPEC
    spec = spec.replace(f"  {provider}: {{", f"  {provider}: {{replicas: 4, ")
    path = write_spec(spec)
    with pytest.raises(SpecError) as caught:
        load_platform(path)  # the catalog's `scale` refuses it at the spec line
    (issue,) = caught.value.issues
    assert issue.path == f"components.{provider}.replicas" and f"{provider!r} runs exactly 1 replica, not 4" in issue.message
    with pytest.raises(TemplateError, match="replicas"):  # and the template still guards a spec that skipped the checks
        build_tree(validate_model(Platform, read_yaml(path)))


def test_bad_bucket_name_is_refused(write_spec: Callable[[str], Path]) -> None:
    path = write_spec(MINIO_SPEC.replace("datasetsBucket: ml-datasets", "datasetsBucket: Bad_Bucket"))
    with pytest.raises(SpecError) as caught:  # the catalog's settingRules refuse it at the spec line
        load_platform(path)
    (issue,) = caught.value.issues
    assert issue.path == "components.minio.settings.datasetsBucket" and "'Bad_Bucket' does not match" in issue.message
    with pytest.raises(TemplateError, match="Bad_Bucket"):  # the template keeps its guard
        build_tree(validate_model(Platform, read_yaml(path)))
