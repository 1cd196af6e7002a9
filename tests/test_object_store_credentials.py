"""A key and a bucket per object-store consumer, on MinIO and on Garage.

Checked over every profile's rendered manifests and chart values and over the Secrets plan, and over
a small spec with `objectStore: garage`: each dependant reads its own `<store>-<dependant>` Secret and
gets its own bucket (S3_BUCKET, also S3_BUCKET_ARTIFACTS) beside the one shared datasets bucket; no
manifest outside the store's namespace names another dependant's key, the backups key or a shared
client key; the PostSync setup Job names each dependant's bucket and mounts each dependant's key, and
its script parses. The small spec validates with the real kustomize and kubeconform, and a dependant
whose name cannot be a bucket is refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.errors import SpecError, TemplateError
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.units import env_units
from bbgen.spec import load_platform
from bbgen.spec.loader import read_yaml, validate_model
from bbgen.spec.models import Platform

from support import MINIMAL_SPEC, ROOT
from manifestkit import docs as _docs, strings as _strings, env_lists as _env_lists, files_of as _files_of

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
ROLE = "object-store"

GARAGE_SPEC = MINIMAL_SPEC + """\
objectStore: garage
components:
  garage: {}
  jupyter: {}
apps:
  web: {image: "registry.example.org/web:1", dependsOn: [object-store]}
"""


def _store(platform: Any, env: str) -> Any:
    """The component filling the object-store role in ``env``, or none."""
    units = env_units(platform, load_catalog(), env)
    for unit in units.values():
        if unit.component is not None and ROLE in unit.component.provides and any(unit.name in u.depends_on for u in units.values()):
            return unit
    return None


def _dependants(platform: Any, env: str) -> tuple[str, dict[str, str]]:
    """The store's name and its dependants in ``env`` (name → namespace)."""
    store = _store(platform, env)
    if store is None:
        return "", {}
    units = env_units(platform, load_catalog(), env)
    return store.name, {u.name: u.namespace for u in units.values() if store.name in u.depends_on}


def _cases() -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in PROFILES] + [pytest.param(None, id="garage-spec")]


@pytest.fixture(scope="module", params=_cases())
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, bytes]]:
    path = request.param
    if path is None:
        path = tmp_path_factory.mktemp("garage") / "platform.yaml"
        path.write_text(GARAGE_SPEC)
    platform = load_platform(path)
    return platform, dict(build_tree(platform).files)


