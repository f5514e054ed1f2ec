# Reference values for tests/test_survival.py, computed with R's survival package.
#
# Usage (from the project root):
#   Rscript tests/reference/survival_reference.R [OUT.json] [COHORT.csv]
# OUT defaults to tests/reference/survival_reference.json (the committed file);
# COHORT defaults to data/synthetic/ankl_cohort.csv and is skipped when absent.
#
# Needs base R, survival and KMsurv only (the JSON writer is in common.R). NA is
# written as null, infinite values as Infinity.
#
# Cases: the hand-made example of the tests, edge cases of the NA and median
# conventions, survival::lung, KMsurv::bmt and the synthetic cohort.

suppressPackageStartupMessages(library(survival))

source("tests/reference/common.R")

out_path <- script_arg(1, "tests/reference/survival_reference.json")
cohort_path <- script_arg(2, synthetic_cohort_csv)

# ------------------------------------------------------------- reference blocks

# One Kaplan-Meier curve: survfit rows, Greenwood variance of S, log-log CI,
# the median by quantile.survfit and by print.survfit (summary()$table).
km_block <- function(fit) {
  q <- quantile(fit, probs = 0.5)
  tab <- summary(fit)$table
  list(
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
    surv = fit$surv,
    std_err_log = fit$std.err,                    # R's std.err is of log S
    variance = (fit$surv * fit$std.err)^2,        # 0 * Inf = NaN where S is 0
    lower = fit$lower, upper = fit$upper,
    median = list(estimate = unname(q$quantile), lower = unname(q$lower),
                  upper = unname(q$upper)),
    median_print = list(estimate = unname(tab["median"]),
                        lower = unname(tab["0.95LCL"]), upper = unname(tab["0.95UCL"]))
  )
}

curves <- function(time, event, group = NULL) {
  out <- list(all = km_block(survfit(Surv(time, event) ~ 1, conf.type = "log-log")))
  if (!is.null(group)) {
    fit <- survfit(Surv(time, event) ~ group, conf.type = "log-log")
    levs <- sub("^group=", "", names(fit$strata))
    for (i in seq_along(levs)) out[[levs[i]]] <- km_block(fit[i])
  }
  out
}

logrank <- function(time, event, group, strata = NULL) {
  sd <- if (is.null(strata)) survdiff(Surv(time, event) ~ group)
        else survdiff(Surv(time, event) ~ group + strata(strata))
  df <- sum(rowSums(as.matrix(sd$exp)) > 0) - 1
  list(statistic = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE))
}

followup <- function(time, event) {
  rev <- survfit(Surv(time, 1 - event) ~ 1, conf.type = "log-log")
  q <- quantile(rev, probs = 0.5)
  alive <- time[event == 0]
  list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
       minimum = if (length(alive)) min(alive) else NA,
       maximum = if (length(alive)) max(alive) else NA,
       n = length(time), n_survivors = length(alive))
}

# ------------------------------------------------------------------------ cases

ref <- survival_header("tests/reference/survival_reference.R")

# (a) the hand-made example: unsorted, tied events at 2 and 5, a censoring at 5
hand <- data.frame(
  time   = c(5, 2, 8, 5, 2, 11, 5, 3, 8, 13),
  event  = c(1, 1, 0, 0, 1, 1, 1, 0, 1, 0),
  group  = c("A", "B", "A", "B", "A", "B", "B", "A", "B", "A"),
  strata = c(1, 1, 2, 2, 1, 2, 1, 2, 1, 2)
)
ref$hand <- list(
  data = as.list(hand),
  curves = curves(hand$time, hand$event, hand$group),
  logrank = logrank(hand$time, hand$event, hand$group),
  logrank_strata = logrank(hand$time, hand$event, hand$group, hand$strata),
  followup = followup(hand$time, hand$event)
)

