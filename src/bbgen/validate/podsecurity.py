"""Every rendered pod against the Pod Security level its Namespace enforces.

The API server would admit the Deployment, StatefulSet or Job and then refuse
each pod it makes, which shows up only as a workload that never becomes ready;
here the same rules (bbgen.kube.podsecurity) run over the pod templates before
anything is pushed. A namespace this environment does not render, or one without
an enforce label, is not judged: its level is whatever the cluster defaults to.
"""

from __future__ import annotations

from bbgen.kube.objects import pod_template
from bbgen.kube.podsecurity import ENFORCE, LEVELS, as_level, violations
from bbgen.validate.checks import EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import sub

CHECK = "pod-security"


def check_pod_security(view: EnvView) -> list[Finding]:
    """A pod template its namespace's enforce level would refuse is an error naming each rule it breaks."""
    out: list[Finding] = []
    enforced: dict[str, str] = {}
    for ns in view.of("Namespace", ""):
        label = ns.labels().get(ENFORCE)
        if label is not None:
            enforced[ns.name] = label
            if as_level(label) is None:
                out.append(finding(ns, CHECK, f"{ENFORCE}={label} is not a Pod Security level ({', '.join(LEVELS)})"))
    for res in view.resources:
        tpl = pod_template(res.doc)
        level = as_level(enforced.get(res.namespace or "", ""))
        if tpl is None or level is None:
            continue
        annotations = {str(k): str(v) for k, v in sub(res.doc, *tpl.path[:-1], "metadata", "annotations").items()}
        for problem in violations(tpl.spec, level, annotations):
            out.append(finding(res, CHECK, f"namespace {res.namespace} enforces {level}: {problem}"))
    return out
