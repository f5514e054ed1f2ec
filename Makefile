# Two commands do everything on a fresh Linux machine with Python 3.11:
#   make report   build the website (needs the Quarto CLI >= 1.5)
#   make test     run the test suite (compares with R when Rscript is installed)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: report test preview data benchmark bmt check clean

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
	$(PY) -m analysis.build preview _preview

# Regenerates the committed synthetic cohort byte-identically.  With N set (make data N=100000
# [SEED=7]) it writes a seeded synthetic registry of N patients to data/generated/registry_N.csv
# instead (git-ignored: generated data are never committed).
data: $(INSTALLED)
ifdef N
	$(PY) -m analysis.build registry $(N) data/generated/registry_$(N).csv $(if $(SEED),--seed $(SEED))
else
	$(PY) -m analysis.build data data/synthetic/ankl_cohort.csv
endif

# Registry-scale benchmark against R (10^3 to 10^6 patients; ~1 hour with R): writes benchmarks/RESULTS.md.
benchmark: $(INSTALLED)
	$(PY) benchmarks/run_benchmarks.py --output benchmarks/RESULTS.md

# The second study's extract from R's public bmt data (KMsurv), never committed:
#   make bmt && REPORT_STUDY=studies/bmt.yml make report
bmt: $(INSTALLED)
	Rscript data/convert_bmt.R data/private/bmt/bmt.csv
	$(PY) -m analysis validate --study studies/bmt.yml

check: $(INSTALLED)
	PYTHON="$(abspath $(PY))" ../shared/tools/quarto-check .

clean:
	rm -rf _site _preview .quarto

# --- versioned website (see README, "Publishing") ---
.PHONY: provenance report-ci check-site publish

# Quarto's pre-render step by hand: writes _variables.yml, provenance.json and _provenance.typ, and
# clears _freeze/ when the data, the package or the software changed since the frozen results.
provenance: $(INSTALLED)
	$(PY) -m analysis.build provenance
	$(PY) -m analysis.build sections

# Render every page afresh, as the release workflow does (the CI profile ignores _freeze/).
report-ci: $(INSTALLED)
	@command -v quarto >/dev/null 2>&1 || { echo "The Quarto CLI (>= 1.5) is needed: see 'make report'."; exit 1; }
	QUARTO_PYTHON="$(abspath $(PY))" quarto render --profile ci

# Check the rendered site: links, provenance footer, PDFs, cross-references, no patient-level data.
check-site: $(INSTALLED)
	$(PY) -m analysis.build check-site _site

# Publish _site as release TAG into a checkout of the gh-pages branch, keeping earlier versions:
#   make publish TAG=v0.2.0 GH_PAGES=../report-gh-pages   (then: git -C ../report-gh-pages push)
publish: $(INSTALLED)
	@test -n "$(TAG)" && test -n "$(GH_PAGES)" || { echo "usage: make publish TAG=vX.Y.Z GH_PAGES=DIR"; exit 2; }
	$(PY) -m analysis.build check-site _site
	$(PY) -m analysis.build publish _site --tag "$(TAG)" --target "$(GH_PAGES)"
