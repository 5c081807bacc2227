# resilinet: `make quickstart` sets everything up and runs a real experiment; `make test` tests
# everything, `make test-fast` the tests that train nothing and start no process.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-gpu quickstart reproduce-paper test test-fast lint fmt check clean live-proto

PROFILE ?= full
ARGS ?=

install: $(STAMP)

# (Re)install when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,ray,mlflow,search]'
	touch $(STAMP)

# The CUDA build of TensorFlow in place of tensorflow-cpu (same version, same code path).
install-gpu: install
	$(BIN)/pip install --quiet -e '.[gpu]'
	$(BIN)/pip uninstall --quiet -y tensorflow-cpu
	$(BIN)/pip install --quiet --force-reinstall --no-deps 'tensorflow[and-cuda]==2.21.*'

# Runs the quickstart, then compares it with the committed reference it reproduces.
quickstart: install
	$(BIN)/resilinet run configs/quickstart.yaml
	$(BIN)/resilinet compare results/quickstart results/quick/quickstart

# PROFILE=full (default): the paper's experiments; PROFILE=quick: offline stand-ins;
# PROFILE=claims: the paper's claim tested with statistics on the offline data (README).
# Runs into reproduced/$(PROFILE) (a rerun resumes there) and ends by comparing it with the
# committed results/$(PROFILE), when there is one.
# ARGS passes options on: make reproduce-paper ARGS="--executor ray --address auto"
reproduce-paper: install
	$(BIN)/resilinet reproduce --profile $(PROFILE) $(ARGS)

# The whole suite (what CI runs) on TEST_WORKERS processes (pytest-xdist): each test file stays
# on one worker, so its trained fixtures are built once, and the timing-sensitive tests (kill,
# Ctrl-C, node loss: marked `serial`) run one after another on one worker, never two at once.
# Which tests are slow or serial is decided in one place, tests/tiers.py. TEST_WORKERS=0: one
# process; `pytest -m serial` runs the timing-sensitive ones alone.
# Three workers on two cores: the live tests mostly wait (deadlines, node start-up, a 3-minute
# soak at 10 requests a second), and a third worker fills that idle CPU.
# The package's bytecode is compiled first: an editable install has none, and with
# PYTHONDONTWRITEBYTECODE set every node, pool and Ray process would compile it again.
TEST_WORKERS ?= 3
test: install
	$(BIN)/python -m compileall -q resilinet_cli
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The fast tier: every test that trains nothing and starts no process, in well under a minute.
# An unmarked test that takes over 2 s fails it (tests/conftest.py says how to mark it).
test-fast: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# The live runtime's gRPC messages and service, generated from resilinet_cli/live/live.proto
# (the generated files are committed, so installing needs no code generator).
live-proto:
	$(BIN)/pip install --quiet 'grpcio-tools>=1.85.1'
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. resilinet_cli/live/live.proto

# The user guide (docs/, mkdocs.yml) built into build/site; --strict fails on any broken link,
# anchor or docstring reference. Offline: figures come from results/ (docs/hooks/), no CDN.
.PHONY: docs
docs: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
