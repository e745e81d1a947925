"""Keys that only sgproof's own sources put in a snapshot document, out of band.

They are enum members, not strings, so no JSON input (a user's snapshot) can ever produce one: a
snapshot carrying `"SgproofWarnings"` or `"SgproofUnknownPrivateIpv4"` is read as if those keys were
absent, as the contract says of unknown keys.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Internal(enum.Enum):
    """An out-of-band key of a snapshot document or of one of its items."""

    TF_ADDRESS = "the Terraform address of the resource an item or rule comes from"
    WARNINGS = "warnings of the source that made the document (a list of strings, top level)"
    UNKNOWN_PRIVATE_IPV4 = "the CIDR block an ENI's primary private IPv4, known only after apply, lies in"


TF_ADDRESS = Internal.TF_ADDRESS
WARNINGS = Internal.WARNINGS
UNKNOWN_PRIVATE_IPV4 = Internal.UNKNOWN_PRIVATE_IPV4


def marked(item: Mapping[Any, Any], key: Internal) -> Any:
    """The out-of-band value `key` of a document or item, None when absent."""
    if type(item) is dict:  # every item a JSON document holds: no abstract-class check for each
        return item.get(key)
    return item.get(key) if isinstance(item, Mapping) else None
