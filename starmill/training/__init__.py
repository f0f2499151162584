"""Fine-tuning on warehouse versions: SFT (full or LoRA) with TRL, recorded in the ``models`` dataset."""

from starmill.training.settings import TrainError, TrainSettings
from starmill.training.sft import TrainResult, train_rows, train_sft

__all__ = ["TrainError", "TrainResult", "TrainSettings", "train_rows", "train_sft"]
