"""Where every file of the generated repository goes: decided here and nowhere else.

The shape (see the generated README's Layout table): bootstrap/<env>/root-app.yaml →
apps/<env>/ (Applications + the shared projects/) → platform/<env>/ and
components/<c>/overlays/<env>/ or a Helm chart with values/<c>/<env>.yaml; the
repository's own CI under .gitea/ and .bbgen/, and the ownership manifest.
Readers (validate, diff, push, the secrets store) import the same names.
"""

from __future__ import annotations

MANIFEST_PATH = ".bbgen/manifest.json"
"""The ownership record: which files bbgen wrote, and their hashes."""
