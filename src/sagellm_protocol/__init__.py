"""sagellm-protocol: the Protocol v0.1 contract of the sageLLM inference stack.

Every component (backend, engine core, KV cache, communication, compression, gateway,
benchmark) exchanges these messages. They are pydantic models that reject anything the
contract does not allow: unknown fields, lossy coercions, non-finite floats, out-of-range
values and broken rules across fields.
"""

from ._version import PROTOCOL_VERSION, __version__
from .codec import PROTOCOL_VERSION_HEADER, decode, encode
from .errors import Error, ErrorCode, ProtocolError
from .kv_hooks import (
    KVAllocateParams,
    KVDType,
    KVEvictReason,
    KVHandle,
    KVLayout,
    KVMigrateParams,
)
from .openai_types import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamChoice,
    ChatCompletionStreamDelta,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatMessage,
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    ModelInfo,
    ModelListResponse,
    OpenAIError,
    OpenAIErrorResponse,
)
from .sse import SSE_MEDIA_TYPE
from .timestamps import Timestamps
from .types import (
    DeltaEvent,
    EndEvent,
    Metrics,
    Request,
    Response,
    StartEvent,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = [
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_HEADER",
    "SSE_MEDIA_TYPE",
    "ChatCompletionChoice",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionStreamChoice",
    "ChatCompletionStreamDelta",
    "ChatCompletionStreamResponse",
    "ChatCompletionUsage",
    "ChatMessage",
    "DeltaEvent",
    "EmbeddingData",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "EndEvent",
    "Error",
    "ErrorCode",
    "KVAllocateParams",
    "KVDType",
    "KVEvictReason",
    "KVHandle",
    "KVLayout",
    "KVMigrateParams",
    "Metrics",
    "ModelInfo",
    "ModelListResponse",
    "OpenAIError",
    "OpenAIErrorResponse",
    "ProtocolError",
    "Request",
    "Response",
    "StartEvent",
    "StreamEvent",
    "StreamEventDelta",
    "StreamEventEnd",
    "StreamEventStart",
    "Timestamps",
    "__version__",
    "decode",
    "encode",
]
