"""Teacher cost: the price table, the run report's token and cost figures (from a scripted OpenAI-compatible
server's usage, or counted when it reports none), `starmill show`, and `starmill run --dry-run`."""

import json
import re

import pytest
import yaml

from starmill.schemas.cost import cost_figures, cost_line
from tests.fixtures_engines import Reply, chat_body
from tests.fixtures_export import read_card
from tests.helpers import run_cli

PRICE = {"input_per_million": 1.0, "output_per_million": 2.0}


def test_cost_figures_per_sample_kept_row_and_solved_problem():
    f = cost_figures(7000, 3000, samples=100, kept_rows=20, solved=10, price=PRICE)
    assert (f["tokens"], f["tokens_per_sample"], f["tokens_per_kept_row"], f["tokens_per_solved_problem"]) == (
        10000,
        100,
        500,
        1000,
    )
    assert f["usd"] == pytest.approx(0.013)  # 7000 x $1/M + 3000 x $2/M
    assert (f["usd_per_sample"], f["usd_per_kept_row"], f["usd_per_solved_problem"]) == (
        pytest.approx(0.00013),
        pytest.approx(0.00065),
        pytest.approx(0.0013),
    )
    batch = cost_figures(
        7000, 3000, samples=100, kept_rows=0, solved=0, price={**PRICE, "batch_discount": 0.5}, batch=True
    )
    assert batch["usd"] == pytest.approx(0.0065) and batch["usd_per_kept_row"] is None
    free = cost_figures(7000, 3000, samples=100, kept_rows=20, solved=10)
    assert free["usd"] is None and "price" not in free and free["tokens_per_kept_row"] == 500


def solving_server(scripted_server, usage: bool = True):
    """Answers "Compute A op B." right, so every problem keeps a row."""

    def respond(seen):
        question = seen.body["messages"][-1]["content"]
        a, op, b = re.search(r"Compute (\d+) ([+-]) (\d+)\.", question).groups()
        c = int(a) + int(b) if op == "+" else int(a) - int(b)
        body = chat_body(seen.body, [f"{a} {op} {b} = {c}\nThe answer is {c}."] * seen.body.get("n", 1))
        if not usage:
            del body["usage"]
        return Reply(body=body)

    scripted_server.respond = respond


def hosted(scripted_server, **sampling):
    return {
        "source": {"procedural": {"n": 4, "seed": 7, "difficulty": 1}},
        "teacher": {
            "backend": "openai",
            "model": "gpt-test",
            "base_url": scripted_server.base_url,
            "options": {"progress": False, "max_retries": 0},
            "price": PRICE,
        },
        "sampling": {"n": 2, "max_tokens": 32, "seed": 1, **sampling},
        "runner": {"retries": 0},
    }


def test_a_run_reports_tokens_and_cost_from_the_servers_usage(scripted_server, tmp_path, capsys):
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    solving_server(scripted_server)
    wh = str(tmp_path / "wh")
    summary = run_star(parse_config(hosted(scripted_server)), wh, progress=False)
    cost = summary["cost"]
    # 4 problems x 2 samples, each 7 prompt + 3 completion tokens (the server's usage); one row kept each
    assert (cost["samples"], cost["kept_rows"], cost["solved_problems"]) == (8, 4, 4)
    assert (cost["prompt_tokens"], cost["completion_tokens"], cost["counted_samples"]) == (56, 24, 0)
    assert (cost["tokens_per_sample"], cost["tokens_per_kept_row"], cost["tokens_per_solved_problem"]) == (10, 20, 20)
    assert cost["usd"] == pytest.approx((56 * 1 + 24 * 2) / 1e6)
    assert cost["usd_per_kept_row"] == pytest.approx(cost["usd"] / 4)
    assert summary["report"]["cost"] == cost
    code, stdout, stderr = run_cli(capsys, "show", summary["sft"], "-w", wh)
    assert code == 0, stderr
    assert (
        "  cost:      80 teacher tokens (56 prompt, 24 completion); 10 per sample, 20 per kept row, "
        "20 per solved problem; cost $0.0001, $0.000013 per sample, $0.000026 per kept row" in stdout
    )
    code, stdout, _ = run_cli(capsys, "show", summary["sft"], "-w", wh, "--json")
    assert json.loads(stdout)["report"]["cost"]["usd"] == pytest.approx(0.000104)
    code, _, stderr = run_cli(capsys, "export", summary["sft"], "--to", str(tmp_path / "export"), "-w", wh)
    assert code == 0, stderr
    _, body = read_card(tmp_path / "export")
    assert "| teacher cost | 80 teacher tokens (56 prompt, 24 completion); 10 per sample" in body


def test_without_usage_the_tokens_are_counted_from_the_text(scripted_server, tmp_path):
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    solving_server(scripted_server, usage=False)
    summary = run_star(parse_config(hosted(scripted_server)), str(tmp_path / "wh"), progress=False)
    cost = summary["cost"]
    assert cost["counted_samples"] == cost["samples"] == 8
    # "13 + 4 = 17\nThe answer is 17." is 30 characters: 8 tokens at 4 characters a token
    assert cost["completion_tokens"] > 0 and cost["prompt_tokens"] > 0
    assert "8 sample(s) without usage: counted from text" in cost_line(cost)


def test_dry_run_prints_an_upper_bound_and_asks_the_teacher_nothing(scripted_server, tmp_path, capsys):
    config = tmp_path / "run.yaml"
    data = hosted(scripted_server, n=3, max_tokens=50)
    data["teacher"]["options"]["batch"] = True
    config.write_text(yaml.safe_dump(data))
    wh = tmp_path / "wh"
    code, stdout, stderr = run_cli(capsys, "run", str(config), "-w", str(wh), "--dry-run", "--json")
    assert code == 0, stderr
    f = json.loads(stdout)
    # 4 problems x (3 rationales + 2 rationalizations) x 1 iteration, every sample at max_tokens
    assert (f["samples"], f["completion_tokens"], f["batch"], f["upper_bound"]) == (20, 20 * 50, True, True)
    assert f["prompt_tokens"] > 20 * 4  # every prompt's words, estimated
    assert f["usd"] == pytest.approx((f["prompt_tokens"] * 1 + f["completion_tokens"] * 2) / 1e6 * 0.5)
    code, stdout, _ = run_cli(capsys, "run", str(config), "-w", str(wh), "--dry-run")
    assert code == 0 and stdout.startswith("Dry run: nothing generated, nothing written.\n")
    assert f"Upper bound: {f['tokens']:,} teacher tokens" in stdout and "Cost upper bound: $0.0" in stdout
    assert scripted_server.seen == [] and not wh.exists()  # nothing asked, nothing written


def test_dry_run_without_a_price_says_so(tmp_path, capsys):
    code, stdout, _ = run_cli(capsys, "run", "--dry-run", "-w", str(tmp_path / "wh"))
    assert code == 0
    assert "At most 384 samples: 64 problems x (4 rationales + 2 rationalizations) x 1 iteration(s)" in stdout
    assert "Cost: no teacher.price in the config" in stdout


def test_a_bad_price_is_one_error_line(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"teacher": {"price": {"input_per_million": -1, "output_per_million": 2}}}))
    code, stdout, stderr = run_cli(capsys, "run", str(config), "--dry-run")
    assert code == 1 and stdout == ""
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1
    assert "teacher.price.input_per_million" in stderr
