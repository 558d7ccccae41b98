# rnnzoo image. CPU by default:
#   docker build -t rnnzoo .
#   docker run --rm -v $PWD/outputs:/app/outputs rnnzoo            # the quickstart's training run
# CUDA: start from an image that already has a CUDA build of torch, e.g.
#   docker build --build-arg BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime -t rnnzoo:cuda .
#   docker run --rm --gpus all rnnzoo:cuda python train.py trainer=gpu
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Where torch comes from when the base image has none: the CPU-only wheels (small, no CUDA).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 MPLBACKEND=Agg
WORKDIR /app

# make for the Makefile; g++ builds the native time loops (rnnzoo/kernels/native) on first use
# (without it rnnzoo falls back to its Python loops, correct but slower).
RUN apt-get update && apt-get install -y --no-install-recommends make g++ \
    && rm -rf /var/lib/apt/lists/*

# The package before the rest (tests, configs, scripts), so edits there reuse the installed layer.
COPY pyproject.toml README.md ./
COPY rnnzoo ./rnnzoo
RUN python -c "import torch" 2>/dev/null \
        || pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" torch \
    && pip install --no-cache-dir -e ".[dev]"

COPY . .

# Compile the native loops now rather than at the first training step (about 15 s). The build is
# cached per CPU, so an image run on a machine with other vector instructions builds once more.
RUN python -m rnnzoo.kernels.native

CMD ["python", "train.py", "cell=lstm", "task=sentiment"]
