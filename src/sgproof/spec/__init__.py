"""The spec language: YAML with line marks, selectors, service sets and invariants."""

from .parse import Exemption, Invariant, Selector, Spec, load_spec
from .services import ServiceSet, describe, parse_service

__all__ = ["Exemption", "Invariant", "Selector", "ServiceSet", "Spec", "describe", "load_spec", "parse_service"]
