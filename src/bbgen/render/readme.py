"""The generated repository's README: how to bootstrap it and what it runs.

Written for the person who clones the GitOps repo without ever having seen the
spec, so it states the bootstrap order with exact commands, the DNS records and
every Secret to create. Secrets come from the same inventory as ``bbgen secrets
plan``, so the README and the tool can never disagree; commands that need a
credential show a placeholder, never a value.
"""

from __future__ import annotations

from bbgen.render.layout import repo_url
from bbgen.render import ci
from bbgen.kube import pins, schemas
from bbgen.kube.names import fqdn
from bbgen.render.units import Unit
from bbgen.render.inventory import Inventory, build_inventory
from bbgen.spec.models import Platform

CNI = "cilium"
IN_CLUSTER = "https://kubernetes.default.svc"
ARGOCD_VERSION_HINT = "v3.2.0"


Section = tuple[str, list[str]]  # title, body


def _cni(unit: Unit, envs: list[str]) -> Section:
    """Install the CNI by hand first: without it no Pod, Argo CD included, can start."""
    lines = [
        "Nodes stay NotReady until the CNI runs, so it goes in by hand; Argo CD adopts it later.",
        "",
        "```sh",
    ]
    comp = unit.component
    chart = getattr(comp, "chart", None)
    for env in envs:
        if chart is not None:
            release = chart.release_name or unit.name
            lines.append(
                f"helm upgrade --install {release} {chart.name} --repo {chart.repo} --version {unit.chart_version} "
                f"--namespace {unit.namespace} --create-namespace -f values/{unit.name}/{env}.yaml   # {env}"
            )
        else:
            lines.append(f"kubectl apply -k components/{unit.name}/overlays/{env}   # {env}")
    return f"Network: {unit.name}", lines + ["```"]


def _bootstrap(platform: Platform, units: dict[str, Unit], inventory: Inventory) -> list[str]:
    envs = sorted(platform.environments)
    url = repo_url(platform)
    repo_secret = f"repo-{platform.gitops.repo}".lower().replace("_", "-").replace(".", "-")
    secrets_dir = f"~/secrets/{platform.name}"
    sections: list[Section] = []
    if CNI in units:
        sections.append(_cni(units[CNI], envs))
    sections.append((
        "Namespaces",
        [
            "The Secrets of the next step need their namespaces; Argo CD adopts them later.",
            "",
            "```sh",
            *[f"kubectl apply -k platform/{env}   # {env}" for env in envs],
            "```",
        ],
    ))
    secrets = [
        "Generated outside this repository from the spec it was rendered from (never commit",
        "them anywhere). Re-running keeps every existing value; `--rotate NAME[/KEY]` replaces one.",
        "",
        "```sh",
        "SPEC=path/to/the/spec.yaml",
        'bbgen secrets plan "$SPEC"',
        f'bbgen secrets generate "$SPEC" --out {secrets_dir}',
        f"kubectl apply -f {secrets_dir}",
        "```",
    ]
    supplied = [(s, k) for s in inventory.secrets for k in sorted(s.keys) if s.keys[k].source == "supply"]
    if supplied:
        secrets += ["", "Values bbgen cannot make are read from these variables (or `--from-file NAMESPACE/NAME/KEY=PATH`):", ""]
        for secret, key in supplied:
            kp = secret.keys[key]
            secrets.append(f"- `{kp.env}`: {kp.supply}{' (optional)' if kp.optional else ''}")
    sections.append(("Secrets", secrets))
    sections.append(("Argo CD and its repository credentials", _argocd(platform, units, url, repo_secret)))
    remote = [env for env in envs if platform.environments[env].cluster != IN_CLUSTER]
    if remote:
        sections.append((
            "Register the other clusters",
            [
                "One Argo CD (this hub) deploys every environment; it needs credentials for each",
                "cluster that is not its own. With a kubeconfig context per cluster:",
                "",
                "```sh",
                *[f"argocd cluster add <{env}-context> --name {env}   # API server {platform.environments[env].cluster}" for env in remote],
                "```",
            ],
        ))
    sections.append((
        "The root Application",
        [
            "It syncs everything else in sync-wave order:",
            "",
            "```sh",
            *[f"kubectl apply -n argocd -f bootstrap/{env}/root-app.yaml   # {env}" for env in envs],
            "```",
        ],
    ))
    lines = [
        "## Bootstrap",
        "",
        "A new cluster goes up in this order; each step needs the one before it. Run the",
        "commands from a checkout of this repository with `kubectl` pointed at the",
        "environment's cluster; lines marked with an environment are for that environment only.",
    ]
    for number, (title, body) in enumerate(sections, start=1):
        lines += ["", f"### {number}. {title}", "", *body]
    return lines


