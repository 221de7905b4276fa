# govchat app image (api and worker). CPU only: the LLM runs in its own vLLM container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GOVCHAT_DATA_DIR=/data

WORKDIR /app

# A pinned CPU build of torch first, from the PyTorch CPU index: an unpinned torch pulls GBs of CUDA packages.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# Dependencies before the source, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p assistant retrieval connectors prompts serving evals \
    && touch assistant/__init__.py retrieval/__init__.py connectors/__init__.py prompts/__init__.py \
       serving/__init__.py evals/__init__.py \
    && pip install . \
    && pip uninstall -y govchat

COPY assistant ./assistant
COPY retrieval ./retrieval
COPY connectors ./connectors
COPY prompts ./prompts
COPY serving ./serving
COPY evals ./evals
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 govchat \
    && mkdir -p /data /models \
    && chown govchat:govchat /data

USER govchat
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)"

CMD ["govchat", "serve", "--host", "0.0.0.0", "--port", "8000"]
