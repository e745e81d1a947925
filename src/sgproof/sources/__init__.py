"""Network sources: a saved snapshot, a live account (boto3) or a Terraform plan, each turned into a Network.

Every source first produces the snapshot document of contract section 2 (the merged describe-API JSON);
`sgproof.sources.snapshot.build_network` is the one place that turns such a document into the model.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import hashlib
import json
import os
import pickle
import re
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Network

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a network came from, for the report's scope section."""

    kind: str  # "snapshot" | "aws" | "terraform"
    path: str | None
    inputs: tuple[tuple[str, str], ...] = ()  # (file, sha256) of every input file read
    account: str | None = None
    region: str | None = None
    collected_at: str | None = None
    snapshot: str | None = None  # the live snapshot a Terraform plan is laid over

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": self.path}
        if self.snapshot:
            out["snapshot"] = self.snapshot
        if self.account:
            out["account"] = self.account
        if self.region:
            out["region"] = self.region
        if self.collected_at:
            out["collected_at"] = self.collected_at
        return out


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Bounds on what a JSON input may be. Each is far beyond real data (a 20,000-ENI account is ~40 MB and
# 8 levels deep; a Terraform plan of a large estate a few hundred MB and ~12 levels), and each keeps a
# crafted file from exhausting memory or the stack. Integers are bounded by int() itself (4,300 digits).
MAX_JSON_BYTES = 1 << 30
MAX_JSON_DEPTH = 200
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _BadJson(Exception):
    """Raised from the decoder's hooks: what was expected and what was found."""

    def __init__(self, expected: str, found: str):
        super().__init__(expected)
        self.expected = expected
        self.found = found


def _parse_constant(name: str) -> Any:
    raise _BadJson("standard JSON numbers (NaN and Infinity are not JSON)", name)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = ""
        for k, _ in pairs:
            if k in seen:
                dup = k
                break
            seen.add(k)
        raise _BadJson("each key once in a JSON object", f"{dup!r} twice")
    return out


def _line_col(data: str | bytes, offset: int) -> str:
    nl = "\n" if isinstance(data, str) else b"\n"
    line = data.count(nl, 0, offset) + 1  # type: ignore[arg-type]
    col = offset - (data.rfind(nl, 0, offset) + 1) + 1  # type: ignore[arg-type]
    return f"{line}:{col}"


def os_reason(exc: OSError) -> str:
    """Why a path could not be read, in words."""
    if exc.errno == errno.ENAMETOOLONG:
        return "a path too long for the file system"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    return exc.strerror or type(exc).__name__


def _json_path(parts: tuple[str | int, ...]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _children(value: Any) -> Any:
    return value.items() if isinstance(value, dict) else enumerate(value)


def _too_deep(doc: Any) -> bool:
    level = [doc]
    for _ in range(MAX_JSON_DEPTH):
        level = [c for v in level for c in (v.values() if type(v) is dict else v) if type(c) in (dict, list)]
        if not level:
            return False
    return True


_NOT_SHAPE = bytes(sorted(set(range(256)) - set(b'"[]{}')))  # translate() deletes all bytes but quotes and brackets
_QUOTED = re.compile(rb'"[^"]*"')
SHAPE_ROUNDS = 16  # real data is at most ~12 levels deep; deeper text goes to the walk over the parsed tree


def _depth_bound(data: bytes) -> int | None:
    """An upper bound on the nesting depth of `data`, read from the text alone, if it is valid JSON; None when
    the text does not show one within SHAPE_ROUNDS rounds (the caller then walks the parsed tree).

    Quotes written as escapes go first. Read left to right, an escape is a backslash and the byte after it
    (so `\\\\` is one), and every quote not in an escape delimits a string. Keeping quotes and brackets only,
    an adjacent pair of quotes is an empty string or the seam between two strings with no bracket between
    them; dropping it keeps every bracket on its side of the strings. What quotes remain enclose brackets
    written in strings, which go with them. Each round then deletes every `[]` and then every `{}`, so it
    takes one or two levels off the tree: a text empty after r rounds is at most 2r levels deep. About 0.03 s
    at 10,000 ENIs, where walking the parsed tree takes 0.11 s.
    """
    pieces, start = [], 0
    i = data.find(b"\\")
    while i >= 0:
        if data[i + 1:i + 2] == b'"':
            pieces.append(data[start:i + 1].translate(None, _NOT_SHAPE))
            start = i + 2
        i = data.find(b"\\", i + 2)
    pieces.append(data[start:].translate(None, _NOT_SHAPE) if start else data.translate(None, _NOT_SHAPE))
    shape = b"".join(pieces).replace(b'""', b"")
    if b'"' in shape:
        shape = _QUOTED.sub(b"", shape)
    for rounds in range(SHAPE_ROUNDS + 1):
        if not shape:
            return 2 * rounds
        shape = shape.replace(b"[]", b"").replace(b"{}", b"")
    return None


def _check_tree(doc: Any, path: str, surrogates: bool, bound: int | None = None) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings with lone surrogates (they cannot be printed).
    `bound`, when given, is an upper bound on the depth (`_depth_bound`); without one the tree is walked."""
    if not isinstance(doc, dict | list):
        return
    deep = _too_deep(doc) if bound is None or bound > MAX_JSON_DEPTH else False
    if not deep and not surrogates:
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        value, where = stack.pop()
        if len(where) >= MAX_JSON_DEPTH:
            raise InputError(path, _json_path(where[:8]) + "...", f"JSON nested at most {MAX_JSON_DEPTH} levels deep",
                             "deeper nesting")
        for k, v in _children(value):
            if isinstance(k, str) and _SURROGATE.search(k):
                raise InputError(path, _json_path(where), "keys of valid Unicode text", "a lone surrogate escape")
            if isinstance(v, dict | list):
                stack.append((v, (*where, k)))
            elif isinstance(v, str) and _SURROGATE.search(v):
                raise InputError(path, _json_path((*where, k)), "valid Unicode text", "a lone surrogate escape")


def load_json(path: str, what: str) -> Any:
    """Read one JSON file within bounds (size, nesting, number length); every failure is one InputError.

    `what` names the file for the messages, e.g. "snapshot file". The size is checked before reading.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, None, f"an existing {what}") from None
    except OSError as exc:
        raise InputError(path, None, f"a readable {what}", os_reason(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a device, pipe or socket"
        raise InputError(path, None, f"a regular file for the {what}", kind)
    cap = f"at most {MAX_JSON_BYTES >> 30} GiB"
    if st.st_size > MAX_JSON_BYTES:
        raise InputError(path, None, f"a {what} of {cap}", f"{st.st_size} bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise InputError(path, None, f"a readable {what}", os_reason(exc)) from None
    if len(data) > MAX_JSON_BYTES:
        raise InputError(path, None, f"a {what} of {cap}", "more")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        found = "UTF-16 (re-save it as UTF-8)" if utf16 else f"byte {data[exc.start]:#04x}"
        raise InputError(path, _line_col(data, exc.start), f"UTF-8 text in the {what}", found) from None
    bound = _depth_bound(data)  # meaningful once the text has parsed
    del data
    if len(text) >= PARALLEL_JSON_CHARS and _may_fork():
        doc = _parse_checked_aside(path, text)
    else:
        doc = _parse(path, text, _object)
    _check_tree(doc, path, _SURROGATE_ESCAPE.search(text) is not None, bound)
    return doc


# Texts at least this long are parsed without the duplicate-key hook while a forked child parses them again
# with it (`_parse_checked_aside`). Below it the fork costs more than the hook does.
PARALLEL_JSON_CHARS = 1 << 20


def _may_fork() -> bool:
    """Whether a child may be forked here: only where fork exists and no other thread could hold a lock."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _parse(path: str, text: str, hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    """json.loads with every refusal one InputError; `hook` sees each object's pairs (None: plain dicts)."""
    try:
        return json.loads(text, parse_constant=_parse_constant, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"{exc.lineno}:{exc.colno}", f"valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(path, None, f"JSON nested at most {MAX_JSON_DEPTH} levels deep", "deeper nesting") from None
    except _BadJson as exc:
        raise InputError(path, None, exc.expected, exc.found) from None
    except ValueError:  # int() refuses integers longer than its limit
        limit = sys.get_int_max_str_digits()
        m = re.search(r"\d{" + str(limit + 1) + ",}", text)
        where = _line_col(text, m.start()) if m else None
        found = f"{len(m.group())} digits" if m else "a longer one"
        raise InputError(path, where, f"integers of at most {limit} digits", found) from None


def _checked_only(pairs: list[tuple[str, Any]]) -> None:
    """The duplicate-key hook of a parse whose tree is not kept: each object is checked, then dropped."""
    if len(dict(pairs)) != len(pairs):
        _object(pairs)


def _parse_checked_aside(path: str, text: str) -> Any:
    """What `_parse(path, text, _object)` gives, on two cores: this process parses without the hook
    (a third faster) while a forked child parses with it, keeping nothing, and reports the first refusal.

    The child's parse is the serial one, the same parser meeting the same text in the same order, so its
    refusal is the one the serial path would make, and it wins over any of this process's own. A child
    that does not finish (killed, out of memory) leaves the decision to the serial parse, here.
    """
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return _parse(path, text, _object)
    if pid == 0:  # the child: parse, write "+" and the refusal if any, and leave without cleaning up
        status = 1
        try:
            os.close(read_end)
            try:
                _parse(path, text, _checked_only)
                answer = b"+"
            except InputError as exc:
                answer = b"+" + pickle.dumps((exc.place, exc.expected, exc.found))
            with os.fdopen(write_end, "wb") as out:
                out.write(answer)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    inp = os.fdopen(read_end, "rb")
    try:
        try:
            doc, failed = _parse(path, text, None), None
        except InputError as exc:
            doc, failed = None, exc
        answer = inp.read()
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        raise
    finally:
        inp.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    if not answer.startswith(b"+"):
        return _parse(path, text, _object)
    if len(answer) > 1:
        place, expected, found = pickle.loads(answer[1:])
        raise InputError(path, place, expected, found)
    if failed is not None:
        raise failed
    return doc


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is parsed and modelled. Both make millions
    of objects and no reference cycles, so the collector's passes (each one over everything made so
    far) find nothing and cost a third of the time at 10,000 ENIs; reference counting still frees."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_network(
    *,
    snapshot: str | None = None,
    aws: bool = False,
    profile: str | None = None,
    regions: tuple[str, ...] = (),
    terraform: str | None = None,
    progress: Progress | None = None,
) -> tuple[Network, SourceInfo]:
    """Read the one source the user named and build the model from it."""
    if aws:  # boto3's clients and responses do make cycles: leave the collector on while they live
        net, info = _load_network(snapshot, aws, profile, regions, terraform, progress)
    else:
        with no_cycle_collection():
            net, info = _load_network(snapshot, aws, profile, regions, terraform, progress)
    if len(net.enis) >= COMPACT_ENIS:
        holder = [net]
        del net  # the holder's reference is the only one left
        net = _compacted(holder)
    return net, info


# From this many ENIs the model is moved to fresh memory after reading (`_compacted`).
COMPACT_ENIS = 50_000


def _compacted(holder: list[Network]) -> Network:
    """The model, copied into fresh memory, the original freed (the caller hands over its only
    reference in `holder`). The document it was built from took several times the model's memory and
    its objects were made between the model's, so the allocator keeps nearly all of it after the
    document is gone (at 100,000 ENIs 1.15 GiB resident for a model of 0.4 GiB), and every worker
    forked later shares, and partly copies, that. A pickle round trip is an exact copy of the model
    (the tests compare them) for a few seconds at that size."""
    with no_cycle_collection():
        data = pickle.dumps(holder.pop(), protocol=pickle.HIGHEST_PROTOCOL)
        trim_free_memory()
        net: Network = pickle.loads(data)
        del data
    trim_free_memory()
    return net


def trim_free_memory() -> None:
    """Give the C allocator's free memory back to the system where it can (glibc); elsewhere nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _load_network(snapshot: str | None, aws: bool, profile: str | None, regions: tuple[str, ...],
                  terraform: str | None, progress: Progress | None) -> tuple[Network, SourceInfo]:
    from . import snapshot as snap

    if aws and (snapshot or terraform):
        raise InputError(None, "--aws", "exactly one source: --aws cannot be combined with --snapshot or --terraform")
    if aws:
        from . import aws as aws_source

        doc = aws_source.collect_merged(profile=profile, regions=regions, progress=progress)
        info = SourceInfo(
            "aws", None, (), _meta(doc, "AccountId"), _meta(doc, "Region"), _meta(doc, "CollectedAt")
        )
        return snap.build_network(doc, "<aws>"), info
    if terraform:
        from . import terraform as tf_source

        base = snap.read_document(snapshot) if snapshot else None
        if base is not None and snapshot:
            snap.build_network(base, snapshot)  # a malformed live document is the snapshot's fault
        plan = tf_source.load_plan(terraform)
        doc, network = tf_source.plan_network(plan, terraform, base, snapshot)
        inputs = [(terraform, sha256_file(terraform))]
        if snapshot:
            inputs += snap.input_files(snapshot)
        info = SourceInfo("terraform", terraform, tuple(inputs), _meta(doc, "AccountId"), _meta(doc, "Region"),
                          snapshot=snapshot)
        return network, info
    if snapshot:
        doc = snap.read_document(snapshot)
        info = SourceInfo(
            "snapshot",
            snapshot,
            tuple(snap.input_files(snapshot)),
            _meta(doc, "AccountId"),
            _meta(doc, "Region"),
            _meta(doc, "CollectedAt"),
        )
        return snap.build_network(doc, snapshot), info
    raise InputError(None, None, "a network source: --snapshot FILE_OR_DIR, --aws or --terraform PLAN_JSON")


def _meta(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return str(value) if value is not None else None
