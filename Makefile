# Two commands do everything on a fresh Linux machine with Python 3.11:
#   make report   build the website (needs the Quarto CLI >= 1.5)
#   make test     run the test suite (compares with R when Rscript is installed)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: report test preview data check clean

$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

report: $(INSTALLED)
	@if ! command -v quarto >/dev/null 2>&1; then \
	  echo "The Quarto CLI (>= 1.5) is needed to render the report and was not found on PATH."; \
	  echo "Install it with 'pip install quarto-cli' on a machine with internet access,"; \
	  echo "or with the installer from https://quarto.org/docs/get-started/, then run 'make report' again."; \
	  echo "Without Quarto, 'make preview' executes every chapter and writes HTML previews to _preview/."; \
	  exit 1; \
	fi
	QUARTO_PYTHON="$(abspath $(PY))" quarto render

test: $(INSTALLED)
	$(PY) -m pytest -q

preview: $(INSTALLED)
	$(PY) -m analysis.qmd preview _preview

# Regenerates the committed synthetic cohort byte-identically.
data: $(INSTALLED)
	$(PY) -m analysis.synthetic data/synthetic/ankl_cohort.csv

check: $(INSTALLED)
	PYTHON="$(abspath $(PY))" ../shared/tools/quarto-check .

clean:
	rm -rf _site _preview .quarto