def _argocd(platform: Platform, units: dict[str, Unit], url: str, repo_secret: str) -> list[str]:
    """Install Argo CD by hand once, from the same chart and values its own Application uses.

    With the argocd component the repository Secret is in the inventory (made in the
    Secrets step, labelled for Argo CD); without it, the README shows how to make one.
    """
    argocd = units.get("argocd")
    chart = getattr(argocd.component, "chart", None) if argocd is not None else None
    if argocd is not None and chart is not None:
        hub = "prod" if "prod" in platform.environments else sorted(platform.environments)[0]
        return [
            "Argo CD goes in once by hand, from the chart and values its own Application uses;",
            "from then on it manages itself. It finds the GitOps repository through the",
            "labelled `gitops-repo` Secret made in the Secrets step.",
            "",
            "```sh",
            f"helm upgrade --install {chart.release_name or argocd.name} {chart.name} --repo {chart.repo} --version {argocd.chart_version} \\",
            f"  --namespace {argocd.namespace} -f values/{argocd.name}/{hub}.yaml",
            "```",
        ]
    return [
        "Argo CD goes in once by hand. Argo CD 3 reads repositories only from Secrets labelled",
        "`argocd.argoproj.io/secret-type: repository`; this one is created by hand and the",
        "token is typed in, never written down:",
        "",
        "```sh",
        f"ARGOCD_VERSION={ARGOCD_VERSION_HINT}   # any 3.x release; pin the one you run",
        "kubectl create namespace argocd",
        'kubectl apply -n argocd --server-side --force-conflicts -f "https://raw.githubusercontent.com/argoproj/argo-cd/${ARGOCD_VERSION}/manifests/install.yaml"',
        "read -rs GITEA_TOKEN   # a Gitea access token with read access to this repository",
        f'printf %s "$GITEA_TOKEN" | kubectl -n argocd create secret generic {repo_secret} \\',
        "  --from-literal=type=git \\",
        f"  --from-literal=url={url} \\",
        "  --from-literal=username=<gitea-user> \\",
        "  --from-file=password=/dev/stdin",
        f"kubectl -n argocd label secret {repo_secret} argocd.argoproj.io/secret-type=repository",
        "unset GITEA_TOKEN",
        "```",
        "",
        "Sync waves between Applications need Argo CD's health assessment of",
        "`argoproj.io/Application` resources enabled (a `resource.customizations.health`",
        "entry in `argocd-cm`).",
    ]


def _dns(platform: Platform, units: dict[str, Unit]) -> list[str]:
    """The records to create: every public host, and the raw TCP ports on the same address."""
    if platform.ingress.provider == "gateway":
        target = "the Gateway's address (`kubectl -n {ns} get gateway public -o jsonpath='{{.status.addresses[*].value}}'`)".format(
            ns=units["gateway"].namespace if "gateway" in units else "gateway"
        )
    else:
        target = "the NGINX ingress controller's address (its LoadBalancer Service, or the nodes it runs on)"
    lines = ["## DNS", "", f"A/AAAA records pointing at {target}:", "", "| environment | host | component |", "|---|---|---|"]
    for env in sorted(platform.environments):
        for unit in sorted(units.values(), key=lambda u: u.name):
            if unit.host_label:
                lines.append(f"| {env} | {fqdn(unit.host_label, platform.env_domain(env))} | {unit.name} |")
    if platform.ingress.tcp:
        lines += ["", "Raw TCP on the same address (no TLS from the platform; restrict the source addresses in your firewall):", ""]
        lines += [f"- port {t.port} → {t.component}" for t in sorted(platform.ingress.tcp, key=lambda t: t.port)]
    return lines


