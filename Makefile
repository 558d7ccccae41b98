# The one-command set-up: `make test` creates .venv when it is missing, then runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13.0 is the CPU build on this kind of machine's local disk (installs in seconds);
# elsewhere override it, e.g. `make TORCH_SPEC="torch" test` for the platform's default build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv test test-all train bench bench-full clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: venv
	$(PY) -m pytest -q -m "not slow"

test-all: venv
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache

# The main job: train an LSTM on built-in sentiment data (about 10 s on 2 CPU cores).
train: venv
	$(PY) train.py cell=lstm task=sentiment

# The quick speed and accuracy suites (about 2 minutes). Accuracy is checked against
# benchmarks/baseline.json, speed against this machine's own baseline in benchmarks/machines/
# (recorded on a machine's first run, which then does not fail; see scripts/check_regression.py).
# A failed check is measured again before it fails the target: a real regression persists.
bench: venv
	$(PY) scripts/benchmark.py bench=quick out_dir=bench-out/speed
	$(PY) scripts/accuracy.py suite=quick out_dir=bench-out/accuracy
	$(PY) scripts/check_regression.py compare bench-out/speed/results.json bench-out/accuracy/leaderboard.json \
	  || { echo "make bench: measuring the speed once more, to tell a regression from a noisy spell"; \
	       $(PY) scripts/benchmark.py bench=quick out_dir=bench-out/speed-again && \
	       $(PY) scripts/check_regression.py compare bench-out/speed-again/results.json bench-out/accuracy/leaderboard.json; }

# The full suites: the headline shapes, forward and training step (speed, checked against this
# machine's baseline like the quick ones), and every core cell on every task (accuracy, ~5 min).
bench-full: venv
	$(PY) scripts/benchmark.py bench=targets out_dir=bench-out/targets
	$(PY) scripts/check_regression.py compare bench-out/targets/results.json
	$(PY) scripts/accuracy.py suite=full out_dir=bench-out/accuracy-full
