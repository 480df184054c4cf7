# Two commands: `make run` starts the whole system, `make test` checks all of it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: fuzz run test lint typecheck unit integration e2e install compose sdl bench clean messages browser pdf screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

run: install pdf
	$(BIN)/crm dev

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy crmkit services gateway crm web

# The browser tests drive Debian's Chromium: installed here when it is missing and we are root.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "make test needs Debian's chromium: run 'apt-get install chromium' as root"; exit 1; }

# WeasyPrint renders PDF offers with Debian's pango, harfbuzz's subsetter (fonts embedded
# subset; without it WeasyPrint warns) and a font: installed here when any is missing and we
# are root, as deploy/Dockerfile installs them in the image. Chromium brings pango but not the
# subsetter, so each is checked.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
pdf:
	@{ ldconfig -p | grep -q libpangoft2-1.0.so.0 && ldconfig -p | grep -q libharfbuzz-subset.so.0 \
		&& test -d /usr/share/fonts/truetype/dejavu; } \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $(PDF_PACKAGES) >/dev/null; } \
		|| { echo "PDF offers need Debian's pango: run 'apt-get install $(PDF_PACKAGES)' as root"; exit 1; }

test: lint typecheck browser pdf
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

integration: install pdf
	$(BIN)/pytest tests/integration

e2e: install browser pdf
	$(BIN)/pytest tests/e2e

# Generated GraphQL operations against the gateway and every service of a running system
# (tests/e2e/fuzz.py): 0 5xx, 0 non-JSON answers, 0 internal texts. `make test` runs a short
# version (2 examples per operation); FUZZ_EXAMPLES sets how many here.
FUZZ_EXAMPLES ?= 25
fuzz: install
	CRM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/e2e/test_fuzz.py -s -p no:cacheprovider --timeout=7200

# Every screen of the web app with the demo data, into docs/screenshots/ (shown in the README).
screenshots: install browser
	$(BIN)/python -m bench.web.screenshots

# The web app's messages: extracted from its code and templates, merged into each catalogue
# (translate the new entries in web/locale/*/LC_MESSAGES/messages.po; a test finds gaps).
messages: install
	$(BIN)/pybabel extract -F web/babel.cfg -k N_ --no-location --sort-output --omit-header \
		-o web/locale/messages.pot .
	$(BIN)/pybabel update -i web/locale/messages.pot -d web/locale -D messages \
		--ignore-obsolete --no-fuzzy-matching -w 100

# requirements.lock: everything (make install); requirements-runtime.lock: what the production
# image installs, the same versions without the development and test tools.
lock:
	$(BIN)/pip install -q uv && $(BIN)/uv pip compile pyproject.toml --extra dev \
		--python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml -c requirements.lock \
		--python-version 3.11 --generate-hashes -o requirements-runtime.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
