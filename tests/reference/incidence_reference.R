# Reference values for tests/test_incidence.py: cumulative incidence (Aalen-Johansen,
# Gray's variance) and Gray's test from cmprsk::cuminc.
#
# Usage (from the project root):
#   Rscript tests/reference/incidence_reference.R [OUTPUT]
# OUTPUT defaults to tests/reference/incidence_reference.json.  The input data of
# each case are written as CSV to <dirname(OUTPUT)>/incidence/ with full double
# precision, so that Python reads exactly the numbers R used.  Needs base R,
# survival, cmprsk and KMsurv (no jsonlite: common.R writes the JSON).

suppressPackageStartupMessages({ library(survival); library(cmprsk) })
source("tests/reference/common.R")

output <- script_arg(1, "tests/reference/incidence_reference.json")
data_dir <- case_data_dir(output, "incidence")

# --------------------------------------------------------- reference blocks
# One block per cuminc curve: the raw doubled-step output ($time/$est/$var) and
# timepoints() at every distinct observed time of the curve's data.
curve_blocks <- function(time, status, by = NULL, group = NULL) {
  if (is.null(group)) group <- rep("all", length(time))
  fit <- cuminc(time, status, group)
  causes <- sort(unique(status[status != 0]))
  blocks <- list()
  for (lev in sort(unique(as.character(group)))) {
    sel <- as.character(group) == lev
    ut <- sort(unique(time[sel]))
    km <- survfit(Surv(time[sel], status[sel] != 0) ~ 1)
    for (cause in causes) {
      w <- fit[[paste(lev, cause)]]
      tp <- timepoints(fit[paste(lev, cause)], ut)
      n_event <- as.vector(table(factor(time[sel & status == cause], levels = ut)))
      blocks[[length(blocks) + 1]] <- list(
        by = if (is.null(by)) NULL else by, level = lev, cause = cause,
        jump_time = I(w$time), jump_est = I(w$est), jump_var = I(w$var),
        time = I(ut), est = I(as.vector(tp$est)), var = I(as.vector(tp$var)),
        n_risk = I(km$n.risk), n_censor = I(km$n.censor), n_event = I(n_event)
      )
    }
  }
  blocks
}

gray_blocks <- function(time, status, group, by, strata = NULL, strata_by = NULL) {
  fit <- if (is.null(strata)) cuminc(time, status, group) else cuminc(time, status, group, strata)
  tests <- fit$Tests
  lapply(rownames(tests), function(cause) list(
    by = by, strata = if (is.null(strata_by)) NULL else strata_by,
    cause = as.numeric(cause), statistic = tests[cause, "stat"],
    p = tests[cause, "pv"], df = tests[cause, "df"]
  ))
}

# A case with a `group` column, written to <data_dir>/<name>.csv: the curves overall and by
# group, and Gray's test by group, unstratified and stratified by the column `strata`.
grouped_case <- function(d, name, strata) {
  write_case_csv(d, data_dir, name)
  list(
    data = paste0("incidence/", name, ".csv"),
    curves = c(curve_blocks(d$time, d$status), curve_blocks(d$time, d$status, "group", d$group)),
    tests = c(gray_blocks(d$time, d$status, d$group, "group"),
              gray_blocks(d$time, d$status, d$group, "group", d[[strata]], strata))
  )
}

cases <- list()

# (a) hand-made: ties at time 2 (two relapses) and time 5 (relapse, competing
# death and censoring together); rows deliberately unsorted.
hand <- data.frame(
  time = c(5, 12, 2, 8, 5, 3, 10, 2, 7, 5),
  status = c(1, 0, 1, 1, 2, 2, 2, 1, 0, 0)
)
write_case_csv(hand, data_dir, "hand")
cases$hand <- list(data = "incidence/hand.csv",
                   curves = curve_blocks(hand$time, hand$status), tests = list())

# (b) edge cases of cinc/crst: an event at time 0, group B emptied by an event
# while A is still at risk (its KM reaches 0), and a last time at which everyone
# left fails from both causes (S = 0: competing term skipped in cinc).
edge <- data.frame(
  time = c(6, 0, 1, 1, 2, 3, 3, 4, 5, 5, 5, 6, 2, 4, 1, 3),
  status = c(1, 1, 2, 1, 0, 1, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2),
  group = c("A", "A", "A", "B", "B", "A", "B", "A", "A", "A", "A", "A", "C", "C", "C", "C"),
  stratum = c(1, 2, 1, 1, 2, 1, 1, 2, 2, 1, 2, 1, 2, 1, 2, 1)
)
cases$edge <- grouped_case(edge, "edge", "stratum")

