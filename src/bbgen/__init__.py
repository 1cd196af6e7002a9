"""bbgen: one typed platform spec in, a validated GitOps repository out.

The public API is deliberately small; everything else lives in private modules
whose layout may change between releases.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
