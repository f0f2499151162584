"""The STaR outer loop's training step (Zelikman et al. 2022, Algorithm 1): after iteration i's
rationales and rationalizations are selected, fine-tune M(i+1) on them — from the base model by default
(the paper restarts to avoid overfitting) with a step count that grows each iteration — evaluate it on
held-out problems, and let it sample iteration i+1.

Resumable: a model folder that holds its training manifest is reused, an unfinished one resumes from its
checkpoints (``DIR.partial``), and an evaluation already made for a model is read back from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from starmill.generators import stopping
from starmill.pipeline.models import KeptRows, NextModel, Teacher

HELDOUT = "heldout.json"  # the model folder's evaluation, reused on resume


class StopIterations(Exception):
    """Held-out accuracy stopped rising: the loop ends before sampling with the new model."""


class TrainedModel(NextModel):
    def __init__(self, run, workdir: Path):
        self.run, self.cfg, self.workdir = run, run.config.iterations, Path(workdir)
        self.best: float | None = None
        self.heldout: dict[int, dict[str, Any]] = {}  # iteration -> the metrics of its model
        self.trained: dict[int, dict[str, Any]] = {}  # iteration -> what trained its model

    # the steps ------------------------------------------------------------------------------------
    def baseline(self, base: Teacher) -> None:
        """Evaluate M0 before the first iteration (when an eval set is configured)."""
        if self.cfg.eval is not None:
            self.heldout[0] = self._evaluate(base["model"], self.workdir / "m0-heldout.json")
            self.best = self._score(self.heldout[0])

    def teacher(self, iteration: int, base: Teacher, kept: KeptRows) -> Teacher:
        model = self._train(iteration, base, kept)
        if self.cfg.eval is not None:
            metrics = self._evaluate(str(model), model / HELDOUT)
            self.heldout[iteration] = metrics
            score = self._score(metrics)
            if self.cfg.early_stop and self.best is not None and score <= self.best:
                raise StopIterations(f"held-out {self.cfg.eval.metric} {score:.3f} <= {self.best:.3f}")
            self.best = score if self.best is None else max(self.best, score)
        return {**base, "model": str(model), "revision": None}

    def final(self, iterations: int, base: Teacher, kept: KeptRows) -> None:
        """Train (and evaluate) M(K) on the last iteration's rows, after the loop."""
        try:
            self.teacher(iterations, base, kept)
        except StopIterations:
            pass

    # parts ----------------------------------------------------------------------------------------
    def _rows(self, iteration: int, kept: KeptRows) -> list[dict]:
        """The rows iteration ``iteration - 1`` kept (rationales and rationalizations, hint-free)."""
        from starmill.training.data import as_training_rows

        path = kept(self.workdir / f"sft-before-it{iteration}.parquet")
        rows = [r for r in pq.read_table(path).to_pylist() if r["iteration"] == iteration - 1]
        return as_training_rows(rows, self.cfg.train.system_prompt)

    def _train(self, iteration: int, base: Teacher, kept: KeptRows) -> Path:
        from starmill.training import train_rows

        stopping.check()
        output = self.workdir / f"model-it{iteration}"
        manifest = output / "starmill_training.json"
        if manifest.exists():  # finished before a restart
            self.trained[iteration] = json.loads(manifest.read_text())
            return output
        rows = self._rows(iteration, kept)
        settings = self.cfg.train
        if settings.max_steps > 0:
            steps = max(1, round(settings.max_steps * self.cfg.step_growth ** (iteration - 1)))
            settings = settings.model_copy(update={"max_steps": steps})
        start = (
            base["model"]
            if self.cfg.train_from == "base" or iteration == 1
            else str(self.workdir / f"model-it{iteration - 1}")
        )
        from starmill.generators.registry import resolve_model

        data = f"{self.run.run_key}/iteration-{iteration - 1}"
        result = train_rows(rows, data, resolve_model(start), output, settings, progress=True)
        self.trained[iteration] = result.manifest
        from starmill.training.registry import record_model

        record_model(self.run.wh, {**result.manifest, "data": []}, str(output))  # the rows live in the run's sft
        return output

    def _evaluate(self, model: str, cache: Path) -> dict[str, Any]:
        from starmill.evaluation import EvalSettings, evaluate

        if cache.exists():
            return json.loads(cache.read_text())
        ev = self.cfg.eval
        settings = EvalSettings(
            n=ev.n,
            temperature=ev.temperature,
            max_tokens=ev.max_tokens or self.run.config.sampling.max_tokens,
            template=self.run.config.prompts.template,
            seed=ev.seed,
            backend=self.run.config.teacher.backend,
        )
        report = evaluate(self.run.wh, model, ev.source, settings)
        metrics = {"evals": report.ref, "problems": report.problems_ref, **report.metrics}
        cache.write_text(json.dumps(metrics, indent=1, sort_keys=True))
        return metrics

    def _score(self, metrics: dict[str, Any]) -> float:
        return float(metrics.get(self.cfg.eval.metric, 0.0))

    def best_model(self, base: Teacher) -> dict[str, Any] | None:
        """The evaluated model (M0 included) with the highest held-out metric, the earliest of equals: what
        the loop found best, which is not always M(K) (a later model can fall back)."""
        if not self.heldout:
            return None
        iteration = max(sorted(self.heldout), key=lambda i: self._score(self.heldout[i]))
        model = base["model"] if iteration == 0 else str(self.workdir / f"model-it{iteration}")
        return {
            "iteration": iteration,
            "model": model,
            "metric": self.cfg.eval.metric,
            "value": self._score(self.heldout[iteration]),
            "evals": self.heldout[iteration].get("evals"),
        }

    def report(self, iteration: int) -> dict[str, Any]:
        """What the iteration report records about the model of ``iteration``."""
        trained = self.trained.get(iteration) or {}
        return {
            "heldout": {k: v for k, v in (self.heldout.get(iteration) or {}).items() if isinstance(v, (int, float))}
            or None,
            "evals": (self.heldout.get(iteration) or {}).get("evals"),
            "train_rows": trained.get("rows"),
            "train_steps": trained.get("steps"),
        }
