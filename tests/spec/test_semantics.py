"""Specs that parse and type-check but mean something impossible: each is refused at the line to fix.

Every case here was accepted before (issue #19, "accepted although wrong"); the
expectation is the exact located message `FILE:LINE:COL: path: message`, and the
CLI cases show that the refusal is exit 2 with nothing written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bbgen.errors import SpecError
from bbgen.spec import load_platform
from bbgen.spec.checks import CHECKS
from bbgen.spec.references import git_ref_problem, image_problem, quantity_value
from support import bbgen

BASE = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""


def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    return [str(i).removeprefix(f"{path}:") for i in caught.value.issues]


def accepted(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + textwrap.dedent(text), encoding="utf-8")
    load_platform(path)


# --------------------------------------------------------------------------- the registry


def test_every_check_is_registered_once_with_a_docstring() -> None:
    names = [c.run.__name__ for c in CHECKS]
    assert len(names) == len(set(names))
    assert all((c.run.__doc__ or "").strip() for c in CHECKS)
    assert {"requests_within_limits", "gpus_fit_the_pool", "replica_bounds", "ignored_fields", "tcp_exposures"} <= set(names)


def test_spec_package_names_no_component_and_imports_nothing_from_render() -> None:
    from bbgen.catalog import load_catalog

    root = Path(__file__).resolve().parents[2] / "src" / "bbgen" / "spec"
    names = set(load_catalog()) - {"gateway"}  # `gateway` is also a value of ingress.provider, the spec's own word
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "bbgen.render" not in text, source
        for name in names:
            for quoted in (f'"{name}"', f"'{name}'", f"`{name}`"):
                assert quoted not in text, (source, name)


# --------------------------------------------------------------------------- edge

def test_tcp_exposure_on_the_https_and_http_ports(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        ingress:
          tcp:
            - {port: 443, component: postgres, targetPort: 5432}
            - {port: 80, component: postgres}
            - {port: 5432, component: postgres}
        components:
          postgres: {}
        """)
    assert lines == [
        "7:14: ingress.tcp[0].port: TCP port 443 is the edge's HTTPS listener, which every public host shares"
        " (expose postgres on another port; targetPort may still be 5432)",
        "8:14: ingress.tcp[1].port: TCP port 80 is the edge's HTTP listener, which every public host shares"
        " (expose postgres on another port; targetPort may still be 80)",
        "8:14: ingress.tcp[1].port: 'postgres' has no port 80 (its ports: postgres 5432); set targetPort to one of them",
    ]


def test_domain_that_is_an_ip_address(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE.replace("demo.example.org", "192.0.2.10"), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:2:9: domain: '192.0.2.10' is an IP address, not a domain (public hosts are names under it, e.g. example.org)"
    ]
    lines = errors(tmp_path, "environments: {prod: {}, dev: {domain: 10.0.0.1}}\napps:\n  a: {image: 'r.example.org/a:1', host: 10.1.2.3}\n")
    assert lines == [
        "5:40: environments.dev.domain: '10.0.0.1' is an IP address, not a domain (public hosts are names under it, e.g. example.org)",
        "7:41: apps.a.host: '10.1.2.3' is an IP address, not a host name (certificates and routes need a DNS name)",
    ]


# --------------------------------------------------------------------------- resources


