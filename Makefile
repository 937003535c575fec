# Storestack developer commands; the README names these targets and .ci/run calls setup + test.
UV_VERSION := 0.13.8
PY := uv run --frozen

.PHONY: setup system-packages tools helm bench images test test-unit test-cluster test-realnode lint run demo cluster-up cluster-down clean-cluster

# chromium: browser tests; postgresql: multi-worker tests; the rest: the real node (containerd, runc,
# CNI plugins, iptables, conntrack) and its stand-in images (mmdebstrap).
SYSTEM_PACKAGES := chromium postgresql containerd runc containernetworking-plugins iptables ipset conntrack mmdebstrap

## setup: Debian packages, Python deps (uv, locked), the pinned toolchain built into
## ~/.cache/storestack/tools, and the real node's stand-in images (cached beside it)
setup: system-packages
	@command -v uv >/dev/null 2>&1 && uv --version | grep -q "$(UV_VERSION)" || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	uv sync --frozen
	uv sync --frozen --project clients/python
	@# The Debian images (network and dpkg bound) build beside the toolchain (CPU bound); the
	@# images that copy a toolchain binary follow it. Each line says whose it is ([images], [toolchain]).
	@$(PY) python -m images.build --without-toolchain & images=$$!; \
	$(PY) python -m toolchain.build; tools=$$?; wait $$images; built=$$?; \
	[ $$tools = 0 ] && [ $$built = 0 ]
	$(PY) python -m images.build

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## tools: (re)build only the toolchain
tools:
	$(PY) python -m toolchain.build

## helm: (optional) build Helm into the tool cache: only the baseline of bench/compare.py
helm:
	$(PY) python -m toolchain.build helm

## bench: one store through kubectl, Helm, Fleet and the API, side by side (bench/compare.py)
bench:
	$(PY) python bench/compare.py

## test: lint, type-check, import rules, then every test (unit, API, cluster, real node, browser) for real
test: lint
	$(PY) pytest -q -ra --durations=25

test-unit:
	$(PY) pytest -q tests/unit tests/api

test-cluster:
	$(PY) pytest -q tests/cluster

test-realnode:
	$(PY) pytest -q tests/realnode

## images: (re)build only the stand-in images of the real node
images:
	$(PY) python -m images.build

lint:
	$(PY) ruff check .
	$(PY) ruff format --check .
	$(PY) mypy
	$(PY) lint-imports

## run: start the simulated cluster and serve the API + dashboard
run:
	$(PY) storestack cluster up
	$(PY) storestack serve

## demo: simulated cluster, then one store up and destroyed through the Fleet
demo:
	$(PY) storestack cluster up
	$(PY) storestack demo

cluster-up:
	$(PY) storestack cluster up

cluster-down:
	$(PY) storestack cluster down