# (c) KMsurv::bmt, relapse endpoint: t2 (days -> months), 1 = relapse,
# 2 = death in remission; groups = disease group, strata = FAB (z8).
data(bmt, package = "KMsurv")
bmt_d <- data.frame(
  time = bmt$t2 / month,
  status = ifelse(bmt$d2 == 1, 1, ifelse(bmt$d3 == 1, 2, 0)),
  group = bmt$group, z8 = bmt$z8
)
cases$bmt <- grouped_case(bmt_d, "bmt", "z8")

# (d) simulated, heavy ties: integer months 1..60, three causes (3 also competes).
set.seed(20240501)
n <- 500
sim <- data.frame(group = sample(c("A", "B", "C"), n, replace = TRUE),
                  stratum = sample(1:2, n, replace = TRUE))
rate <- c(A = 0.025, B = 0.04, C = 0.06)[sim$group] * ifelse(sim$stratum == 2, 1.5, 1)
t_event <- ceiling(rexp(n, rate))
t_cens <- sample(1:72, n, replace = TRUE)
cause <- sample(1:3, n, replace = TRUE, prob = c(0.55, 0.35, 0.10))
sim$time <- pmin(t_event, t_cens, 60)
sim$status <- ifelse(t_event <= pmin(t_cens, 60), cause, 0)
sim <- sim[, c("time", "status", "group", "stratum")]
cases$sim <- grouped_case(sim, "sim", "stratum")

# (d2) two distinct times only: cuminc's score covariance for Gray's test is then not positive
# definite, and by group it returns a negative statistic (about -12.75, "pv" 1).
two_times <- data.frame(
  time = c(2, 1, 1, 2, 2, 2, 2, 1, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 1),
  status = c(2, 1, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 0, 0, 2, 2, 2, 0, 1),
  group = c("B", "C", "C", "B", "A", "A", "B", "B", "A", "A", "B", "B", "A", "B", "B", "C", "A", "B", "C"),
  stratum = rep(1, 19)
)
cases$two_times <- grouped_case(two_times, "two_times", "stratum")

# (e) the synthetic cohort, when present: relapse and NRM endpoints (SPEC.md).
if (file.exists(synthetic_cohort_csv)) {
  co <- read.csv(synthetic_cohort_csv, fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE,
                 na.strings = c("", "NA"))
  day <- function(col) {
    if (paste0(col, "_day") %in% names(co)) return(as.numeric(co[[paste0(col, "_day")]]))
    as.numeric(as.Date(co[[paste0(col, "_date")]]) - as.Date(co$hct_date))
  }
  relapsed <- co$relapse == 1
  days <- ifelse(relapsed, day("relapse"), day("last_contact"))
  death_first <- co$vital_status == "dead" & !relapsed
  rel_status <- ifelse(relapsed, 1, ifelse(death_first, 2, 0))
  endpoints <- list(relapse = rel_status, nrm = ifelse(rel_status == 0, 0, 3 - rel_status))
  for (ep in names(endpoints)) {
    status <- endpoints[[ep]]
    time <- days / month
    ok <- !is.na(time) & !is.na(status)
    tests <- list()
    curves <- curve_blocks(time[ok], status[ok])
    for (by in c("graft_source", "status_at_hct")) {
      g <- co[[by]][ok]
      curves <- c(curves, curve_blocks(time[ok], status[ok], by, g))
      tests <- c(tests, Filter(function(b) b$cause == 1, gray_blocks(time[ok], status[ok], g, by)))
    }
    cases[[paste0("ankl_", ep)]] <- list(data = synthetic_cohort_csv, endpoint = ep, n = sum(ok),
                                         curves = curves, tests = tests)
  }
} else {
  message("incidence_reference.R: ", synthetic_cohort_csv, " not found; synthetic-cohort case skipped")
}

ref <- c(cmprsk_header("tests/reference/incidence_reference.R"), list(cases = cases))
writeLines(to_json(ref, pretty = TRUE), output)
