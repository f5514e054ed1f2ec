# Reference values for tests/test_lifelines.py (this package = R = lifelines) that the other
# scripts do not store:
#
# * nelson_aalen: R's Nelson-Aalen cumulative hazard, survfit(Surv(time, event) ~ 1)$cumhaz
#   (ctype = 1, the default: the sum of d / n over the event times) and its standard error
#   std.chaz (the square root of the sum of d / n^2), on the hand-made example of
#   survival_reference.R (ties at 2 and 5, a censoring at the event time 5), survival::lung,
#   KMsurv::bmt (disease-free survival t2/d3) and the synthetic cohort (OS). The package has no
#   Nelson-Aalen estimator (the report shows no cumulative hazard).
# * timedep_hand: a time-varying Cox model with Efron ties on a hand-made data set small enough to
#   follow (the Mantel-Byar example of cox_reference.R plus a fixed covariate): tied deaths at 3,
#   5 and 8, a censoring at the death time 8.
#
# Each case holds its input data, so that Python reads exactly what R used.
#
# Usage (from the project root):
#   Rscript tests/reference/lifelines_reference.R [OUT.json]
# OUT defaults to tests/reference/lifelines_reference.json (the committed file).

suppressPackageStartupMessages(library(survival))

source("tests/reference/common.R")

out_path <- script_arg(1, "tests/reference/lifelines_reference.json")

nelson_aalen_block <- function(time, event) {
  fit <- survfit(Surv(time, event) ~ 1)
  list(data = list(time = I(time), event = I(event)),
       time = I(fit$time), n_risk = I(fit$n.risk), n_event = I(fit$n.event),
       cumhaz = I(fit$cumhaz), std_chaz = I(fit$std.chaz))
}

# The split (tmerge) and the coxph fit of one covariate switching on at `change` (NA: never) and a
# fixed covariate x.
timedep_block <- function(time, status, change, x) {
  d <- data.frame(id = seq_along(time), time = time, status = status, change = change, x = x)
  td <- tmerge(d[, c("id", "time", "status", "x")], d, id = id, event = event(time, status))
  td <- tmerge(td, d, id = id, state = tdc(change))
  fit <- coxph(Surv(tstart, tstop, event) ~ state + x, data = td, ties = "efron")
  list(data = list(time = time, status = status, change = change, x = x),
       split = list(id = td$id, tstart = td$tstart, tstop = td$tstop, event = td$event,
                    state = td$state, x = td$x),
       names = names(coef(fit)), coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))),
       loglik = fit$loglik, iter = fit$iter)
}

ref <- survival_header("tests/reference/lifelines_reference.R")

hand_time <- c(5, 2, 8, 5, 2, 11, 5, 3, 8, 13)
hand_event <- c(1, 1, 0, 0, 1, 1, 1, 0, 1, 0)
lung_d <- survival::lung
bmt_env <- new.env()
data(bmt, package = "KMsurv", envir = bmt_env)
cohort <- read_synthetic_cohort()

ref$nelson_aalen <- list(
  hand = nelson_aalen_block(hand_time, hand_event),
  lung = nelson_aalen_block(lung_d$time, as.integer(lung_d$status == 2)),
  bmt_dfs = nelson_aalen_block(bmt_env$bmt$t2, bmt_env$bmt$d3),
  cohort_os = c(
    list(source_md5 = unname(tools::md5sum(synthetic_cohort_csv))),
    nelson_aalen_block(cohort$day("last_contact_date") / month,
                       as.integer(cohort$data$vital_status == "dead"))
  )
)

ref$timedep_hand <- timedep_block(
  time = c(2, 3, 3, 4, 5, 5, 6, 7, 8, 8), status = c(1, 1, 1, 0, 1, 1, 0, 1, 1, 0),
  change = c(NA, 1, 2, 1, 3, NA, 2, NA, 4, 0), x = c(0, 1, 0, 1, 1, 0, 0, 1, 0, 1)
)

writeLines(to_json(ref, pretty = TRUE, keep_infinity = TRUE), out_path, useBytes = TRUE)
message("wrote ", out_path)
