# Fresh machine (Debian/Ubuntu, registry access only):
#   make demo   set up .venv, then run pose -> actions on the bundled clip (annotated video)
#   make test   set up .venv with the test/training extras, then run the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_VIDEO ?= act_ros/data/sports2d_demo.mp4
DEMO_OUT ?= output/demo_annotated.mp4
PYTEST_ARGS ?=

.PHONY: setup setup-dev demo lint test bench arm64-check clean

# --video: H.264 annotated videos (PyAV), which browsers and previews play; not on the robot.
setup:
	tools/setup_venv.sh --video

setup-dev:
	tools/setup_venv.sh --train --eval --test --video

demo: setup
	$(VENV)/bin/act-ros run --source $(DEMO_VIDEO) --output $(DEMO_OUT)

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup-dev lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run_all.py

# The runtime on emulated aarch64 (root; ~15 min cached, ~25 min from empty): tools/arm64_check.sh.
arm64-check: setup
	VENV=$(VENV) tools/arm64_check.sh

clean:
	rm -rf build output .pytest_cache
