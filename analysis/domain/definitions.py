"""The endpoints defined in words, as CIBMTR and EBMT outcome papers define them, for the Methods page.

`ENDPOINTS` (`analysis.domain.endpoints`) says how each endpoint is derived from the extract; this
module says the same thing for a reader, in the wording registry papers use, with what the extract's
codes stand for where the registries' definitions are finer than the extract (GVHD grading, GRFS).
"""
from __future__ import annotations

__all__ = ["CENSORING", "DEFINITIONS"]

#: Endpoint name -> its definition (one sentence or two, without the endpoint's title).
DEFINITIONS = {
    "os": "time from HCT to death from any cause; survivors are censored at their last contact.",
    "efs": ("survival without relapse or progression (also called progression-free survival): the event is relapse "
            "or progression, or death from any cause, whichever comes first."),
    "relapse": ("cumulative incidence of relapse or progression of the underlying disease; death without prior "
                "relapse or progression is the competing event."),
    "nrm": "death from any cause without prior relapse or progression; relapse or progression is the competing event.",
    "neutrophil": ("first of three consecutive days with an absolute neutrophil count of at least 0.5 × 10⁹/L; "
                   "death before engraftment is the competing event."),
    "platelet": ("platelet recovery as the registry records it (CIBMTR: the first of three consecutive days with "
                 "at least 20 × 10⁹/L without transfusion in the preceding 7 days); death before engraftment is the "
                 "competing event."),
    "agvhd2": ("onset of acute GVHD of maximum grade II-IV (modified Glucksberg/MAGIC grading, as recorded); relapse "
               "or death before acute GVHD is the competing event."),
    "agvhd3": "as grade II-IV, for a maximum grade of III-IV.",
    "agvhd_any": "onset of acute GVHD of any grade (the extract records no grade); relapse or death before it competes.",
    "cgvhd": ("onset of chronic GVHD, limited or extensive (Seattle classification, as recorded); relapse or death "
              "before chronic GVHD is the competing event."),
    "cgvhd_any": ("onset of chronic GVHD (the extract records no extent); relapse or death before it is the competing "
                  "event."),
    "cgvhd_extensive": "as chronic GVHD, for extensive chronic GVHD.",
    "grfs": ("as Holtan et al. (2015) define it, the event is grade III-IV acute GVHD, chronic "
             "GVHD requiring systemic treatment (here: extensive chronic GVHD), relapse or progression, or death, "
             "whichever comes first."),
}

#: How follow-up ends for a patient without the event, in one paragraph.
CENSORING = ("Patients without the event are censored at their last contact; for a cumulative incidence, the "
             "competing event ends follow-up (it is not censored). Only the first allogeneic HCT is analysed, and "
             "follow-up is not censored at a second transplant or donor lymphocyte infusion.")
