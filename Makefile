# uv is not on a fresh machine: install it on first use. `python3 -m uv` works
# even when pip's --user bin directory (~/.local/bin) is not on PATH.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: uv install install-serving run test lint fmt bench

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --user uv || python3 -m pip install uv

# Everything: the service and the test, lint and benchmark tools (the dev group).
install: uv
	$(UV) sync --frozen

# What serving needs, and nothing else: no test tools.
install-serving: uv
	$(UV) sync --frozen --no-dev

# --no-sync: `uv run` would otherwise install the dev group again. Ctrl-C stops the server cleanly (exit 0).
run: install-serving
	$(UV) run --no-sync mcpay serve

# Two test processes where there are two cores, each taking whole files (pytest-xdist, ADR 68): the suite spends
# about half its time waiting on the servers, PostgreSQL and the browser it drives.
test: install
	$(UV) run pytest -n auto --maxprocesses 2 --dist loadfile

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

fmt: install
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: install
	$(UV) run python -m benchmarks
