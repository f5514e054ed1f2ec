# Two commands do everything on a fresh Linux machine with Python 3.11, 3.12 or 3.13:
#   make report   build the website (needs the Quarto CLI >= 1.5)
#   make test     run the test suite (compares with R when Rscript is installed)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test
# Kernels started from this venv (by Quarto or analysis.build execute) log only errors: ipykernel's warning
# "Kernel is running over TCP without encryption" would otherwise appear once per page.
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.json

.PHONY: report test test-fast preview data benchmark bmt check clean

# What the report needs (requirements.lock); the tests add requirements-test.lock on top.
$(INSTALLED): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	mkdir -p $(dir $(KERNEL_CONFIG))
	echo '{"IPKernelApp": {"log_level": "ERROR"}}' > $(KERNEL_CONFIG)
	touch $(INSTALLED)

$(TEST_INSTALLED): $(INSTALLED) requirements-test.lock
	$(PY) -m pip install --quiet -r requirements.lock -r requirements-test.lock
	touch $(TEST_INSTALLED)

# Quarto from PATH when it is >= 1.5, else the pinned quarto-cli installed into .venv (analysis/build/quarto.py).
FIND_QUARTO = $(PY) -m analysis.build quarto --venv $(VENV)

# Page kernels use one OpenBLAS thread (unless OPENBLAS_NUM_THREADS says otherwise): on shared cores
# BLAS threads wait for each other (analysis/build/qmd.py's KERNEL_ENVIRONMENT, for the executor).
report: $(INSTALLED)
	@quarto="$$($(FIND_QUARTO))" && OPENBLAS_NUM_THREADS="$${OPENBLAS_NUM_THREADS:-1}" \
		QUARTO_PYTHON="$(abspath $(PY))" "$$quarto" render

# Two test processes (pytest-xdist); tests sharing an expensive fixture stay in one (tests/conftest.py).
# TEST_JOBS=0 runs the tests in this process (for a debugger).
TEST_JOBS ?= 2
PYTEST := $(PY) -m pytest -q $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadgroup)

# Everything, as CI runs it (under 4 minutes on 2 cores).
test: $(TEST_INSTALLED)
	$(PYTEST)

# Day-to-day: everything but executing the report's pages and rerunning the R scripts (under a minute).
test-fast: $(TEST_INSTALLED)
	$(PYTEST) -m "not slow"

# PAGES="report/factors.qmd ..." previews only those pages (default: every page).
preview: $(INSTALLED)
	$(PY) -m analysis.build preview _preview $(foreach page,$(PAGES),--page $(page))

# Regenerates the committed synthetic cohort byte-identically.  With N set (make data N=100000
# [SEED=7]) it writes a seeded synthetic registry of N patients to data/generated/registry_N.csv
# instead (git-ignored: generated data are never committed).
data: $(INSTALLED)
ifdef N
	$(PY) -m analysis.build registry $(N) data/generated/registry_$(N).csv $(if $(SEED),--seed $(SEED))
else
	$(PY) -m analysis.build data data/synthetic/ankl_cohort.csv
	$(PY) -m analysis.build deliveries data/synthetic/deliveries
endif

# Registry-scale benchmark against R (10^3 to 10^6 patients; ~1 hour with R): writes benchmarks/RESULTS.md.
benchmark: $(INSTALLED)
	$(PY) benchmarks/run_benchmarks.py --output benchmarks/RESULTS.md

# The second study's extract from R's public bmt data (KMsurv), never committed:
#   make bmt && REPORT_STUDY=studies/bmt.yml make report
bmt: $(INSTALLED)
	Rscript data/export_bmt.R data/private/bmt/bmt.csv
	$(PY) -m analysis validate --study studies/bmt.yml

check: $(INSTALLED)
	PYTHON="$(abspath $(PY))" ../shared/tools/quarto-check .

clean:
	rm -rf _site _preview .quarto

# --- versioned website (see README, "Publishing") ---
.PHONY: provenance report-ci check-site release-check publish-init publish

# Quarto's pre-render step by hand: writes _variables.yml, provenance.json and _provenance.typ, and
# clears _freeze/ when the data, the package or the software changed since the frozen results.
provenance: $(INSTALLED)
	$(PY) -m analysis.build provenance
	$(PY) -m analysis.build sections

# Render every page afresh, as the release workflow does (the CI profile ignores _freeze/), from the study
# releases render (pyproject.toml, [tool.report] release-study) unless REPORT_STUDY names another.
report-ci: $(INSTALLED)
	@quarto="$$($(FIND_QUARTO))" && study="$${REPORT_STUDY:-$$($(PY) -m analysis.build release-study)}" && \
	  REPORT_STUDY="$$study" QUARTO_PYTHON="$(abspath $(PY))" "$$quarto" render --profile ci

# Check the rendered site: links, provenance footer, PDFs, cross-references, no patient-level data.
check-site: $(INSTALLED)
	$(PY) -m analysis.build check-site _site

# Refuse, with a message, to go on where the study that releases render (pyproject.toml, [tool.report]
# release-study) has no data in this checkout (a private extract): the release workflow runs it first.
release-check: $(INSTALLED)
	$(PY) -m analysis.build release-study --check

# Once per clone: a checkout of the gh-pages branch in GH_PAGES, beside the project (a linked work tree
# of this repository; the branch is created by the first publish when the remote has none):
#   make publish-init GH_PAGES=../gh-pages
publish-init: $(INSTALLED)
	@test -n "$(GH_PAGES)" || { echo "usage: make publish-init GH_PAGES=DIR"; exit 2; }
	$(PY) -m analysis.build publish-init "$(GH_PAGES)"

# Check _site, then publish it as release TAG into a clean checkout of the gh-pages branch, keeping
# earlier versions, and check the whole published tree; the release workflow runs this same command
# (see README, "Publishing"):
#   make publish TAG=v0.2.0 GH_PAGES=../gh-pages   (then: git -C ../gh-pages push origin gh-pages)
# A published version is never replaced, unless named twice: make publish TAG=v0.2.0 GH_PAGES=... REPLACE=v0.2.0
publish: $(INSTALLED)
	@test -n "$(TAG)" && test -n "$(GH_PAGES)" || { echo "usage: make publish TAG=vX.Y.Z GH_PAGES=DIR"; exit 2; }
	$(PY) -m analysis.build check-site _site
	$(PY) -m analysis.build publish _site --tag "$(TAG)" --target "$(GH_PAGES)"$(if $(REPLACE), --force --confirm "$(REPLACE)")
	$(PY) -m analysis.build check-site --published "$(GH_PAGES)"
