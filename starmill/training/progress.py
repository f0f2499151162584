"""How a training run shows its progress: one bar (or, without one, a line every tenth of the run)
on stderr, in place of the trainer's one metrics dict per logging step."""

from __future__ import annotations

import sys

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

LINES = 10  # periodic lines per run when there is no bar


class StepProgress(TrainerCallback):
    """A tqdm bar with the latest loss (``bar``), or ``step N/M loss X`` every tenth of the run."""

    def __init__(self, bar: bool = True) -> None:
        self.bar = bar
        self._tqdm = None
        self._loss: float | None = None
        self._every = 1

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self._every = max(1, state.max_steps // LINES)
        if self.bar:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(
                total=state.max_steps,
                initial=state.global_step,
                desc="train",
                unit="step",
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self._loss = float(logs["loss"])
            if self._tqdm is not None:
                self._tqdm.set_postfix(loss=f"{self._loss:.4f}", refresh=False)

    def on_step_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        if self._tqdm is not None:
            self._tqdm.update(state.global_step - self._tqdm.n)
        elif state.global_step % self._every == 0 or state.global_step == state.max_steps:
            loss = "" if self._loss is None else f" loss {self._loss:.4f}"
            print(f"train: step {state.global_step}/{state.max_steps}{loss}", file=sys.stderr, flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None


def show_progress(trainer, bar: bool) -> None:
    """Swap the trainer's printers (a dict per logging step) for one ``StepProgress``."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StepProgress(bar))
