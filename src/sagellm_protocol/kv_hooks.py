"""KV-cache lifecycle hooks: allocate, hand out, migrate and evict KV blocks."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from ._base import ProtocolModel
from ._fields import Identifier, NotBytes, PositiveCount

__all__ = [
    "KVAllocateParams",
    "KVDType",
    "KVEvictReason",
    "KVHandle",
    "KVLayout",
    "KVMigrateParams",
]


class KVDType(str, Enum):
    """Element type of KV-cache storage."""

    FP16 = "fp16"
    """IEEE 754 half precision."""
    BF16 = "bf16"
    """bfloat16."""
    FP8 = "fp8"
    """8-bit floating point."""
    INT8 = "int8"
    """8-bit integer (quantized)."""


class KVLayout(str, Enum):
    """Memory layout of a KV block (B batch, S sequence, H heads, D head dim)."""

    BSHD = "bshd"
    """Batch, sequence, heads, head dim."""
    BHSD = "bhsd"
    """Batch, heads, sequence, head dim."""


class KVEvictReason(str, Enum):
    """Why KV-cache entries were evicted."""

    MEMORY_PRESSURE = "memory_pressure"
    """Memory was needed for other work."""
    TTL_EXPIRED = "ttl_expired"
    """The entries outlived their time to live."""
    EXPLICIT_FREE = "explicit_free"
    """The owner freed them."""


class KVAllocateParams(ProtocolModel):
    """A request to allocate KV-cache space for one request."""

    request_id: Identifier
    """Identifier of the request the space is for."""
    num_tokens: PositiveCount
    """Number of token slots to allocate, in tokens; > 0."""
    kv_dtype: Annotated[KVDType, NotBytes]
    """Element type of the storage."""
    layout: Annotated[KVLayout, NotBytes]
    """Memory layout of the blocks."""
    block_size: PositiveCount
    """Tokens per KV block, in tokens; > 0."""


class KVHandle(ProtocolModel):
    """A handle to allocated KV-cache space."""

    handle_id: Identifier
    """Identifier of this allocation."""
    request_id: Identifier
    """Identifier of the request that owns the allocation."""
    num_tokens: PositiveCount
    """Number of token slots held, in tokens; > 0."""
    device: Identifier
    """Device holding the space, e.g. ``cuda:0``, ``npu:0``, ``cpu``."""


class KVMigrateParams(ProtocolModel):
    """A request to move KV-cache space to another device."""

    kv_handle: KVHandle
    """The allocation to move."""
    target_device: Identifier
    """Device to move it to, e.g. ``cuda:1``."""