def test_every_consumer_has_its_own_secret_env_and_bucket(rendered: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = rendered
    seen: dict[str, str] = {}
    for env in platform.environments:
        store, dependants = _dependants(platform, env)
        if not dependants:
            continue
        seen |= {d: store for d in dependants}
        plans = {s.ref: s for s in inventory_for(platform, env).secrets}
        namespace = load_catalog()[store].namespace
        for name, ns in dependants.items():
            own = plans[f"{namespace}/{store}-{name}"]
            assert own.consumer == name and set(own.keys) == {"access-key-id", "secret-access-key"}
            assert all(k.source == "generate" for k in own.keys.values())
            reader = plans[f"{ns}/{store}-{name}"]
            assert reader.consumer == name and name in reader.used_by
        assert not [r for r in plans if r.endswith(f"/{store}-client")]
    if not seen:
        pytest.skip("no object-store dependant here")
    datasets = load_catalog()[next(iter(seen.values()))].defaults.settings["datasetsBucket"]
    for name, store in sorted(seen.items()):
        envs = [{e["name"]: e for e in env} for doc in _files_of(files, name) for env in _env_lists(doc)]
        s3_envs = [e for e in envs if "S3_ENDPOINT_URL" in e]
        assert s3_envs, f"{name} gets no object-store env"
        for e in s3_envs:
            assert e["S3_BUCKET"]["value"] == e["S3_BUCKET_ARTIFACTS"]["value"] == name
            assert e["S3_BUCKET_DATASETS"]["value"] == datasets
            for var, key in (("AWS_ACCESS_KEY_ID", "access-key-id"), ("AWS_SECRET_ACCESS_KEY", "secret-access-key")):
                assert e[var]["valueFrom"]["secretKeyRef"] == {"name": f"{store}-{name}", "key": key}, name


def test_no_shared_or_foreign_key_outside_the_store(rendered: tuple[Any, dict[str, bytes]]) -> None:
    """Outside the store's namespace a manifest names only its own dependant's key (never the shared one)."""
    platform, files = rendered
    catalog = load_catalog()
    for env in platform.environments:
        store, dependants = _dependants(platform, env)
        if not store:
            continue
        keys = {f"{store}-{d}" for d in dependants}
        offenders = []
        for path, data in files.items():
            if not path.endswith(".yaml") or not (path.startswith("components/") or path.startswith("values/")):
                continue
            unit = path.split("/")[1]
            for doc in _docs(data):
                if not isinstance(doc, dict):
                    continue
                namespace = (doc.get("metadata") or {}).get("namespace") if "apiVersion" in doc else None
                namespace = namespace or (catalog[unit].namespace if unit in catalog else None)
                if namespace == catalog[store].namespace:
                    continue
                named = set(_strings(doc))
                if f"{store}-client" in named or named & (keys - {f"{store}-{unit}"}):
                    offenders.append(f"{path} ({namespace})")
        assert offenders == [], env


def test_setup_job_makes_each_bucket_and_key(rendered: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = rendered
    store, dependants = _dependants(platform, "prod")
    if not dependants:
        pytest.skip("no object-store dependant here")
    job = _docs(files[f"components/{store}/base/job-{store}-setup.yaml"])[0]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert set(env["DEPENDANTS"]["value"].split()) == set(dependants)
    assert env["DATASETS_BUCKET"]["value"] == load_catalog()[store].defaults.settings["datasetsBucket"]
    # each dependant's key is mounted from its own Secret at /credentials/<dependant>; no shared key is read
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    mounted = {m["mountPath"].rsplit("/", 1)[1]: secrets[m["name"]] for m in container["volumeMounts"] if m["name"] in secrets}
    assert mounted == {d: f"{store}-{d}" for d in dependants}
    read = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert f"{store}-client" not in read and not read & set(mounted.values())
    script = container["command"][-1]
    assert 'for name in ${DEPENDANTS}; do' in script and "${CREDENTIALS}/${name}/access-key-id" in script
    if store == "minio":
        assert '"arn:aws:s3:::${name}/*' in script and "arn:aws:s3:::${DATASETS_BUCKET}/*" in script
        assert 'mc mb --ignore-existing --region "${REGION}" "local/${name}"' in script
    else:
        assert 'allow "${bucket_id}" "${access_key}"' in script and 'allow "${datasets_id}" "${access_key}"' in script
        assert 'bucket "${name}"' in script
    assert subprocess.run(["sh", "-n", "-c", script], capture_output=True, timeout=30).returncode == 0


@pytest.mark.tools
def test_garage_spec_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    from bbgen.validate.charts_source import ChartOptions

    spec = tmp_path / "platform.yaml"
    spec.write_text(GARAGE_SPEC)
    out = tmp_path / "out"
    api.render(spec, out)
    report = api.validate(out, charts=ChartOptions(enabled=False))
    assert not report.errors, report.errors
    assert {"storage/garage-web", "apps/garage-web", "storage/garage-jupyter"} <= set(report.required_secrets)


@pytest.mark.parametrize("store", ["minio", "garage"])
def test_the_template_guards_a_dependant_that_cannot_be_a_bucket(tmp_path: Path, store: str) -> None:
    """A spec that skipped the checks (validate_model only) still cannot render a 2-character bucket."""
    spec = tmp_path / "platform.yaml"
    spec.write_text(GARAGE_SPEC.replace("objectStore: garage", f"objectStore: {store}").replace("  garage: {}", f"  {store}: {{}}").replace("  web:", "  ab:"))
    with pytest.raises(TemplateError, match="bucket name ab must be 3-63 characters"):
        build_tree(validate_model(Platform, read_yaml(spec)))


@pytest.mark.parametrize(("app", "why"), [("ab", "a bucket name has 3-63 characters"), ("datasets", "own 'datasets' bucket"), ("backups", "own 'backups' bucket")])
def test_an_app_that_cannot_be_a_bucket_is_a_located_spec_error(tmp_path: Path, app: str, why: str) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(GARAGE_SPEC.replace("  web:", f"  {app}:"))
    with pytest.raises(SpecError) as caught:
        load_platform(spec)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (10, f"apps.{app}.dependsOn[0]") and why in issue.message, issue
