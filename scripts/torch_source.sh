# Which PyTorch build to install, and from where. Sourced by scripts/setup.sh and scripts/make_wheelhouse.sh.
#
# On Linux the public package index serves torch==X as the CUDA build (multi-GB NVIDIA libraries); the CPU build,
# torch==X+cpu, comes from PyTorch's CPU index. So: CUDA where `nvidia-smi -L` lists a GPU, CPU otherwise, and a
# flag (--cpu / --cuda) forces either. The CPU index is added to pip's configured sources (kept, so local mirrors
# and find-links still serve) only when it answers: when it cannot be resolved, pip would retry every package
# against it (~9 s each), while this probe fails in well under a second.

TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
TORCH_PROBE_TIMEOUT=${TORCH_PROBE_TIMEOUT:-5}

# has_nvidia_gpu: true when nvidia-smi runs and lists at least one GPU.
has_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '
}

# choose_torch_variant REQUESTED (auto|cpu|cuda): sets TORCH_VARIANT to cpu or cuda (Linux) or default (elsewhere:
# macOS wheels have no variants) and TORCH_WHY to the reason.
choose_torch_variant() {
  if [ "$(uname -s)" != Linux ]; then
    TORCH_VARIANT=default TORCH_WHY="$(uname -s): the package index's build"
  elif [ "$1" = cpu ] || [ "$1" = cuda ]; then
    TORCH_VARIANT=$1 TORCH_WHY="forced with --$1"
  elif has_nvidia_gpu; then
    TORCH_VARIANT=cuda TORCH_WHY="nvidia-smi lists a GPU"
  else
    TORCH_VARIANT=cpu TORCH_WHY="no working nvidia-smi"
  fi
}

# torch_requirement VARIANT: the pip requirement that can only be satisfied by that build.
#   cpu on x86_64: torch==X+cpu (never the CUDA build by accident); cuda: torch===X (exactly the public version,
#   which on Linux is the CUDA build, never a +cpu wheel that a local mirror might also hold).
torch_requirement() {
  case $1 in
    cpu) if [ "$(uname -m)" = x86_64 ]; then echo "torch==${TORCH_VERSION}+cpu"; else echo "torch==${TORCH_VERSION}"; fi ;;
    cuda) echo "torch===${TORCH_VERSION}" ;;
    *) echo "torch==${TORCH_VERSION}" ;;
  esac
}

# cpu_index_reachable PYTHON: true when PyTorch's CPU index answers within TORCH_PROBE_TIMEOUT seconds
# (urllib honours the https_proxy/no_proxy environment like pip does).
cpu_index_reachable() {
  "$1" - "$TORCH_CPU_INDEX/torch/" "$TORCH_PROBE_TIMEOUT" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=float(sys.argv[2])).close()
PYEOF
}

# choose_torch_source VARIANT PYTHON: sets TORCH_ARGS (extra pip arguments for torch) and TORCH_FROM (in words).
choose_torch_source() {
  TORCH_ARGS="" TORCH_FROM="pip's configured sources"
  if [ "$1" = cpu ]; then
    if cpu_index_reachable "$2"; then
      TORCH_ARGS="--extra-index-url $TORCH_CPU_INDEX" TORCH_FROM="pip's configured sources + $TORCH_CPU_INDEX"
    else
      TORCH_FROM="pip's configured sources ($TORCH_CPU_INDEX did not answer)"
    fi
  fi
}

# torch_install_hint VARIANT: what to do when the requirement could not be met.
torch_install_hint() {
  if [ "$1" = cpu ]; then
    echo "The CPU build of torch ($(torch_requirement cpu)) was not found: $TORCH_CPU_INDEX did not answer and pip's" \
      "configured sources do not hold it. Bring it with scripts/make_wheelhouse.sh and use --wheelhouse DIR," \
      "point PIP_FIND_LINKS at a folder holding the wheel, or pass --cuda to accept the CUDA build." >&2
  else
    echo "torch $(torch_requirement "$1") could not be installed from pip's configured sources." >&2
  fi
}
