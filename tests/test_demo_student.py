"""The demo student: ~1M parameters, the teacher's tokenizer (so top-k distillation lines up), loads by alias."""

import json
from pathlib import Path

from starmill.generators.registry import STUDENT_ALIAS, resolve_model

ROOT = Path(__file__).resolve().parent.parent / "generators"


def test_student_is_small_and_shares_the_teachers_tokenizer():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(STUDENT_ALIAS)
    assert Path(path) == ROOT / "demo_student"
    student = AutoModelForCausalLM.from_pretrained(path)
    teacher = AutoModelForCausalLM.from_pretrained(str(ROOT / "demo_teacher"))
    n_student = sum(p.numel() for p in student.parameters())
    n_teacher = sum(p.numel() for p in teacher.parameters())
    assert 0.5e6 < n_student < 1.5e6 and n_student < n_teacher / 2
    s_tok, t_tok = AutoTokenizer.from_pretrained(path), AutoTokenizer.from_pretrained(str(ROOT / "demo_teacher"))
    assert s_tok.get_vocab() == t_tok.get_vocab() and s_tok.chat_template == t_tok.chat_template
    text = "What is 12 + 7? <think>12 + 7 = 19</think> 19"
    assert s_tok(text)["input_ids"] == t_tok(text)["input_ids"]
    recipe = json.loads((ROOT / "demo_student" / "training_config.json").read_text())
    assert recipe["parameters"] == n_student and recipe["trained"] is False
