"""LLM servers, the three providers of the `llm` role: Ollama and llama.cpp on CPU, vLLM on a GPU pool.

Each spec is rendered for two environments and validated with the real tools. The targeted checks
hold the `llm` contract (LLM_BASE_URL / LLM_MODEL pointing at the rendered Service, port and served
model name), follow settings into the servers' arguments, and check GPU placement (device requests,
node selector, tolerations for the pool's taints) and the NetworkPolicy a consumer gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import dir_base as _base, kustomize_build as _kustomize, load as _load, one as _one

NS = "ai"
PROVIDERS = ["ollama", "llama-cpp", "vllm"]

ENVIRONMENTS = """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
"""

CPU_SPEC = MINIMAL_SPEC + ENVIRONMENTS + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  ollama: {settings: {model: "llama3.2:3b", contextLength: 8192}, public: true}
apps:
  api:
    image: registry.example.org/hadith/api:1.4.2
    namespace: hadith
    dependsOn: [llm]
"""

LLAMA_SPEC = MINIMAL_SPEC + ENVIRONMENTS + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  llama-cpp:
    public: true
    storage: 40Gi
    settings: {model: "bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", contextSize: 4096, threads: 6, parallel: 2}
apps:
  api:
    image: registry.example.org/hadith/api:1.4.2
    namespace: hadith
    dependsOn: [llm]
"""

GPU_POOL = """\
nodePools:
  workers: {count: 3}
  gpu:
    role: gpu
    count: 1
    gpusPerNode: 1
    taints: [{key: nvidia.com/gpu, value: "present", effect: NoSchedule}]
    labels: {pool: gpu}
"""

GPU_SPEC = MINIMAL_SPEC + GPU_POOL + """\
environments:
  prod: {}
  staging:
    cluster: "https://staging.example.org:6443"
    components:
      vllm: {resources: {requests: {memory: 12Gi}, limits: {memory: 24Gi}}}
llm: vllm
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  ollama: {host: ""}
  vllm: {settings: {model: "Qwen/Qwen2.5-7B-Instruct", maxModelLen: 16384}, public: true}
apps:
  api:
    image: registry.example.org/hadith/api:1.4.2
    namespace: hadith
    dependsOn: [llm]