def test_requests_above_limits_in_components_apps_and_environments(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        components:
          postgres: {resources: {requests: {cpu: "2"}, limits: {cpu: 500m}}}
          redis: {resources: {limits: {memory: 64Mi}}}
        apps:
          api: {image: "registry.example.org/api:1.0", resources: {requests: {memory: 1Gi}}}
        environments:
          prod: {}
          dev:
            cluster: https://dev.example.org:6443
            components:
              api: {resources: {limits: {memory: 1Gi}}}
              postgres: {resources: {requests: {memory: 8Gi}}}
        """)
    assert lines == [
        "9:79: apps.api.resources.requests.memory: requests.memory 1Gi is above limits.memory 512Mi: Kubernetes refuses such a pod"
        " (lower the request or raise the limit)",
        "6:42: components.postgres.resources.requests.cpu: requests.cpu 2 is above limits.cpu 500m: Kubernetes refuses such a pod"
        " (lower the request or raise the limit)",
        "7:40: components.redis.resources.limits.memory: requests.memory 256Mi is above limits.memory 64Mi:"
        " Kubernetes refuses such a pod (lower the request or raise the limit)",
        # each environment's merged spec is checked in turn (prod first): dev's own problem comes after prod's
        "16:49: environments.dev.components.postgres.resources.requests.memory: requests.memory 8Gi is above limits.memory 4Gi"
        " in environment dev: Kubernetes refuses such a pod (lower the request or raise the limit)",
    ]
    # the environment's higher limit repairs the app there; the base still reports once, not per environment
    assert not any("environments.dev.components.api" in line for line in lines)


def test_zero_storage_volume_size_and_limit(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        storage:
          provisioner: kubernetes.io/no-provisioner
          volumes: [{name: v1, node: node-1, path: /data, size: 0Gi}]
        components:
          postgres: {storage: 0, resources: {limits: {memory: "0"}}}
        """)
    assert lines == [
        "7:57: storage.volumes[0].size: '0Gi' is no space at all: give a size above zero (e.g. 10Gi)",
        "9:23: components.postgres.storage: '0' is no space at all: give a size above zero (e.g. 10Gi)",
    ]
    lines = errors(tmp_path, "components:\n  postgres: {resources: {requests: {memory: \"0\"}, limits: {memory: 0Mi}}}\n")
    assert lines == [
        "6:68: components.postgres.resources.limits.memory: a limit of 0Mi leaves no room to run: give an amount above zero,"
        " or leave it out for the default"
    ]


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(("image", "why"), [
    ("UPPER CASE::::", "'UPPER CASE:::' is not a repository path"),
    ("registry.example.org/api", "it has no tag or digest"),
    ("registry.example.org/api:$(reboot)", "'$(reboot)' is not an image tag"),
    ("registry.example.org/api@sha256:abc", "digest 'sha256:abc' is not `algorithm:hex`"),
])
def test_app_image_must_be_a_reference_with_a_tag(tmp_path: Path, image: str, why: str) -> None:
    lines = errors(tmp_path, f"apps:\n  api: {{image: {image!r}}}\n")
    assert len(lines) == 1 and lines[0].startswith(f"6:16: apps.api.image: {image!r} is not an image reference: {why}"), lines


def test_component_version_is_a_tag_chart_version_or_revision(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        components:
          postgres: {version: "$(reboot)"}
          cert-manager: {version: "latest; rm -rf"}
          cluster-issuers: {version: "1.0"}
        """)
    assert lines == [
        "7:27: components.cert-manager.version: 'latest; rm -rf' is not a chart version (SemVer such as 1.20.2 or v1.21.2;"
        " the pinned one is v1.21.2)",
        "8:30: components.cluster-issuers.version: 'cluster-issuers' has no image of its own, so `version` would be ignored: remove it",
        "6:23: components.postgres.version: '$(reboot)' is not an image tag (letters, digits, '_', '.' and '-', not starting with"
        " '.' or '-', at most 128 characters); `version` is the tag of docker.io/library/postgres",
    ]
    accepted(tmp_path, "components:\n  postgres: {version: 18.4-trixie}\n  cert-manager: {version: v1.21.3}\n")


@pytest.mark.parametrize("branch", ["../../etc/passwd", "release/.hidden", "topic.lock", "-rf", "a//b", "end.", "HEAD"])
def test_gitops_branch_follows_git_ref_rules(tmp_path: Path, branch: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE.replace("repo: demo-gitops}", f"repo: demo-gitops, branch: {branch!r}}}"), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    (only,) = caught.value.issues
    assert (only.line, only.path) == (3, "gitops.branch")
    assert only.message.startswith(f"{branch!r} is not a branch name: ") and "check-ref-format" in only.message


def test_health_path_and_secret_key(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        apps:
          a: {image: "r.example.org/a:1", healthPath: "healthz now"}
          b: {image: "r.example.org/b:1", healthPath: ""}
          c:
            image: "r.example.org/c:1"
            secretEnv: [{name: TOKEN, secret: c-token, key: "{{7*7}}"}]
        """)
    assert lines == [
        "6:47: apps.a.healthPath: 'healthz now' is not an absolute URL path (it starts with '/' and holds no spaces, e.g. /healthz)",
        "7:47: apps.b.healthPath: '' is not an absolute URL path (it starts with '/' and holds no spaces, e.g. /healthz)",
        "10:53: apps.c.secretEnv[0].key: '{{7*7}}' is not a Secret key (letters, digits, '-', '_' and '.', at most 253 characters)",
    ]
    accepted(tmp_path, "apps:\n  a: {image: 'r.example.org/a:1', healthPath: '/api/health?full=1'}\n")


