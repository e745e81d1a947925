"""Rule hygiene (contract 7): findings with their evidence, each one exact, none a guess.

Rules are declarative entries of `registry.RULES`; each check reads the frozen model (and, for
`sg-dead-rule`, the whole encoding) and yields Findings. `run_lint` runs the chosen rules in a fixed order.
"""

from .model import Finding, LintReport
from .registry import RULES, run_lint

__all__ = ["RULES", "Finding", "LintReport", "run_lint"]
