"""The bottom layer: Kubernetes facts every stage shares, and nothing of bbgen's own.

``yamlio`` is the one YAML load and dump for Kubernetes documents, ``objects`` an
object's identity, the standard label set and the one pod-template walker,
``kustomize`` what a kustomization file is and includes, ``schemas`` the bundled
schemas kubeconform checks against, ``pins`` the tool versions, ``names`` DNS
names. Everything above may import from here; this package imports only
:mod:`bbgen.errors` (see tests/test_layers.py).
"""
