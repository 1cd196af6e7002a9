"""Where every file of the generated repository goes: decided here and nowhere else.

The shape (the generated README's Layout table says the same to its reader)::

    bootstrap/<env>/root-app.yaml        the one Application applied by hand (on the hub in hub mode)
    apps/<env>/                          one Application per unit + the platform one; includes projects/<env>/
    projects/<env>/                      that environment's AppProjects (`<env>-<domain>`), only its cluster
    platform/<env>/                      namespaces, storage, volumes, network policies
    components/<c>/base/, overlays/<env>/  Kustomize base and per-environment overlays
    values/<c>/<env>.yaml                Helm values of chart-delivered components
    restore/<env>/<c>.yaml               restore Jobs, in no kustomization: applied by hand (RESTORE.md)
    .gitea/workflows/validate.yaml, .bbgen/   the repository's own CI, its schemas, the manifest
    README.md

Readers (validate, diff, push, the leak guard, the secrets store) import the same names.
"""

from __future__ import annotations

from typing import Any

MANIFEST_PATH = ".bbgen/manifest.json"
"""The ownership record: which files bbgen wrote, and their hashes."""

README_PATH = "README.md"
RESTORE_PATH = "RESTORE.md"
"""The restore runbook: what each component's backup holds and how to restore it."""
RESTORE_DIR = "restore"
VALUES_DIR = "values"
WORKFLOW_PATH = ".gitea/workflows/validate.yaml"
SCRIPT_PATH = ".bbgen/validate.sh"
SCHEMA_ROOT = ".bbgen/schemas"
CRD_SCHEMA_DIR = f"{SCHEMA_ROOT}/crds"
KUSTOMIZATION = "kustomization.yaml"

COMPONENTS_DIR = "components"
APPS_DIR = "apps"
PROJECTS_DIR = "projects"
PLATFORM_DIR = "platform"
BOOTSTRAP_DIR = "bootstrap"
OVERLAYS = "overlays"
"""The folder of a component's per-environment overlays, beside its base."""
ENV_DIRS = (PLATFORM_DIR, APPS_DIR, BOOTSTRAP_DIR, RESTORE_DIR)
"""Top-level folders with one subfolder per environment, each applied to that environment's cluster."""
OWNED_DIRS = (COMPONENTS_DIR, VALUES_DIR, APPS_DIR, PLATFORM_DIR, BOOTSTRAP_DIR, PROJECTS_DIR, RESTORE_DIR)
"""Top-level folders whose second level names an owner (a component or an environment)."""


def base_dir(component: str) -> str:
    return f"{COMPONENTS_DIR}/{component}/base"


def overlay_dir(component: str, env: str) -> str:
    return f"{COMPONENTS_DIR}/{component}/{OVERLAYS}/{env}"


def values_file(component: str, env: str) -> str:
    return f"{VALUES_DIR}/{component}/{env}.yaml"


def is_values_file(path: str) -> bool:
    """Helm values: handed to a chart by Argo CD, never applied to the API themselves."""
    return path.startswith(VALUES_DIR + "/")


def apps_dir(env: str) -> str:
    return f"{APPS_DIR}/{env}"


def projects_dir(env: str) -> str:
    """One environment's AppProjects: included by its apps/<env>/ only, so each has one owner."""
    return f"{PROJECTS_DIR}/{env}"


def platform_dir(env: str) -> str:
    return f"{PLATFORM_DIR}/{env}"


def restore_file(env: str, component: str) -> str:
    """A component's restore Job in one environment: never synced, created by hand."""
    return f"{RESTORE_DIR}/{env}/{component}.yaml"


def root_app_file(env: str) -> str:
    return f"{BOOTSTRAP_DIR}/{env}/root-app.yaml"


def kubernetes_schema_dir(version: str) -> str:
    """Where the built-in kinds' schemas go, named for the bundled Kubernetes version used."""
    return f"{SCHEMA_ROOT}/kubernetes-v{version}"


def resource_file(doc: dict[str, Any], *, namespaced: bool = False) -> str:
    """`kind-name.yaml`; with ``namespaced``, `kind-namespace-name.yaml` for a directory spanning namespaces."""
    ns = doc["metadata"].get("namespace") if namespaced else None
    return f"{doc['kind'].lower()}-{ns + '-' if ns else ''}{doc['metadata']['name']}.yaml"


def app_file(app_name: str, env: str) -> str:
    """An Application's file in apps/<env>/: its name without the environment prefix."""
    return f"{app_name.removeprefix(f'{env}-')}.yaml"
