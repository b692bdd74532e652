# Two entry points (see README): `make demo` and `make test`.
# Both create the virtual environment when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WORK   ?= work/demo

.PHONY: demo test bench clean browser

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/wijksignaal demo --work $(WORK)

# The browser test drives Debian's chromium; install it when missing (as root, or with sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || command -v sudo ); \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test (apt-get)"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "no apt-get: install chromium yourself, or the browser test is skipped"; fi; }

test: $(BIN)/.installed browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_pipeline.py --gemeente GM0164
	$(BIN)/python benchmarks/bench_pipeline.py --country

clean:
	rm -rf $(VENV) work
