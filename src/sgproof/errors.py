"""One exception root for sgproof; every error knows its exit code and renders itself in one line."""

from __future__ import annotations


class SgproofError(Exception):
    """Root of every error sgproof raises on purpose; `exit_code` is what the CLI exits with."""

    exit_code = 2

    def render(self) -> str:
        return str(self)


class InputError(SgproofError, ValueError):
    """Bad input: names the file, the place in it, what was expected and what was found."""

    def __init__(self, file: str | None, place: str | None, expected: str, found: object = None):
        self.file = file
        self.place = place
        self.expected = expected
        self.found = found
        super().__init__(self.render())

    def render(self) -> str:
        where = ":".join(p for p in (self.file, self.place) if p)
        msg = f"{where}: " if where else ""
        msg += f"expected {self.expected}"
        if self.found is not None:
            shown = repr(self.found) if not isinstance(self.found, str) else self.found
            if len(shown) > 120:
                shown = shown[:117] + "..."
            msg += f" (got {shown})"
        return msg


class UnsupportedFeature(InputError):
    """Input that sgproof cannot model faithfully: refusing it keeps every proof honest."""


class SourceError(SgproofError, RuntimeError):
    """A network source (AWS account, Terraform plan) could not be read; the message says why."""


class InternalError(SgproofError, RuntimeError):
    """sgproof disagrees with itself (e.g. a counterexample that does not replay): a bug, never a verdict."""
