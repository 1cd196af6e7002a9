"""One small module per command; each maps its options onto one call in ``bbgen.api``."""
