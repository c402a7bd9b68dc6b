# sagellm-protocol: the two commands of the quick start, and the individual checks.
PYTHON ?= python3
VENV_PY := .venv/bin/python

.PHONY: help setup demo test lint format typecheck level0 schema compat fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## create or update .venv (main interpreter, package + dev tools)
	$(PYTHON) scripts/matrix.py setup

demo: setup ## run the examples: messages and errors, the mock backend over HTTP, a traffic check
	$(VENV_PY) examples/basic_usage.py
	@echo
	$(VENV_PY) examples/serve_demo.py
	@echo
	@echo "== validate examples/traffic.jsonl (5 messages are invalid on purpose, so exit status 1)"
	$(VENV_PY) -m sagellm_protocol validate examples/traffic.jsonl || [ $$? -eq 1 ]

test: ## lint, type checks, Level-0 checks and the test suite on every CPython 3.10-3.13 found
	$(PYTHON) scripts/matrix.py test

lint: setup ## ruff format --check and ruff check
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format: setup ## apply ruff format and the safe ruff fixes
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

typecheck: setup ## mypy --strict over src, tests, scripts and examples
	.venv/bin/mypy

level0: setup ## the Level-0 dependency rule and the snake_case field check
	$(VENV_PY) scripts/verify_level0.py
	$(VENV_PY) scripts/check_field_names.py

schema: setup ## regenerate the schema bundle, the golden vectors and the protocol doc from the models
	$(VENV_PY) -m sagellm_protocol schema --out src/sagellm_protocol/schemas/v0.1
	$(VENV_PY) -m scripts.gen_vectors
	$(VENV_PY) scripts/gen_docs.py

compat: setup ## compare the current bundle with the last released one (and its allowed changes)
	@release=$$(ls src/sagellm_protocol/schemas/releases | sort -V | tail -1); \
	allowed=src/sagellm_protocol/schemas/allowed/$$release.json; allow=; \
	if [ -f $$allowed ]; then allow="--allow $$allowed"; fi; \
	command="$(VENV_PY) -m sagellm_protocol compat src/sagellm_protocol/schemas/releases/$$release"; \
	command="$$command src/sagellm_protocol/schemas/v0.1 $$allow"; \
	echo "$$command"; $$command

fuzz: setup ## 100,000 hostile inputs, decode cost by size, hostile shapes at 16 MiB (not in CI)
	$(VENV_PY) -m scripts.fuzz run --cases 100000
	$(VENV_PY) benchmarks/decode_scaling.py
	$(VENV_PY) benchmarks/hostile.py

bench: ## ours against the original package and msgspec, side by side; writes docs/performance.md
	$(PYTHON) benchmarks/run.py

clean: ## remove virtual environments and caches
	rm -rf .venv .venvs .bench .xlang build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
