"""The plain evaluator: contract section 4 written for obviousness, without z3. It is the reference."""

from .evaluate import Endpoint, Flow, Step, Verdict, connection_exists, evaluate, reply_service

__all__ = ["Endpoint", "Flow", "Step", "Verdict", "connection_exists", "evaluate", "reply_service"]