"""


def _render(root: Path, text: str) -> Path:
    spec = root / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    out = root / "out"
    write_tree(build_tree(load_platform(spec)), out)
    return out


@pytest.fixture(scope="module")
def cpu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("llm-cpu"), CPU_SPEC)


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("llm-llama"), LLAMA_SPEC)


@pytest.fixture(scope="module")
def gpu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("llm-gpu"), GPU_SPEC)


def _pod(out: Path, component: str) -> dict[str, Any]:
    return _one(_base(out, component), "StatefulSet")["spec"]["template"]["spec"]


def _container(out: Path, component: str) -> dict[str, Any]:
    containers = _pod(out, component)["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _app_env(out: Path, app: str = "api") -> dict[str, Any]:
    deployment = _one(_base(out, app), "Deployment")
    return _env(deployment["spec"]["template"]["spec"]["containers"][0])


def _arg(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} not in {args}"
    return args[args.index(flag) + 1]


# --- the catalog's side of the contract ------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_provider_keeps_the_llm_contract(name: str) -> None:
    comp = load_catalog()[name]
    assert comp.provides == ["llm"]
    assert (comp.domain, comp.namespace, comp.host) == ("ai", "ai", "llm")
    assert "http" in comp.ports
    assert set(comp.expose.env) == {"LLM_BASE_URL", "LLM_MODEL"}
    # a server that checks an API key hands its dependants the key (tests/test_consumer_credentials_more.py)
    assert set(comp.expose.secret_env) <= {"LLM_API_KEY"}
    assert isinstance(comp.defaults.settings["model"], str) and comp.defaults.settings["model"]
    assert comp.gpu is (name == "vllm")
    assert comp.defaults.storage, "models live on a volume"


# --- the whole trees -------------------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.parametrize("tree", ["cpu", "llama", "gpu"])
def test_validate_is_clean(tree: str, request: pytest.FixtureRequest, tools: dict[str, str]) -> None:
    out = request.getfixturevalue(tree)
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


# --- wiring: consumers reach the chosen provider ---------------------------------------------


@pytest.mark.parametrize(("tree", "provider", "model"), [
    ("cpu", "ollama", "llama3.2:3b"),
    ("llama", "llama-cpp", "bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M"),
    ("gpu", "vllm", "Qwen/Qwen2.5-7B-Instruct"),
])
def test_consumer_gets_base_url_model_and_network_path(tree: str, provider: str, model: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(tree)
    service = _one(_base(out, provider), "Service", provider)
    assert service["metadata"]["namespace"] == NS
    port = {p["name"]: p["port"] for p in service["spec"]["ports"]}["http"]
    env = _app_env(out)
    assert env["LLM_BASE_URL"] == f"http://{provider}.{NS}.svc.cluster.local:{port}/v1"
    assert env["LLM_MODEL"] == model
    # The Service port is the container port the server listens on.
    container = _container(out, provider)
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}
    # The consumer's namespace may reach the provider's pods on that port, and only that one.
    for env_name in ("prod", "staging"):
        policy = _load(out / "platform" / env_name / f"networkpolicy-{NS}-allow-{provider}.yaml")
        rules = [r for r in policy["spec"]["ingress"] if any(p.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "hadith"} for p in r.get("from", []))]
        assert len(rules) == 1, policy
        assert rules[0]["ports"] == [{"protocol": "TCP", "port": port}]
        assert policy["spec"]["podSelector"]["matchLabels"] == _one(_base(out, provider), "StatefulSet")["spec"]["selector"]["matchLabels"]
    # The consumer syncs after its LLM server.
    def wave(name: str) -> int:
        return int(_load(out / "apps" / "prod" / f"{name}.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave("api") > wave(provider)


def test_gpu_spec_wires_only_the_chosen_provider(gpu: Path) -> None:
    # ollama runs too, but `llm: vllm` picks vLLM: nobody depends on ollama, and it has no public host.
    assert not (gpu / "platform" / "prod" / f"networkpolicy-{NS}-allow-ollama.yaml").exists()
    assert not [d for d in _base(gpu, "ollama") if d["kind"] == "Ingress"]
    ingress = _one(_base(gpu, "vllm"), "Ingress", "vllm")
    assert ingress["spec"]["rules"][0]["host"] == "llm.demo.example.org"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "vllm", "port": {"name": "http"}}


def test_public_host_follows_the_environment(cpu: Path, tools: dict[str, str]) -> None:
    for env_name, host in (("prod", "llm.demo.example.org"), ("staging", "llm.staging.demo.example.org")):
        ingress = _one(_kustomize(tools, cpu, "ollama", env_name), "Ingress", "ollama")
        assert ingress["spec"]["rules"][0]["host"] == host
        assert ingress["spec"]["tls"][0]["hosts"] == [host]


# --- settings flow into the servers ----------------------------------------------------------


def test_ollama_listens_everywhere_and_pulls_the_model_onto_its_volume(cpu: Path) -> None:
    container = _container(cpu, "ollama")
    env = _env(container)
    port = container["ports"][0]["containerPort"]
    assert env["OLLAMA_HOST"] == f"0.0.0.0:{port}"
    assert env["OLLAMA_CONTEXT_LENGTH"] == "8192"
    assert env["LLM_MODEL"] == "llama3.2:3b"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["OLLAMA_MODELS"].startswith(mounts["data"] + "/")
    assert env["HOME"] == mounts["data"]  # the server's identity key must be writable and persistent
    hook = container["lifecycle"]["postStart"]["exec"]["command"]
    assert hook[:2] == ["/bin/sh", "-c"]
    assert 'ollama pull "${LLM_MODEL}"' in hook[2]
    assert 'OLLAMA_HOST="127.0.0.1:${OLLAMA_HOST##*:}"' in hook[2]
    assert _pod(cpu, "ollama")["enableServiceLinks"] is False


def test_ollama_without_a_model_pulls_nothing(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + 'components:\n  ollama: {settings: {model: ""}, public: true}\n')
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    assert "lifecycle" not in _container(out, "ollama")


def test_llama_cpp_arguments_follow_settings(llama: Path) -> None:
    container = _container(llama, "llama-cpp")
    args = container["args"]
    port = container["ports"][0]["containerPort"]
    assert _arg(args, "--host") == "0.0.0.0"
    assert _arg(args, "--port") == str(port)
    assert _arg(args, "--hf-repo") == "bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M"
    assert _arg(args, "--alias") == _app_env(llama)["LLM_MODEL"]  # clients name the model the server answers to
    assert _arg(args, "--ctx-size") == "4096"
    assert _arg(args, "--threads") == "6"
    assert _arg(args, "--parallel") == "2"
    assert "--metrics" in args
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert _env(container)["LLAMA_CACHE"] == mounts["data"]
    claim = _one(_base(llama, "llama-cpp"), "StatefulSet")["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "40Gi"
    # The API key guards /metrics too (llama.cpp exempts /health and /models only): the scraper's own keyed job
    # scrapes it (tests/test_scrape_credentials.py), so the pod says it needs a key.
    metadata = _one(_base(llama, "llama-cpp"), "StatefulSet")["spec"]["template"]["metadata"]
    assert metadata["annotations"]["bbgen.dev/scrape-credential"] == "llama-cpp"
    assert _arg(args, "--api-key-file") == "/keys/api-keys"


def container_env_ref(container: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = next((e for e in container.get("env", []) if e["name"] == name), None)
    return found["valueFrom"]["secretKeyRef"] if found and "valueFrom" in found else None


def test_llama_cpp_without_its_api_key_is_scraped(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  llama-cpp: {settings: {apiKey: false}, public: true}\n")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    container = _container(out, "llama-cpp")
    assert "--api-key-file" not in container["args"] and container_env_ref(container, "LLAMA_API_KEY") is None
    annotations = _one(_base(out, "llama-cpp"), "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(container["ports"][0]["containerPort"])


def test_llama_cpp_threads_zero_leaves_the_choice_to_llama_cpp(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  llama-cpp: {settings: {threads: 0}, public: true}\n")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    assert "--threads" not in _container(out, "llama-cpp")["args"]


def test_vllm_serves_the_model_under_its_name(gpu: Path) -> None:
    container = _container(gpu, "vllm")
    args = container["args"]
    port = container["ports"][0]["containerPort"]
    assert container["command"] == ["vllm", "serve"]
    assert args[0] == "Qwen/Qwen2.5-7B-Instruct"
    assert _arg(args, "--served-model-name") == _app_env(gpu)["LLM_MODEL"]
    assert _arg(args, "--host") == "0.0.0.0"
    assert _arg(args, "--port") == str(port)
    assert _arg(args, "--max-model-len") == "16384"
    assert _arg(args, "--tensor-parallel-size") == "1"
    env = _env(container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["HF_HOME"].startswith(mounts["data"] + "/")
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "vllm-hf-token", "key": "token", "optional": True}}
    # A Service named vllm would otherwise inject VLLM_PORT=tcp://..., which vLLM refuses.
    assert _pod(gpu, "vllm")["enableServiceLinks"] is False


# --- GPU placement ---------------------------------------------------------------------------


def test_vllm_requests_gpus_and_lands_on_the_gpu_pool(gpu: Path, tools: dict[str, str]) -> None:
    for env_name in ("prod", "staging"):
        pod = _one(_kustomize(tools, gpu, "vllm", env_name), "StatefulSet")["spec"]["template"]["spec"]
        resources = pod["containers"][0]["resources"]
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
        assert resources["limits"]["memory"] == {"prod": "32Gi", "staging": "24Gi"}[env_name]
        assert resources["requests"]["cpu"] and resources["limits"]["memory"]
        assert pod["nodeSelector"] == {"pool": "gpu"}
        tolerations = pod["tolerations"]
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations
        assert len({yaml.safe_dump(t, sort_keys=True) for t in tolerations}) == len(tolerations), "duplicate tolerations"
        # Every taint of the pool is tolerated.
        for taint in ({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},):
            assert any(
                t["key"] == taint["key"] and t["effect"] == taint["effect"]
                and (t["operator"] == "Exists" or t.get("value") == taint["value"])
                for t in tolerations
            )
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
        assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]
    # The CPU servers stay off the GPU nodes.
    assert "nodeSelector" not in _pod(gpu, "ollama") and "tolerations" not in _pod(gpu, "ollama")


def test_vllm_other_pool_taints_and_gpu_count(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
nodePools:
  a100:
    role: gpu
    gpusPerNode: 2
    taints: [{key: nvidia.com/gpu, effect: NoSchedule}, {key: dedicated, value: ml, effect: NoExecute}]
components:
  vllm: {settings: {gpus: 2, maxModelLen: 0}, public: true}
""")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    pod = _pod(out, "vllm")
    container = pod["containers"][0]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert _arg(container["args"], "--tensor-parallel-size") == "2"
    assert "--max-model-len" not in container["args"]
    # A pool without labels: the GPU feature discovery label selects its nodes.
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute"},
    ]


