"""The one interface every teacher backend implements: requests in, completions out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from starmill.schemas.errors import StarmillError

Message = dict[str, str]  # {"role": ..., "content": ...}


# Errors of our own code: the same call fails the same way, so a retry only wastes the wait.
NOT_RETRIED = (
    TypeError,
    ValueError,
    AttributeError,
    NameError,
    ImportError,
    KeyError,
    IndexError,
    AssertionError,
    NotImplementedError,
)


class GenerationError(StarmillError):
    """Generation failed: an unreachable or failing server, an engine that could not start, … (retried)."""

    retryable = True


class SettingsError(GenerationError):
    """Bad settings, a model that does not exist or load, a server refusing our requests (401, 404):
    deterministic, so a shard that raises it is not retried."""

    retryable = False


class RequestRefused(SettingsError):
    """One request of a batch the engine cannot run (a prompt over the context, an empty prompt, a
    server's 4xx on it): the caller drops it with ``reason`` and runs its neighbours."""

    def __init__(self, message: str, *, request_id: str, reason: str):
        super().__init__(message)
        self.request_id, self.reason = request_id, reason


def retryable(exc: BaseException) -> bool:
    """Whether running the same work again may succeed: not for errors that say they are
    deterministic (``SettingsError``) nor for errors of our own code (``NOT_RETRIED``)."""
    flag = getattr(exc, "retryable", None)
    if flag is not None:
        return bool(flag)
    return not isinstance(exc, NOT_RETRIED)


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = -1  # -1: off
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: int | None = None  # top-k logprobs per generated token, None: off

    def __post_init__(self) -> None:
        if self.n < 1:
            raise SettingsError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise SettingsError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise SettingsError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise SettingsError(f"max_tokens must be >= 1, got {self.max_tokens}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "logprobs": self.logprobs,
        }


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt: chat messages (the backend applies the chat template) or raw text. ``prefix``
    continues the answer from text already written (a search's partial path, a rollout from a step
    prefix): the backend puts it after the rendered prompt, and the completion is what follows it."""

    request_id: str
    messages: Sequence[Message] | None = None
    text: str | None = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    prefix: str | None = None

    def rendered(self, chat_text: str | None = None) -> str:
        """The prompt text with the prefix after it: ``chat_text`` is the chat template's rendering
        of the messages (with the generation prompt); text requests use their text."""
        return (self.text if chat_text is None else chat_text) + (self.prefix or "")  # type: ignore[operator]

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.text is None):
            raise SettingsError("a request needs exactly one of messages or text")


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" | "length" | "error"
    prompt_tokens: int
    completion_tokens: int
    reasoning: str | None = None  # a server's separate reasoning_content, when it has one
    logprobs: list[dict[str, float]] | None = None  # per token: top-k token -> logprob
    token_ids: tuple[int, ...] | None = None  # the generated tokens, where the engine gives them
    top_ids: tuple[tuple[int, ...], ...] | None = None  # per token: the top-k token ids, best first (logprobs on)
    top_logprobs: tuple[tuple[float, ...], ...] | None = None  # and their logprobs (vLLM, transformers)

    def as_json(self) -> dict[str, Any]:
        """The text, finish reason, token counts and reasoning as a JSON object (no logprobs or token ids)."""
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning": self.reasoning,
        }


@dataclass(frozen=True)
class EngineInfo:
    engine: str  # "vllm" | "openai" | "transformers"
    engine_version: str | None
    model: str
    model_revision: str | None  # hub revision, or a hash of the weights for local paths
    dtype: str | None


@dataclass(frozen=True)
class GenerationResult:
    request_id: str
    completions: list[Completion]
    engine: EngineInfo


class Backend(Protocol):
    """Stateless, batched generation. Implementations live one per module in ``generators/``."""

    def info(self) -> EngineInfo: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def close(self) -> None: ...
