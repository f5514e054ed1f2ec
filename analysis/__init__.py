"""Transplant-outcomes analysis: loading, endpoints, estimators matched to R, and presentation.

The package is layered; each layer imports only the ones before it:

- `analysis.data`: the extract format and its one label table, readers, mapping, validation,
  inclusion, the cohort and the study file;
- `analysis.domain`: endpoints, states reached after HCT, groupings;
- `analysis.stats`: estimators matched to R, returning frozen results;
- `analysis.analyses`: what each chapter computes;
- `analysis.present`: figures, tables and sentences, with the page's display settings;
- `analysis.pages`: what the chapters import; `analysis.cli`: ``python -m analysis``.

`analysis.build` holds the build and release tools, outside the layers.  The names below are the
entry points for a script or a notebook.
"""

__version__ = "0.1.0"

from analysis.analyses.estimates import estimate_endpoint  # noqa: E402
from analysis.analyses.models import fit_model  # noqa: E402
from analysis.analyses.report import compute_report  # noqa: E402
from analysis.analyses.settings import load_study  # noqa: E402
from analysis.data.cohort import load_cohort  # noqa: E402
from analysis.data.study import study_cohort  # noqa: E402
from analysis.domain.endpoints import ENDPOINTS, endpoint_data  # noqa: E402
from analysis.stats.aalen_johansen import cumulative_incidence  # noqa: E402
from analysis.stats.cox import cox_model  # noqa: E402
from analysis.stats.finegray import fine_gray  # noqa: E402
from analysis.stats.gray import gray_test  # noqa: E402
from analysis.stats.kaplan_meier import kaplan_meier  # noqa: E402
from analysis.stats.logrank import logrank_test  # noqa: E402

__all__ = [
    "ENDPOINTS", "__version__", "compute_report", "cox_model", "cumulative_incidence", "endpoint_data",
    "estimate_endpoint", "fine_gray", "fit_model", "gray_test", "kaplan_meier", "load_cohort", "load_study",
    "logrank_test", "study_cohort",
]