def test_vllm_without_a_gpu_pool_is_a_spec_error(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  vllm: {public: true}\n")
    with pytest.raises(SpecError) as caught:
        load_platform(spec)
    assert caught.value.exit_code == 2
    assert any("GPU" in issue.message and "vllm" in issue.message for issue in caught.value.issues), str(caught.value)


def test_two_providers_need_a_choice(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
components:
  ollama: {host: ""}
  llama-cpp: {public: true}
apps:
  api: {image: "registry.example.org/api:1", dependsOn: [llm]}
""")
    with pytest.raises(SpecError) as caught:
        load_platform(spec)
    assert "llm" in str(caught.value)


# --- hardening -------------------------------------------------------------------------------


@pytest.mark.parametrize(("tree", "component"), [("cpu", "ollama"), ("llama", "llama-cpp"), ("gpu", "vllm")])
def test_pods_are_hardened_probed_and_keep_models_on_local_ssd(tree: str, component: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(tree)
    workload = _one(_base(out, component), "StatefulSet")
    pod = workload["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert not sc.get("privileged")
    # vLLM's kernel JIT compilers need a writable root filesystem (see its template); the CPU servers do not.
    assert sc["readOnlyRootFilesystem"] is (component != "vllm")
    ports = {p["name"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] in ports, (component, probe)
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600, "model downloads and loads take minutes"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    claims = workload["spec"]["volumeClaimTemplates"]
    assert [c["spec"]["storageClassName"] for c in claims] == ["local-ssd"]
    assert {c["metadata"]["name"] for c in claims} <= {m["name"] for m in container["volumeMounts"]}
    service = _one(_base(out, component), "Service", component)
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert all(p["targetPort"] == p["name"] for p in service["spec"]["ports"])
    assert not [d for d in _base(out, component) if d["kind"] == "Secret"]