# (e) edge cases of the NA and median conventions
edge <- list(
  all_events = list(time = c(3, 1, 4, 2), event = c(1, 1, 1, 1)),        # median 2.5, S = 0
  ends_at_half = list(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0)),      # quantile 3, print 2
  half_interval = list(time = c(1, 2, 3, 4, 5, 6), event = c(1, 1, 1, 0, 1, 1)),
  single_event = list(time = 7, event = 1),
  all_censored = list(time = c(2, 5, 5, 9), event = c(0, 0, 0, 0)),
  censored_first = list(time = c(1, 1, 2, 3, 3, 4, 6), event = c(0, 0, 1, 0, 1, 1, 0)),
  to_zero_with_censor = list(time = c(1, 2, 3, 4, 4, 4), event = c(1, 1, 0, 1, 1, 0)),
  time_zero = list(time = c(0, 0, 1, 2, 2, 3), event = c(1, 0, 1, 1, 0, 1)),
  near_ties = list(time = c(1, 1 + 1e-9, 2, 3, 3 - 1e-12, 4), event = c(1, 1, 0, 1, 1, 0))
)
ref$edge <- lapply(edge, function(d) {
  list(data = d, curves = curves(d$time, d$event), followup = followup(d$time, d$event))
})

# (b) survival::lung, time in days, status 1 = censored, 2 = dead
lung_d <- survival::lung
lung_e <- as.integer(lung_d$status == 2)
has_ecog <- !is.na(lung_d$ph.ecog)
ref$lung <- list(
  data = list(time = lung_d$time, event = lung_e, sex = lung_d$sex, ph_ecog = lung_d$ph.ecog),
  curves = curves(lung_d$time, lung_e, lung_d$sex),
  logrank_sex = logrank(lung_d$time, lung_e, lung_d$sex),
  logrank_sex_strata_ecog = logrank(lung_d$time[has_ecog], lung_e[has_ecog],
                                    lung_d$sex[has_ecog], lung_d$ph.ecog[has_ecog]),
  followup = followup(lung_d$time, lung_e)
)

# (c) KMsurv::bmt: t2/d3 disease-free survival, t1/d1 death, group 1..3,
# z10 = methotrexate as GVHD prophylaxis (stratification factor)
bmt_env <- new.env()
data(bmt, package = "KMsurv", envir = bmt_env)
bmt <- bmt_env$bmt
ref$bmt <- list(
  data = list(t1 = bmt$t1, d1 = bmt$d1, t2 = bmt$t2, d3 = bmt$d3, group = bmt$group,
              z10 = bmt$z10),
  dfs = list(
    curves = curves(bmt$t2, bmt$d3, bmt$group),
    logrank = logrank(bmt$t2, bmt$d3, bmt$group),
    logrank_strata_z10 = logrank(bmt$t2, bmt$d3, bmt$group, bmt$z10),
    followup = followup(bmt$t2, bmt$d3)
  ),
  os = list(
    curves = curves(bmt$t1, bmt$d1, bmt$group),
    logrank = logrank(bmt$t1, bmt$d1, bmt$group),
    logrank_strata_z10 = logrank(bmt$t1, bmt$d1, bmt$group, bmt$z10),
    followup = followup(bmt$t1, bmt$d1)
  )
)

# (d) the synthetic cohort (SPEC: OS months = days / 30.4375, event = dead)
if (file.exists(cohort_path)) {
  co <- read.csv(cohort_path, fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE,
                 na.strings = "")
  days <- if ("last_contact_day" %in% names(co)) {
    as.numeric(co$last_contact_day)
  } else {
    as.numeric(as.Date(co$last_contact_date) - as.Date(co$hct_date))
  }
  time <- days / month
  event <- as.integer(co$vital_status == "dead")
  cb <- ifelse(co$graft_source == "CB", "CB", "other")
  ref$cohort <- list(
    source = cohort_path,
    source_md5 = unname(tools::md5sum(cohort_path)),
    data = list(time = time, event = event, graft_source = co$graft_source,
                status_at_hct = co$status_at_hct),
    curves = curves(time, event),
    curves_graft_source = curves(time, event, co$graft_source)[-1],
    curves_status_at_hct = curves(time, event, co$status_at_hct)[-1],
    logrank_graft_source = logrank(time, event, co$graft_source),
    logrank_cb_vs_other = logrank(time, event, cb),
    logrank_status_at_hct = logrank(time, event, co$status_at_hct),
    logrank_graft_source_strata_status = logrank(time, event, co$graft_source,
                                                 co$status_at_hct),
    followup = followup(time, event)
  )
} else {
  message("cohort file ", cohort_path, " not found: cohort reference values skipped")
}

writeLines(to_json(ref, pretty = TRUE, keep_infinity = TRUE), out_path, useBytes = TRUE)
message("wrote ", out_path)