def test_reference_grammars() -> None:
    assert image_problem("docker.io/library/postgres:18.4") is None
    assert image_problem("localhost:5000/team/api:1") is None
    assert image_problem("ghcr.io/a/b@sha256:" + "0" * 64) is None
    assert image_problem("Registry.Example.org:443/a__b/c-d.e:v1_2") is None
    assert image_problem("ghcr.io/A/b:1") is not None
    assert git_ref_problem("release/1.2") is None
    assert git_ref_problem("a@{b") is not None and git_ref_problem("x y") is not None
    assert quantity_value("1.5Gi") == 1610612736 and quantity_value("250m") * 4 == 1 and quantity_value("1e3") is None


# --------------------------------------------------------------------------- GPUs, shared memory, replicas

GPU = """\
nodePools:
  gpu: {role: gpu, gpusPerNode: 2, taints: [{key: nvidia.com/gpu}]}
"""


def test_gpus_above_the_pools_gpus_per_node(tmp_path: Path) -> None:
    lines = errors(tmp_path, GPU + "components:\n  vllm: {settings: {gpus: 4}, public: true}\n")
    assert lines == [
        "8:27: components.vllm.settings.gpus: gpus: 4 GPUs per replica do not fit on one node of nodePools.gpu (2 per node),"
        " so the pod would never be scheduled: lower gpus or give the pool more gpusPerNode"
    ]
    assert errors(tmp_path, GPU + "components:\n  vllm: {settings: {gpus: 0}, public: true}\n") == [
        "8:27: components.vllm.settings.gpus: gpus: 0 leaves 'vllm' without a GPU: it needs 1 or more"
    ]
    accepted(tmp_path, GPU + "components:\n  vllm: {settings: {gpus: 2}, public: true}\n")


def test_shm_size_above_the_memory_limit(tmp_path: Path) -> None:
    lines = errors(tmp_path, GPU + textwrap.dedent("""\
        components:
          vllm: {settings: {shmSize: 64Gi}, public: true}
        environments:
          prod: {}
          big:
            cluster: https://big.example.org:6443
            components: {vllm: {resources: {limits: {memory: 128Gi}}}}
          small:
            cluster: https://small.example.org:6443
            components: {vllm: {resources: {requests: {memory: 4Gi}, limits: {memory: 8Gi}}}}
        """))
    assert lines == [
        "8:30: components.vllm.settings.shmSize: shmSize 64Gi is above the memory limit 32Gi: the volume is memory counted against"
        " the limit, so filling it kills the pod (lower shmSize or raise limits.memory)",
        "8:30: components.vllm.settings.shmSize: shmSize 64Gi is above the memory limit 8Gi in environment small: the volume is"
        " memory counted against the limit, so filling it kills the pod (lower shmSize or raise limits.memory)",
    ]
    # the default shmSize (2Gi) against a limit the spec lowers: located at that limit
    lines = errors(tmp_path, GPU + "components:\n  vllm: {resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}, public: true}\n")
    assert lines == [
        "8:64: components.vllm.resources.limits.memory: shmSize 2Gi is above the memory limit 1Gi: the volume is memory counted"
        " against the limit, so filling it kills the pod (lower shmSize or raise limits.memory)"
    ]
    assert errors(tmp_path, GPU + "components:\n  vllm: {settings: {shmSize: lots}, public: true}\n") == [
        "8:30: components.vllm.settings.shmSize: 'lots' is not a Kubernetes quantity (e.g. 2Gi)"
    ]


