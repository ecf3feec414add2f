# QMS — the two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app qms
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-test catalogs extract db demo lint clean sysdeps

run: sysdeps install catalogs db   ## set up everything and start the site with its scheduler
	$(FLASK) demo --if-empty
	@echo "QMS on http://$(HOST):$(PORT)/ (Ctrl-C stops the site and the scheduler)"
	@export QMS_SESSION_COOKIE_SECURE=$${QMS_SESSION_COOKIE_SECURE:-0}; \
	$(FLASK) scheduler & sched=$$!; \
	trap 'kill $$sched 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT) --no-reload

test: sysdeps install-test catalogs   ## set up and run the test suite
	$(BIN)/pytest -q -n auto $(PYTEST_ARGS)

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages the PDFs need: a CJK font (Chinese glyphs, also in SVG charts) and HarfBuzz's
# subsetter (without it WeasyPrint embeds fonts ~20x slower). Installed when missing and apt is
# usable (root or sudo); otherwise the missing names are printed.
SYSTEM_PACKAGES := fonts-wqy-microhei libharfbuzz-subset0
sysdeps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then echo "please install: $$missing"; \
	  elif [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install (apt-get install $$missing): PDFs need them"; fi; \
	fi
install-test: $(VENV)/.installed-test

# Compiled catalogues are build output (git-ignored), made from the .po files.
catalogs: $(VENV)/.installed
	$(BIN)/pybabel compile -d qms/translations

# Refresh the catalogues after adding or changing strings (then translate the new entries).
extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F qms/translations/babel.cfg -k _l -k lazy_gettext --sort-by-file --no-wrap -o qms/translations/messages.pot .
	$(BIN)/pybabel update -N --no-wrap -i qms/translations/messages.pot -d qms/translations

db: $(VENV)/.installed
	$(FLASK) db upgrade

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
