"""`starmill view` over plain HTTP: every page's status and content, 404s, methods refused, the token
off loopback, the Host check, the escaping of hostile output, and Ctrl-C in a real process."""

import http.client
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.fixtures_viewer import INJECTION


def get(url, headers=None, method="GET"):
    """(status, headers, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


def test_index_lists_datasets_and_flags_the_damaged_version(viewer):
    status, headers, body = get(viewer + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    for name in ("samples", "sft", "problems", "evals", "tree", "broken"):
        assert f'href="/datasets/{name}"' in body
    row = re.search(r'<tr class="damaged">.*?</tr>', body, re.S).group(0)
    assert "/datasets/broken" in row and "v1 damaged" in row and 'href="/datasets/broken/v2"' in row
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_version_page_shows_manifest_report_lineage_and_rows(viewer, viewer_warehouse):
    _, refs = viewer_warehouse
    status, _, body = get(viewer + "/datasets/samples/v1")
    assert status == 200
    assert "Run report" in body and "drops per reason" in body and "pass-rate histogram" in body
    assert "pass@1" in body and "STaR iterations" in body
    assert f'href="/datasets/{refs["problems"].replace("@", "/")}"' in body  # lineage links its parent
    assert body.count('<svg class="chart"') >= 3  # drops, histogram, lineage
    from starmill.warehouse import Warehouse

    drops = Warehouse(str(viewer_warehouse[0])).manifest("samples@v1").drops
    assert drops["wrong_answer"] == 5
    for reason, n in drops.items():  # the chart names every reason with its count
        assert re.search(rf'class="k">{reason}</text><rect [^>]*><title>{reason}: {n}</title>', body), reason
    assert body.count("<tr>", body.index("<tbody>", body.index('id="rows"'))) == 12  # 3 problems x 4 samples, one page


@pytest.mark.parametrize(
    "query, present, absent",
    [
        ("verdict=wrong", ['badge bad">wrong'], ['badge ok">correct']),
        ("reason=kept", ['badge ok">kept'], ["badge drop"]),
        ("reason=bad_step", ["bad_step"], ['badge ok">kept']),
        ("stage=rationalization", ["No rows match these filters"], []),
        ("q=frac", ["frac"], ["I think it is"]),
        ("q=FRAC", ["frac"], ["I think it is"]),  # any case
        ("q=%25", ["No rows match these filters"], []),  # % and _ are literal
        ("q=I_think", ["No rows match these filters"], []),
    ],
)
def test_filters(viewer, query, present, absent):
    status, _, body = get(viewer + "/datasets/samples/v1?" + query)
    rows = body[body.index("<h2>Rows</h2>") :]
    assert status == 200
    for text in present:
        assert text in rows, text
    for text in absent:
        assert text not in rows, text


def test_source_filter_and_pages(viewer, viewer_warehouse):
    _, refs = viewer_warehouse
    source = urllib.parse.quote("problems")
    status, _, body = get(viewer + f"/datasets/samples/v1?source={source}")
    assert status == 200 and body.count("<tr>", body.index("<tbody>", body.index('id="rows"'))) == 12
    status, _, body = get(viewer + "/datasets/samples/v1?source=elsewhere")
    assert status == 200 and "No rows match these filters" in body
    status, _, body = get(viewer + "/datasets/samples/v1?page=2")
    assert status == 200 and "No rows" in body and 'rel="prev"' in body
    assert get(viewer + "/datasets/samples/v1?page=0")[0] == 400
    assert get(viewer + "/datasets/samples/v1?page=abc")[0] == 400


def test_problem_page_shows_every_sample_of_every_version(viewer, viewer_warehouse):
    _, refs = viewer_warehouse
    status, _, body = get(viewer + f"/problems/{refs['problem_id']}")
    assert status == 200
    assert "Compute 2 + 3." in body and 'class="gold"' in body
    for ref in refs["samples"]:
        assert f">{ref}</a>" in body  # one column per samples version
    assert body.count('<article class="sample') == 8 + 4  # 4 samples in each of 2 versions, 4 evals
    assert "over_k" in body and "bad_step" in body and 'badge ok">kept' in body  # v2 keeps one
    assert 'class="rule"' in body and 'mark class="ans right"' in body
    assert '<mark class="step wrong"' in body  # "2 + 3 = 6" marked by the step checker
    assert '<details class="think"><summary>thinking' in body and "count three up from two" in body
    assert '<pre class="code"><span class="lang">python</span>' in body and '<span class="nb">print</span>' in body
    assert 'class="text tex"' in body  # the LaTeX sample goes to KaTeX
    assert "Search trees" in body and "2 + 3 = 6" in body
    assert "sft@v" in body  # kept samples name the sft version they are in


def test_hostile_output_is_text(viewer, viewer_warehouse):
    _, refs = viewer_warehouse
    body = get(viewer + f"/problems/{refs['problem_id']}")[2]
    assert "<script>document.title" not in body and "<img src=x" not in body
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;&lt;img src=x onerror=" in body
    rows = get(viewer + "/datasets/samples/v1?q=" + urllib.parse.quote("<script>"))[2]
    assert "&lt;script&gt;document.title" in rows and "<script>document" not in rows
    assert INJECTION.startswith("<script>")


def test_evals_tree_and_diff(viewer, viewer_warehouse):
    _, refs = viewer_warehouse
    status, _, body = get(viewer + "/datasets/evals")
    assert status == 200 and "Accuracy against N" in body and "<polyline" in body and "greedy_pass@1" in body
    status, _, body = get(viewer + "/datasets/tree")
    assert status == 200 and '<ul class="tree">' in body and "selected" in body
    assert '<ul class="tree">' in get(viewer + "/datasets/tree?source=problems&q=" + urllib.parse.quote("2 + 3 = 6"))[2]
    assert "No searches match" in get(viewer + "/datasets/tree?source=elsewhere")[2]
    assert "No searches match" in get(viewer + "/datasets/tree?stage=rationalization")[2]
    a, b = refs["samples"]
    status, _, body = get(viewer + "/diff?" + urllib.parse.urlencode({"a": a, "b": b}))
    assert status == 200
    summary = dict(re.findall(r"<tr><th>([a-z ]+)</th><td class=\"num[^\"]*\">([^<]+)</td></tr>", body))
    assert summary["added"] == "0" and summary["removed"] == "0" and summary["same key"] == "12"
    assert summary["changed"] == "2"  # k 2 -> 1: one kept sample of each solved problem is over_k now
    drops = re.search(r'<tr><td class="reason">over_k</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', body)
    assert drops.groups() == ("2", "4")
    assert body.count("true / - / correct → false / over_k / correct") == 2  # the changed rows, named
    status, _, body = get(viewer + "/diff?" + urllib.parse.urlencode({"a": a, "b": refs["evals"]}))
    assert status == 404 and "nothing to compare" in body
    assert get(viewer + "/diff?a=samples&b=samples@v2")[0] == 400


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/nope",
        "/datasets/samples/v99",
        "/problems/nope",
        "/nowhere",
        "/datasets/..%2Fetc",
        "/static/../server.py",
        "/datasets/Samples",
    ],
)
def test_unknown_is_404(viewer, path):
    status, _, body = get(viewer + path)
    assert status == 404 and "Not found" in body


def test_damaged_version_page(viewer):
    status, _, body = get(viewer + "/datasets/broken/v1")
    assert status == 200 and "badge bad" in body and "is damaged" in body
    assert get(viewer + "/datasets/broken/v2")[0] == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_refused(viewer, method):
    status, headers, _ = get(viewer + "/datasets/samples", method=method)
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_head_and_static(viewer):
    status, headers, body = get(viewer + "/", method="HEAD")
    assert status == 200 and body == "" and int(headers["Content-Length"]) > 0
    for path in (
        "/static/style.css",
        "/static/viewer.js",
        "/static/katex/katex.min.js",
        "/static/katex/fonts/KaTeX_Main-Regular.woff2",
        "/static/pygments.css",
    ):
        assert get(viewer + path)[0] == 200, path


def test_host_header_must_be_loopback(viewer):
    host, port = urllib.parse.urlsplit(viewer).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/", headers={"Host": f"attacker.example:{port}"})
    assert conn.getresponse().status == 403
    conn.close()


def test_a_non_local_bind_needs_its_token(viewer_warehouse):
    from starmill.viewer.server import ViewerError, make_server

    root, _ = viewer_warehouse
    with pytest.raises(ViewerError, match="--token"):
        make_server(str(root), host="0.0.0.0", port=0)
    server = make_server(str(root), host="0.0.0.0", port=0, token="s3cret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for path in ("/", "/datasets/samples", "/static/style.css", "/problems/x"):
            assert get(base + path)[0] == 403, path
        assert get(base + "/", method="POST")[0] == 403
        assert get(base + "/", {"Authorization": "Bearer wrong"})[0] == 403
        assert get(base + "/", {"Authorization": "Bearer s3cret"})[0] == 200
        assert get(base + "/", method="POST", headers={"Authorization": "Bearer s3cret"})[0] == 405
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(base + "/datasets/samples?token=s3cret") as response:  # the cookie, then the page
            assert response.status == 200 and response.url.endswith("/datasets/samples")
        with opener.open(base + "/datasets/sft") as response:
            assert response.status == 200
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
        conn.request("GET", "//elsewhere.example/x?token=s3cret")  # the redirect stays on this site
        response = conn.getresponse()
        assert response.status == 303 and response.getheader("Location") == "/elsewhere.example/x"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


def test_cli_serves_and_stops_on_ctrl_c(viewer_warehouse):
    root, _ = viewer_warehouse
    proc = subprocess.Popen(
        [sys.executable, "-m", "starmill.cli", "view", "-w", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert get(url)[0] == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130) and "Traceback" not in err


def test_cli_refuses_a_non_local_bind_without_token(viewer_warehouse, capsys):
    from tests.helpers import run_cli

    root, _ = viewer_warehouse
    code, _, err = run_cli(capsys, "view", "-w", str(root), "--host", "0.0.0.0")
    assert code == 1 and err.startswith("Error: binding 0.0.0.0") and "--token" in err


def test_render_escapes_and_marks():
    from starmill.viewer.render import output, text

    html = str(output("<b>x</b>\nSo 1 + 1 = 3.\nThe answer is 2.", reasoning="<i>hmm</i>", answer="2", correct=True))
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;i&gt;hmm&lt;/i&gt;" in html
    assert '<mark class="step wrong" title="wrong step: 2 ≠ 3">1 + 1 = 3</mark>' in html
    assert '<mark class="ans right" title="extracted answer">2</mark>.' in html
    fenced = str(text("```html\n<script>alert(1)</script>\n```"))
    assert "<script>" not in fenced and "&lt;" in fenced
    assert 'class="text tex"' not in str(text("It costs $5 and $6.")) and 'class="text tex"' in str(text(r"$\frac12$"))


def test_an_object_store_warehouse():
    """The same pages over a store with no folders and no rename (fsspec's memory://, the gs:// path)."""
    import uuid

    import fsspec

    from starmill.viewer.server import make_server
    from starmill.warehouse import Warehouse
    from tests.helpers import problem, sample

    root = f"memory://viewer-{uuid.uuid4().hex[:8]}/wh"
    wh = Warehouse(root)
    item = problem()
    with wh.writer("problems", "problems") as writer:
        writer.write([item])
    with wh.writer("samples", "samples", parents=["problems@v1"]) as writer:
        writer.write([sample(item.problem_id, "<b>2 + 3 = 5</b>\nThe answer is 5.", extracted="5")])
    server = make_server(root, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = server.url.rstrip("/")
        assert 'href="/datasets/samples"' in get(base + "/")[2]
        status, _, body = get(base + "/datasets/samples")
        assert status == 200 and "&lt;b&gt;2 + 3 = 5&lt;/b&gt;" in body
        status, _, body = get(base + f"/problems/{item.problem_id}")
        assert status == 200 and "Compute 2 + 3." in body and 'mark class="ans right"' in body
    finally:
        server.shutdown()
        server.server_close()
        fsspec.filesystem("memory").rm(root[len("memory://") :].split("/")[0], recursive=True)


def test_a_version_committed_while_it_runs_shows_up(tmp_path, monkeypatch):
    from starmill.generators.procedural import generate_problems
    from starmill.viewer import catalog
    from starmill.viewer.server import make_server
    from starmill.warehouse import Warehouse

    monkeypatch.setattr(catalog, "RECHECK", 0.0)  # list the warehouse on every request
    wh = Warehouse(str(tmp_path / "wh"))
    for seed in (1, 2):
        if seed == 2:
            server = make_server(str(tmp_path / "wh"), port=0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            assert 'href="/datasets/problems/v2"' not in get(server.url)[2]
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(3, seed=seed))
    try:
        assert 'href="/datasets/problems/v2"' in get(server.url)[2]
        assert get(server.url + "datasets/problems/v2")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_search_by_id(viewer, viewer_warehouse):
    from starmill.warehouse import Warehouse

    root, refs = viewer_warehouse
    sample_id = Warehouse(str(root)).read(refs["samples"][0]).column("sample_id")[5].as_py()
    body = get(viewer + f"/datasets/samples/v1?q={sample_id}")[2]
    assert body.count("<tr>", body.index("<tbody>", body.index('id="rows"'))) == 1 and sample_id in body
    body = get(viewer + f"/datasets/problems?q={refs['problem_id']}")[2]
    assert body.count("<tr>", body.index("<tbody>", body.index('id="rows"'))) == 1
