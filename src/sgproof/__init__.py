"""sgproof: prove or refute network invariants over AWS security groups and NACLs."""

__version__ = "0.1.0"
