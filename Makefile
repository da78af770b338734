# Two commands do all the set-up on a fresh machine with python3 and make:
#   make book   - environment from uv.lock, then the site from the stored outputs (_build/html)
#   make test   - environment, then everything that can fail (see `test` below)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
RUN := $(UV) run --locked --no-sync
PY := $(RUN) python

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

uv: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)

setup: uv  ## create / update .venv from uv.lock (the package is installed editable)
	$(UV) sync --locked
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null

site-assets: setup  ## fetch MathJax + the widget manager (pinned, sha512-checked) unless cached
	$(PY) tools/site_assets.py

book: setup site-assets  ## build the site from the stored notebook outputs into _build/html
	$(RUN) jupyter-book build . --path-output . -W -n --keep-going --quiet
	@echo "site: _build/html/index.html"

lint-ruff: setup
	$(RUN) ruff check src tests tools conftest.py

unit: setup  ## unit tests of dlnotes + pairing, requirements and notebook checks
	$(RUN) pytest tests -q --ignore=tests/site

# The notebooks run in parallel: one kernel per pytest-xdist worker, a notebook's cells in one
# kernel (--dist loadfile), one BLAS thread per kernel (tools/nbval_tolerance.py). Workers: the
# CPUs, at most 8; NBVAL_WORKERS=0 runs them one after another in one process.
NBVAL_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 8 ? 8 : n )))
NBVAL := pytest notebooks --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg -q

nbval: setup  ## re-run the notebooks (in parallel), compare with the stored outputs; writes _build/timings.json
	$(RUN) $(NBVAL) -n $(NBVAL_WORKERS) --dist loadfile

bench: setup  ## nbval serially, then in parallel; per-notebook times, import floor -> _build/bench.json
	$(PY) tools/bench.py --workers $(NBVAL_WORKERS)

gpu-record: setup  ## append the last GPU nbval run (_build/gpu-run.json) to book/_data/gpu-runs.json
	$(PY) tools/timings.py --record-gpu

site-test: book  ## open every page of the built site in headless Chromium (tests/site)
	$(RUN) pytest tests/site -q

lint: setup  ## all pre-commit hooks (jupytext sync, ruff, hygiene); fetches hooks from GitHub
	$(RUN) pre-commit run --all-files

test: lint-ruff unit nbval book site-test  ## everything: ruff, unit tests, nbval, site build (-W), browser
	@$(PY) tools/timings.py

execute: setup  ## re-execute notebooks in place (outputs + widget state); NB=path for one
	$(PY) tools/execute_notebooks.py $(NB)
	$(PY) tools/colab.py $(NB)

sync: setup  ## jupytext: bring each book/*.md and notebooks/*.ipynb pair together
	$(RUN) jupytext --sync book/*/*.md notebooks/*/*.ipynb

colab: setup  ## write colab/<part>/<chapter>.ipynb: plain-Markdown twins for Colab and downloads
	$(PY) tools/colab.py

serve: book  ## serve the built site on http://127.0.0.1:8000 (search works there, not from file://)
	@echo "serving _build/html on http://127.0.0.1:$${PORT:-8000} (Ctrl-C stops)"
	$(PY) -m http.server $${PORT:-8000} --bind 127.0.0.1 --directory _build/html

timings: setup  ## print the per-notebook times of the last nbval run against the budget
	$(PY) tools/timings.py

requirements: setup  ## re-export requirements.txt from uv.lock
	$(UV) export --locked --format requirements-txt --no-hashes --no-dev --extra lab -o requirements.txt >/dev/null

clean:  ## remove the built site
	rm -rf _build

.PHONY: colab serve help uv setup site-assets book site-test lint lint-ruff unit nbval bench gpu-record test execute sync timings requirements clean