def test_replicas_the_templates_cannot_render(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        components:
          garage: {replicas: 3}
          elasticsearch: {replicas: 3}
        environments:
          prod: {}
          dev:
            cluster: https://dev.example.org:6443
            components: {garage: {replicas: 0}}
        """)
    assert lines == [
        "7:29: components.elasticsearch.replicas: 3 replicas of 'elasticsearch' need the certificates role: a cluster of several"
        " nodes needs transport certificates (or use one replica): enable cert-manager",
        "6:22: components.garage.replicas: 'garage' runs exactly 1 replica, not 3: garage renders a single node (a multi-node"
        " cluster needs every node in the layout and replication_factor above 1)",
        "12:37: environments.dev.components.garage.replicas: 'garage' runs exactly 1 replica, not 0: garage renders a single node"
        " (a multi-node cluster needs every node in the layout and replication_factor above 1)",
    ]
    accepted(tmp_path, "components:\n  cert-manager: {}\n  elasticsearch: {replicas: 3}\n  garage: {replicas: 1}\n")


# --------------------------------------------------------------------------- fields a component ignores


def test_fields_a_component_does_not_use(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        components:
          mlflow: {storage: 20Gi, public: true}
          postgres: {}
          minio: {}
          redis: {host: cache}
          qdrant: {host: "", basicAuth: {enabled: true}}
        """)
    assert lines == [
        "6:21: components.mlflow.storage: 'mlflow' keeps no persistent volume, so `storage` would be ignored: remove it"
        " (see `bbgen components`)",
        "9:17: components.redis.host: 'redis' serves no HTTP port, so a public host would route nowhere: remove `host`"
        " (raw TCP goes through ingress.tcp)",
        "10:43: components.qdrant.basicAuth.enabled: 'qdrant' has no public host, so basic auth would guard nothing:"
        " give it a `host` or remove `basicAuth`",
    ]


# --------------------------------------------------------------------------- the CLI: exit 2, located, nothing written


@pytest.mark.parametrize(("spec", "where"), [
    ("components:\n  garage: {replicas: 3}\n", ":6:22: components.garage.replicas: "),
    ("ingress: {tcp: [{port: 443, component: postgres}]}\ncomponents: {postgres: {}}\n", ":5:24: ingress.tcp[0].port: "),
    ("apps:\n  api: {image: 'UPPER CASE::::'}\n", ":6:16: apps.api.image: "),
])
def test_cli_refuses_with_exit_2_and_writes_nothing(tmp_path: Path, spec: str, where: str) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(BASE + spec, encoding="utf-8")
    out = tmp_path / "out"
    result = bbgen("render", str(path), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{path}{where}" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_setting_rules_the_catalog_declares(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        ingress: {provider: gateway, className: cilium}
        components:
          garage: {settings: {zone: "DC 1", datasetsBucket: ab}}
          argo-workflows: {settings: {authMode: sso}, public: true}
          cilium: {}
        """)
    assert [line for line in lines if "settings" in line or "cilium" in line] == [
        "8:41: components.argo-workflows.settings.authMode: 'sso' is not one of client, server"
        " (the Argo Server's auth modes bbgen renders)",
        "9:3: components.cilium: ingress.provider: gateway needs settings.k8sServiceHost of 'cilium' (Gateway API needs"
        " Cilium's kube-proxy replacement: set it to the API server's address)",
        "7:53: components.garage.settings.datasetsBucket: 'ab' does not match [a-z0-9][a-z0-9.-]{1,61}[a-z0-9] (an S3 bucket"
        " name is 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)",
        "7:29: components.garage.settings.zone: 'DC 1' does not match [a-z0-9_-]+ (garage's region and zone names hold only"
        " lowercase letters, digits, '-' and '_')",
    ]


def test_image_settings_and_storage_rules(tmp_path: Path) -> None:
    lines = errors(tmp_path, """\
        components:
          garage: {storage: 1.5Gi, settings: {curlImage: "curl; reboot"}}
        """)
    assert lines == [
        "6:50: components.garage.settings.curlImage: 'curl; reboot' is not an image reference: 'curl; reboot' is not a"
        " repository path (lower-case letters and digits, separated by '.', '_', '__' or '-', in '/'-separated parts)",
        "6:21: components.garage.storage: '1.5Gi' does not match [0-9]+(Ki|Mi|Gi|Ti|Pi|M|G|T|P)? (garage computes its layout"
        " capacity from it: a whole number with an optional Ki, Mi, Gi, Ti, Pi, M, G, T or P suffix)",
    ]
    accepted(tmp_path, "components:\n  garage: {storage: 500Gi, settings: {curlImage: 'docker.io/curlimages/curl:8.22.0'}}\n")
