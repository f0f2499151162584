"""Issue 22, the user's journey end to end: eval against a server and a GSM8K file, what a run says
when it keeps nothing or resumes, readable tables, one problem's attempts, shareable cards."""
import json

from tests.fixtures_engines import Reply, chat_body
from tests.helpers import run_cli

GSM8K = [{"question": "Tom has 70 apples and buys 2 more. How many apples does he have?",
          "answer": "70 + 2 = 72\n#### 72"},
         {"question": "A box holds 3 rows of 4 eggs. How many eggs are in the box?",
          "answer": "3 * 4 = 12\n#### 12"}]


def _gsm8k_file(tmp_path):
    path = tmp_path / "gsm8k_test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in GSM8K))
    return path


def test_eval_reads_a_gsm8k_file_against_an_openai_server(tmp_path, capsys, scripted_server):
    from warehouse import Warehouse

    wh, path = str(tmp_path / "wh"), _gsm8k_file(tmp_path)
    scripted_server.respond = lambda seen: Reply(body=chat_body(seen.body, ["So the answer is 72."]))
    # without --preset the file is read as plain: no version, and the error says why
    code, _, stderr = run_cli(capsys, "eval", "m", "--backend", "openai", "--base-url", scripted_server.base_url,
                              "--on", str(path), "-n", "0", "-w", wh)
    assert code == 1 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"Error: {path} holds no problems: all 2 rows were rejected (unparseable_gold 2) "
        "(is it GSM8K or MATH? give --preset gsm8k or --preset math)")
    assert not Warehouse(wh).versions("eval_problems")
    code, stdout, stderr = run_cli(capsys, "eval", "m", "--backend", "openai", "--base-url",
                                   scripted_server.base_url, "--on", str(path), "--preset", "gsm8k", "-n", "0",
                                   "--api-key-env", "MY_KEY", "--json", "-w", wh)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["problems"] == "eval_problems@v1" and result["metrics"]["greedy_pass@1"] == 0.5
    assert len(scripted_server.posts()) == 2


def test_eval_openai_without_base_url_is_one_error_line(tmp_path, capsys):
    code, _, stderr = run_cli(capsys, "eval", "m", "--backend", "openai", "--on", "procedural:n=2",
                              "-w", str(tmp_path / "wh"))
    assert code == 1 and stderr.strip() == "Error: eval: the openai backend needs base_url (the server's /v1 URL)"
    assert not (tmp_path / "wh" / "eval_problems").exists()
