"""What a rotated Secret needs before the running services use it (`secrets generate --rotate`).

A new value in a Secret reaches nothing by itself: Kubernetes restarts no pod when a
Secret changes (bbgen's checksums cover rendered ConfigMaps, not out-of-band Secrets),
environment variables are read at container start, and many services take a credential
only when they initialise their data. What a component needs is data in its catalog
entry (``rotation`` on each Secret); this module turns it into one line per rotated
Secret, with the restart commands for the pods that read it.
"""

from __future__ import annotations

from bbgen.render.inventory import Inventory, KeyRef

LABEL = "app.kubernetes.io/instance"


def _restart(readers: list[tuple[str, str]]) -> str:
    return "; ".join(f"kubectl -n {ns} rollout restart deployment,statefulset -l {LABEL}={name}" for ns, name in readers)


def guidance(inventory: Inventory, rotated: set[KeyRef]) -> list[str]:
    """One line per Secret owning a rotated key: what happens to the running service, and what to run."""
    owners = sorted({(ns, name) for ns, name, _ in rotated})
    lines: list[str] = []
    for ns, name in owners:
        owner = next((s for s in inventory.secrets if (s.namespace, s.name) == (ns, name)), None)
        if owner is None:
            continue
        how, note = owner.rotation
        readers: list[tuple[str, str]] = []
        for plan in inventory.secrets:
            copies = any(k.copy_of is not None and k.copy_of[:2] == (ns, name) for k in plan.keys.values())
            if plan is owner or copies:
                readers += [(plan.namespace, user) for user in plan.used_by]
        own = {(ns, user) for user in owner.used_by}
        note = note.strip().replace("<namespace>", ns).rstrip(".")
        if how == "restart":
            text = note or "takes effect when the pods reading it restart (a changed Secret restarts nothing)"
            targets = sorted(set(readers))
        elif how == "applied-by-job":
            text = note or "a setup Job sets it in the service on the next Argo CD sync"
            targets = sorted(set(readers) - own)  # the Job is the owner's; the owner's server needs no restart
        else:
            text = f"the running service keeps the old value: {note}"
            targets = sorted(set(readers) - own)
        text = f"{ns}/{name} ({how}): {text}."
        if targets:
            text += f" After `kubectl apply`, restart {'its readers' if how == 'restart' else 'the services using it'}: {_restart(targets)}."
        lines.append(text)
    return lines
