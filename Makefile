# Set-up and checks for lspilot. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
LLAMA_CPP_VERSION := 0.3.36
WHEELHOUSE ?= $(HOME)/.cache/lspilot/wheels
# llama.cpp's AMX kernels crash in llama-cpp-python 0.3.36 on Sapphire Rapids CPUs
# (segfault in ggml_backend_amx_mul_mat); build natively for this CPU without them.
LLAMA_CFLAGS := $(shell [ "$$(uname -m)" = x86_64 ] && echo "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16")

.PHONY: install demo test test-fast check bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	@if ! ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (compiles llama.cpp: about 10 minutes on 2 cores)"; \
		CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(VENV)/bin/pip wheel --quiet --no-deps --no-cache-dir \
			llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEELHOUSE); \
	fi
	$(VENV)/bin/pip install --quiet $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/lspilot complete examples/fib.py:5:12

test: install
	$(VENV)/bin/python -m pytest -q

# The inner loop: no real model, no editors, no VS Code extension build (the markers are
# set in tests/conftest.py from the fixtures and modules a test uses), one worker per core
# and one more: the server tests spend part of their time waiting on a server process.
test-fast: install
	$(VENV)/bin/python -m pytest -q -n $$(( $$(nproc) + 1 )) -m "not real_model and not editor and not slow"

# ruff, mypy strict, and basedpyright's import resolution, as the suite runs them.
check: install
	$(VENV)/bin/python -m pytest -q tests/test_static.py

bench: install
	$(VENV)/bin/python -m bench.latency
	$(VENV)/bin/python -m bench.backends
	$(VENV)/bin/python -m bench.context_sources
	$(VENV)/bin/python -m bench.context

clean:
	rm -rf $(VENV)

# The editor tests (tests/test_editor_*.py) drive a real VS Code: Chromium and ripgrep from
# Debian, code-server and playwright-core from npm. Neovim comes with the test extras.
.PHONY: editors
editors:
	editors/vscode/e2e/setup.sh
test: editors
