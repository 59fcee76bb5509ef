"""scripts/setup.sh picks PyTorch's build and where it comes from as the README says (checked with --print-plan,
which decides everything and installs nothing)."""

from __future__ import annotations

import functools
import http.server
import platform
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH = "2.13.0"
CPU_PIN = f"torch=={TORCH}+cpu" if platform.machine() == "x86_64" else f"torch=={TORCH}"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="CPU/CUDA builds are a Linux choice")


@pytest.fixture(scope="module")
def cpu_index(tmp_path_factory):
    """A local stand-in for PyTorch's CPU index that answers like the real one (HTTP 200 for /torch/)."""
    root = tmp_path_factory.mktemp("index")
    (root / "torch").mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def dead_index():
    """An address where nothing listens: the probe must give up at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def plan(tmp_path: Path, *args: str, gpu: bool, index: str) -> dict[str, str]:
    """setup.sh --print-plan with a stand-in nvidia-smi that lists a GPU (gpu=True) or fails like on a CPU box."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n"
        if gpu
        else "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n"
    )
    smi.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHON": sys.executable,
        "TORCH_CPU_INDEX": index,
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), "--print-plan", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(": ", 1) for line in proc.stdout.splitlines())


def test_cpu_build_from_the_cpu_index_without_a_gpu(tmp_path, cpu_index):
    torch = plan(tmp_path, gpu=False, index=cpu_index)["torch"]
    assert torch.startswith(f"{CPU_PIN} (cpu: no working nvidia-smi)")
    assert torch.endswith(f"from pip's configured sources + {cpu_index}")


def test_unreachable_cpu_index_is_left_out_so_pip_does_not_retry_it(tmp_path, dead_index):
    torch = plan(tmp_path, gpu=False, index=dead_index)["torch"]
    assert torch.startswith(f"{CPU_PIN} (cpu:")
    assert torch.endswith(f"from pip's configured sources ({dead_index} did not answer)")


def test_cuda_build_where_nvidia_smi_lists_a_gpu(tmp_path, cpu_index):
    torch = plan(tmp_path, gpu=True, index=cpu_index)["torch"]
    # `===` matches the public version only, so a +cpu wheel from a local mirror can never stand in for CUDA.
    assert torch == f"torch==={TORCH} (cuda: nvidia-smi lists a GPU) from pip's configured sources"


def test_flags_force_either_build(tmp_path, cpu_index):
    assert plan(tmp_path, "--cpu", gpu=True, index=cpu_index)["torch"].startswith(f"{CPU_PIN} (cpu: forced with --cpu)")
    assert plan(tmp_path, "--cuda", gpu=False, index=cpu_index)["torch"].startswith(
        f"torch==={TORCH} (cuda: forced with --cuda)"
    )


def test_wheelhouse_uses_nothing_else(tmp_path, cpu_index):
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    steps = plan(tmp_path, "--wheelhouse", str(wheelhouse), "--dev", gpu=False, index=cpu_index)
    assert steps["torch"].endswith(f"from the wheelhouse {wheelhouse}")
    assert steps["project"] == "-e .[dev]"


def test_venv_is_made_from_the_given_python(tmp_path, cpu_index):
    steps = plan(tmp_path, gpu=False, index=cpu_index)
    assert steps["python"].startswith(sys.executable)
    assert steps["venv"] == ".venv"
    assert steps["project"] == "-e ."