def _secrets_table(inventory: Inventory) -> list[str]:
    lines = [
        "## Secrets (never in git)",
        "",
        "Created by `bbgen secrets generate` (see Bootstrap). A copy holds the same value as",
        "its source, for Pods in another namespace.",
        "",
        "| namespace | Secret | keys | made how | used by |",
        "|---|---|---|---|---|",
    ]
    for secret in inventory.secrets:
        keys = ", ".join(sorted(secret.keys))
        if secret.copy_of:
            how = f"copy of {secret.copy_of}"
        elif len(secret.keys) == 1:
            how = next(iter(secret.keys.values())).describe()
        else:
            how = "; ".join(f"{k}: {secret.keys[k].describe()}" for k in sorted(secret.keys))
        lines.append(f"| {secret.namespace} | {secret.name} | {keys} | {how.replace('|', '/')} | {', '.join(secret.used_by)} |")
    basic = [s for s in inventory.secrets if "auth" in s.keys and s.keys["auth"].generator == "htpasswd"]
    if basic:
        lines += ["", "Basic-auth passwords (user `admin`) are in the key `password` of their Secret:", "", "```sh"]
        lines += [f"kubectl -n {s.namespace} get secret {s.name} -o jsonpath='{{.data.password}}' | base64 -d" for s in basic]
        lines += ["```"]
    return lines


def _ci(platform: Platform) -> list[str]:
    """How the repository checks itself, so a red CI run is not a mystery to whoever cloned it."""
    version = schemas.choose(platform.kubernetes_version).used
    return [
        "## Validation in CI",
        "",
        f"On every push to `{platform.gitops.branch}` and every pull request, the Gitea Actions workflow",
        f"`{ci.WORKFLOW_PATH}` installs kustomize {pins.KUSTOMIZE_VERSION} and kubeconform {pins.KUBECONFORM_VERSION}",
        f"and runs `{ci.SCRIPT_PATH}`: it builds every overlay and checks each object, offline, against",
        f"the Kubernetes {version} and CRD schemas in `{ci.SCHEMA_ROOT}/` (rendered with the rest of the repository).",
        "The workflow needs Actions enabled for this repository and a runner that serves `ubuntu-latest`.",
        "Run the same check locally with kustomize and kubeconform on `PATH`:",
        "",
        "```sh",
        f"bash {ci.SCRIPT_PATH}",
        "```",
    ]


def readme(platform: Platform, units: dict[str, Unit]) -> str:
    from bbgen.render.graph import mermaid

    inventory = build_inventory(platform, units)
    lines = [
        f"# {platform.name}: GitOps repository",
        "",
        "Generated by bbgen from the platform spec. Do not edit files listed in",
        "`.bbgen/manifest.json` by hand: change the spec and render again.",
        "Files bbgen does not own are left alone. This repository never holds a secret value.",
        "",
        "## The platform",
        "",
        "Public hosts, domains (one namespace and AppProject each) and every data flow; each arrow is",
        "configuration in the dependant and a NetworkPolicy allowance at the dependency. Drawn by `bbgen graph`.",
        "",
        "```mermaid",
        mermaid(platform, units).rstrip("\n"),
        "```",
        "",
        *_bootstrap(platform, units, inventory),
        "",
        "## Layout",
        "",
        "| path | what |",
        "|---|---|",
        "| `bootstrap/<env>/root-app.yaml` | the one Application applied by hand (app of apps) |",
        "| `apps/<env>/` | one Application per component, plus the AppProjects |",
        "| `projects/` | one AppProject per domain |",
        "| `platform/<env>/` | namespaces, the local-SSD StorageClass, static local volumes, NetworkPolicies (default deny, then each allowed flow) |",
        "| `components/<name>/base/`, `overlays/<env>/` | Kustomize base and per-environment overlays |",
        "| `values/<name>/<env>.yaml` | Helm values for chart-delivered components |",
        "| `.gitea/workflows/validate.yaml`, `.bbgen/` | the CI check, its script and schemas; the ownership manifest |",
        "",
        *_ci(platform),
        "",
        "## Components",
        "",
        "| component | namespace | delivery | sync wave | depends on |",
        "|---|---|---|---|---|",
    ]
    for unit in sorted(units.values(), key=lambda u: (u.wave, u.name)):
        deps = ", ".join(unit.depends_on) or "-"
        lines.append(f"| {unit.name} | {unit.namespace} | {unit.delivery} | {unit.wave} | {deps} |")
    lines += ["", *_dns(platform, units), "", *_secrets_table(inventory)]
    return "\n".join(lines) + "\n"
