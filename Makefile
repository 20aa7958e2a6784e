# Greeter's one setup command and one test command (CI's .ci/run runs exactly these, then the linters and sam build).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Debian packages the tests need: GStreamer (the camera pipeline smoke test), shellcheck (the Pi installer),
# GStreamer's introspection data and what PyGObject (requirements-dev.txt) needs to build from source;
# Chromium and Node.js for the staff app (Playwright drives Debian's chromium: its own browser download is not
# used; npm installs the app's build tools from staff-app/package-lock.json).
SYSTEM_PACKAGES := gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-plugins-ugly gstreamer1.0-libav shellcheck \
	gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 libgirepository1.0-dev libcairo2-dev pkg-config \
	chromium nodejs

.PHONY: setup system-packages staff-app test lint build demo local bench env-json clean

setup: system-packages $(BIN)/pytest staff-app ## Install everything the tests, linters, demo and benchmarks need.

staff-app: ## The staff app: its npm dependencies (exactly the lock file's) and its bundle in staff-app/dist/.
	@# Debian's nodejs comes without npm (NodeSource's includes it): add Debian's npm only where it is missing.
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends npm; }
	cd staff-app && npm ci --no-audit --no-fund && npm run build

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/pytest: requirements-dev.txt layers/common/requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13), f"Greeter needs Python 3.13 (Lambda python3.13), got {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	@# The group photo the face benchmarks (and the monthly bill through them) measure on, read out of the insightface
	@# wheel into .cache/wheels/ now, so the tests need no network later.
	$(BIN)/python -c 'import sys; sys.path[:0] = ["pi"]; from bench.detector import group_photo; group_photo()'
	touch $@

test: ## Run the whole offline test suite, on every core (pytest-xdist).
	$(BIN)/pytest -n auto

lint: ## Static checks: ruff, cfn-lint, sam validate --lint.
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region eu-west-1

build: ## sam build, without Docker.
	$(BIN)/sam build

# make local CAMERA=/dev/video1 (a webcam) or CAMERA=path/to/video.mp4 (played in a loop); PORT=8765.
CAMERA ?= auto
PORT ?= 8765
local: ## The whole Greeter on this machine, live, with a webcam or a video file, until Ctrl-C.
	$(BIN)/python -m local --camera "$(CAMERA)" --port $(PORT)

demo: ## The local demo: the pipeline on moto, two people, one recorded visit, the emails it sends.
	$(BIN)/python -m bench.demo

bench: ## The benchmarks, each measuring side by side in one run (figures to stdout and bench/results/).
	$(BIN)/python -m bench.match_pipeline
	$(BIN)/python -m bench.detection_cost
	$(BIN)/python -m bench.face_memory
	$(BIN)/python -m bench.video_bitrate
	$(BIN)/python -m bench.store_hours_cost
	$(BIN)/python -m bench.detector
	$(BIN)/python -m bench.iot_credentials
	$(BIN)/python -m bench.monthly_bill
	$(BIN)/python -m bench.visit_history
	$(BIN)/python -m bench.local_runtime
	$(BIN)/python -m bench.staff_app

STACK ?= greeter
env-json: ## env.json for `sam local invoke --env-vars env.json`, from the deployed stack (STACK=greeter REGION=...).
	$(BIN)/python tools/env_json.py --stack $(STACK) $(if $(REGION),--region $(REGION))

clean: ## Remove the venv, build output, the staff app's build, test screenshots and the local runtime's state and emails.
	rm -rf $(VENV) .aws-sam .pytest_cache local-state local-output staff-app/node_modules staff-app/dist test-results
