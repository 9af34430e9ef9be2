# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest schema screenshots chromium node clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/plaudit serve

chromium:
	@bash scripts/ensure-chromium

node:
	@bash scripts/ensure-node

# The JavaScript clients the tests drive, exactly as pinned in the lockfile.
JS := tests/js
$(JS)/node_modules/.package-lock.json: $(JS)/package-lock.json | node
	npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test chromium $(JS)/node_modules/.package-lock.json
	$(BIN)/pytest

test: lint typecheck pytest

schema: $(VENV)/.installed-run
	$(BIN)/strawberry export-schema app.graphql.schema:schema --output schema.graphql

# The README's screenshots: the browser tests save them in tests/artifacts/ (not
# kept in git); this runs those tests and copies the ones shown into docs/screenshots/.
SHOTS := widget-light widget-dark dashboard-compare dashboard-run review review-errors review-pairwise review-link
screenshots: $(VENV)/.installed-test chromium
	$(BIN)/pytest -q -p no:cacheprovider tests/browser/test_widget_keys.py::test_screenshots_of_the_variants_on_light_and_dark_hosts tests/dashboard/test_board_views.py tests/browser/test_review_workspace.py
	mkdir -p docs/screenshots
	for shot in $(SHOTS); do cp tests/artifacts/$$shot.png docs/screenshots/; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(JS)/node_modules
