"""Teacher generation with transformers' ``generate``: CPU or GPU, bf16 where supported.

Requests are batched (left padding) up to ``batch_size`` sequences; each request's ``n`` samples use
``num_return_sequences``. The torch generator is seeded from the seeds of the batch, so the same
requests in the same batches give the same completions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from starmill.generators import stopping
from starmill.generators.base import (
    Completion,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    RequestRefused,
    SettingsError,
)
from starmill.generators.weights import check_model_path, model_revision

DTYPES = ("auto", "bf16", "bfloat16", "float16", "float32", "fp32")


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise SettingsError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")


class TransformersBackend:
    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: str = "auto",
        device: str | None = None,
        batch_size: int = 64,
        trust_remote_code: bool = False,
    ) -> None:
        check_model_path(model, trust_remote_code=trust_remote_code)
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress bars report generation

        self.torch, self.model_id, self.batch_size = torch, model, batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtypes = {
            "auto": "auto",
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
            "float16": torch.float16,
            "float32": torch.float32,
            "fp32": torch.float32,
        }
        check_dtype(dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                model, revision=revision, trust_remote_code=trust_remote_code
            )
            self.model = AutoModelForCausalLM.from_pretrained(
                model, revision=revision, dtype=dtypes[dtype], trust_remote_code=trust_remote_code, use_safetensors=True
            ).to(self.device)  # never a pickle: loading one can run code
        except (OSError, ValueError) as exc:
            raise SettingsError(f"could not load model {model!r}: {str(exc).splitlines()[0]}") from None
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.context = getattr(self.model.config, "max_position_embeddings", None)
        self._info = EngineInfo(
            "transformers",
            transformers.__version__,
            model,
            revision or model_revision(model),
            str(self.model.dtype).removeprefix("torch."),
        )

    def info(self) -> EngineInfo:
        return self._info

    def close(self) -> None:
        self.model = None

    # ------------------------------------------------------------------------------------------
    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        if request.messages is not None:
            if not self.tokenizer.chat_template:
                raise SettingsError(f"model {self.model_id!r} has no chat template: send text prompts")
            text = request.rendered(
                self.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
            )
        else:
            text = request.rendered()
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.context and len(ids) + request.sampling.max_tokens > self.context:
            raise RequestRefused(
                f"request {request.request_id}: prompt of {len(ids)} tokens plus max_tokens "
                f"{request.sampling.max_tokens} exceeds the model's context of {self.context} tokens",
                request_id=request.request_id,
                reason="context_overflow",
            )
        return ids

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        prompts = [self._prompt_ids(r) for r in requests]  # every error before any work
        results: dict[str, GenerationResult] = {}
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            s = r.sampling
            groups.setdefault((s.n, s.temperature, s.top_p, s.top_k, s.max_tokens, s.stop, s.logprobs), []).append(i)
        for indexes in groups.values():
            per_batch = max(1, self.batch_size // requests[indexes[0]].sampling.n)
            for start in range(0, len(indexes), per_batch):
                chunk = indexes[start : start + per_batch]
                stopping.check()
                outs = self._run([requests[i] for i in chunk], [prompts[i] for i in chunk])
                for i, completions in zip(chunk, outs):
                    results[requests[i].request_id] = GenerationResult(requests[i].request_id, completions, self._info)
        return [results[r.request_id] for r in requests]

    def _run(self, requests: list[GenerationRequest], prompts: list[list[int]]) -> list[list[Completion]]:
        torch, s = self.torch, requests[0].sampling
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        seeds = [r.sampling.seed for r in requests]
        seed = int(hashlib.sha256(repr(seeds).encode()).hexdigest()[:8], 16)
        torch.manual_seed(seed)
        sampled = s.temperature > 0
        per_prompt = s.n if sampled else 1  # greedy samples are all the same: decode once, copy n times
        kwargs: dict[str, Any] = dict(
            max_new_tokens=s.max_tokens,
            num_return_sequences=per_prompt,
            pad_token_id=pad,
            eos_token_id=self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            output_logits=s.logprobs is not None,
        )
        if sampled:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k if s.top_k > 0 else 0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(input_ids=ids, attention_mask=mask, stopping_criteria=_on_stop(torch), **kwargs)
        stopping.check()  # a batch the stop cut short is dropped, never recorded
        new = out.sequences[:, width:]
        results = []
        for r_index, prompt in enumerate(prompts):
            rows = [r_index * per_prompt + j for j in range(per_prompt)]
            completions = [self._completion(new[row], len(prompt), s, out.logits, row) for row in rows]
            results.append(completions * s.n if not sampled else completions)
        return results

    def _completion(self, tokens, prompt_len: int, s, logits, row: int) -> Completion:
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        token_list = tokens.tolist()
        length, finish = len(token_list), "length"
        for k, t in enumerate(token_list):
            if t == eos or (t == pad and pad != eos):
                length, finish = k, "stop"
                break
        text = self.tokenizer.decode(token_list[:length], skip_special_tokens=True)
        for stop in s.stop:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        logprobs = top_ids = top_values = None
        if s.logprobs is not None and logits:
            logprobs, top_ids, top_values = [], [], []  # of the model's own distribution, before temperature
            for step in range(min(length, len(logits))):  # and top-p/top-k (as vLLM)
                top = self.torch.log_softmax(logits[step][row].float(), dim=-1).topk(s.logprobs)
                ids, values = top.indices.tolist(), top.values.tolist()
                logprobs.append({self.tokenizer.decode([i]): float(v) for v, i in zip(values, ids)})
                top_ids.append(tuple(ids))
                top_values.append(tuple(float(v) for v in values))
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_len,
            completion_tokens=length,
            logprobs=logprobs,
            token_ids=tuple(token_list[:length]),
            top_ids=tuple(top_ids) if top_ids is not None else None,
            top_logprobs=tuple(top_values) if top_values is not None else None,
        )


def _on_stop(torch):
    """Ends every sequence of the batch at the next token once a stop is requested."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class OnStop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), stopping.requested(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([OnStop()])
