"""``orm`` and ``prm``: reward models (``starmill train --task orm|prm``) as scorers.

    scorers:
      - {name: orm, model: models/orm}                    # value: the reward in [0, 1]
      - {name: prm, model: models/prm, aggregate: min}     # value: aggregate of the per-step P(good)

A scorer holds only its options (it pickles to Ray/Dask workers); its model loads on first use, once per
process (``filters.scorers.reward_models.load``). ORM value: sigmoid of the single logit (a Bradley-Terry reward
as TRL's RewardTrainer trains it: a monotone score, not a calibrated probability), or P(label 1) for a
2-label head. Both score partial paths too: ``score_texts(prompts, texts)`` scores many at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starmill.filters.scorers import reward_models as rm
from starmill.filters.scorers.base import SCORERS, Score, Scorer, ScorerError, aggregate, check_aggregate


def _checked(call, *args):
    """``call(*args)``, its RewardModelError as the ScorerError every scorer raises."""
    try:
        return call(*args)
    except rm.RewardModelError as exc:
        raise ScorerError(str(exc)) from None


class ModelScorer(Scorer):
    task = "orm"

    def __init__(self, *, model: str | None = None, batch_size: int = 16, max_length: int = 512):
        if not model or not isinstance(model, str):
            raise ScorerError(f"scorer {self.name!r} needs model: a folder made by `starmill train --task {self.task}`")
        if batch_size < 1 or max_length < 8:
            raise ScorerError(f"scorer {self.name!r}: batch_size must be 1 or more and max_length 8 or more")
        _checked(
            rm.check_head, model, self.task
        )  # reads config.json only: a causal LM is refused before any run starts
        self.model, self.batch_size, self.max_length = model, batch_size, max_length
        self.manifest = rm.training_manifest(model)

    @property
    def version(self) -> str:  # the weights scored with, so a score says which model gave it
        return f"1+{str(self.manifest.get('weights') or 'untracked').removeprefix('sha256:')[:16]}"

    def score_many(self, items):
        return self.score_texts([s.prompt for _, s in items], [s.output_text() for _, s in items])

    def score_texts(self, prompts: Sequence[Any], texts: Sequence[str]) -> list[Score]:
        """One score per (prompt, text); the text may be a partial path."""
        if len(prompts) != len(texts):
            raise ScorerError(f"scorer {self.name!r}: {len(prompts)} prompts for {len(texts)} texts")
        return self._score_all(prompts, texts)

    def _score_all(self, prompts: Sequence[Any], texts: Sequence[str]) -> list[Score]:
        """The scores of equally many prompts and texts: ``batch_size`` at a time through ``_batch``."""
        out: list[Score] = []
        for start in range(0, len(texts), self.batch_size):
            out += self._batch(prompts[start : start + self.batch_size], texts[start : start + self.batch_size])
        return out


ENGINES = ("transformers", "vllm")


@SCORERS.register
class OrmScorer(ModelScorer):
    """``engine: transformers`` (default) batches ``batch_size`` sequences through the model;
    ``engine: vllm`` hands every sequence to vLLM's pooling runner at once (``filters.scorers.reward_vllm``),
    ``engine_options`` going to ``vllm.LLM`` (e.g. ``gpu_memory_utilization`` beside a teacher)."""

    name = "orm"
    task = "orm"

    def __init__(
        self,
        *,
        model: str | None = None,
        batch_size: int = 16,
        max_length: int = 512,
        engine: str = "transformers",
        engine_options: dict[str, Any] | None = None,
    ):
        super().__init__(model=model, batch_size=batch_size, max_length=max_length)
        if engine not in ENGINES:
            raise ScorerError(f"scorer 'orm': engine {engine!r} is not one of {', '.join(ENGINES)}")
        if engine_options is not None and (not isinstance(engine_options, dict) or engine != "vllm"):
            raise ScorerError("scorer 'orm': engine_options is a mapping of vllm.LLM settings, for engine: vllm")
        self.engine, self.engine_options = engine, dict(engine_options or {})

    def _score_all(self, prompts: Sequence[Any], texts: Sequence[str]) -> list[Score]:
        if self.engine != "vllm":
            return super()._score_all(prompts, texts)
        from starmill.filters.scorers import reward_vllm

        if not texts:
            return []
        llm = _checked(reward_vllm.engine, self.model, self.max_length, self.engine_options)
        tokenizer = llm.get_tokenizer()
        ids = [rm.orm_ids(tokenizer, p, t, self.max_length) for p, t in zip(prompts, texts)]
        return [Score(v) for v in reward_vllm.classify(llm, ids)]

    def _batch(self, prompts, texts):
        import torch

        model, tokenizer = _checked(rm.load, self.model, "orm")
        ids = [rm.orm_ids(tokenizer, p, t, self.max_length) for p, t in zip(prompts, texts)]
        mask = [[1] * len(r) for r in ids]
        with torch.no_grad():
            logits = model(
                input_ids=torch.tensor(rm.pad(ids, tokenizer.pad_token_id), device=model.device),
                attention_mask=torch.tensor(rm.pad(mask, 0), device=model.device),
            ).logits.float()
        values = torch.sigmoid(logits[:, 0]) if logits.shape[-1] == 1 else torch.softmax(logits, -1)[:, -1]
        return [Score(float(v)) for v in values.tolist()]


@SCORERS.register
class PrmScorer(ModelScorer):
    """Per-step P(good) at each step's tag; the step tag and delimiter default to what the model was
    trained with (its manifest)."""

    name = "prm"
    task = "prm"

    def __init__(
        self,
        *,
        model: str | None = None,
        aggregate: str = "min",
        delimiter: str | None = None,
        step_tag: str | None = None,
        batch_size: int = 16,
        max_length: int = 512,
    ):
        super().__init__(model=model, batch_size=batch_size, max_length=max_length)
        self.aggregate = check_aggregate("prm", aggregate)
        self.delimiter = delimiter if delimiter is not None else self.manifest.get("delimiter", "\n")
        self.step_tag = step_tag if step_tag is not None else self.manifest.get("step_tag")
        if not self.delimiter:
            raise ScorerError("scorer 'prm': delimiter is empty: steps need a delimiter to be split at (e.g. '\\n')")
        if not self.step_tag:
            raise ScorerError(
                f"scorer 'prm': no step tag for {model} (its training manifest names none): give "
                "step_tag, the token the model was trained to label after each step"
            )

    @property
    def version(self) -> str:
        return f"{super().version}:{self.aggregate}"

    def _batch(self, prompts, texts):
        import torch

        model, tokenizer = _checked(rm.load, self.model, "prm")
        tag = _checked(rm.tag_id, tokenizer, self.step_tag, "scorer 'prm'")
        encoded = [
            rm.prm_ids(tokenizer, p, rm.split_steps(t, self.delimiter), tag, self.delimiter, self.max_length)
            for p, t in zip(prompts, texts)
        ]
        ids = [e[0] for e in encoded]
        mask = [[1] * len(r) for r in ids]
        with torch.no_grad():
            logits = model(
                input_ids=torch.tensor(rm.pad(ids, tokenizer.pad_token_id), device=model.device),
                attention_mask=torch.tensor(rm.pad(mask, 0), device=model.device),
            ).logits.float()
        good = torch.softmax(logits, -1)[..., -1].tolist()
        out = []
        for row, (_, positions) in zip(good, encoded):
            kept = [row[p] for p in positions if p is not None]
            # steps cut off at the start (longer than max_length) take the first scored step's value
            steps = tuple([kept[0]] * (len(positions) - len(kept)) + kept) if kept else ()
            out.append(Score(aggregate(steps, self.aggregate), steps))
        return out
