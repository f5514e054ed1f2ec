# Reference values for tests/test_adjusted.py: covariate-adjusted (standardised) survival and
# cumulative incidence by riskRegression::ate (g-formula, influence-function standard errors,
# its default Wald intervals and p-values), from a coxph model (OS-type endpoints) or a CSC
# (cause-specific Cox models of both causes; product-limit absolute risk).
#
# Usage (from the project root):
#   Rscript tests/reference/adjusted_reference.R [OUTPUT]
# OUTPUT defaults to tests/reference/adjusted_reference.json. The input data of each case
# (except the synthetic cohort, which Python reads itself) are written as CSV to
# <dirname(OUTPUT)>/adjusted/ with full double precision. Needs survival, riskRegression
# (2022.11.28 was used) and KMsurv; common.R writes the JSON.
#
# Everything is stored on the endpoint's own scale: ate reports the risk 1 - S for a coxph model,
# so for survival endpoints the estimate is 1 - risk, the interval (1 - upper, 1 - lower), the
# difference minus ate's risk difference; the survival ratio S_B / S_A is computed here from
# ate's influence functions (survival IF = - risk IF) exactly as confint.ate computes its risk
# ratio (IF_B / S_A - IF_A S_B / S_A^2, Wald interval with the lower limit clipped at 0).

suppressPackageStartupMessages({ library(survival); library(riskRegression) })
source("tests/reference/common.R")

output <- script_arg(1, "tests/reference/adjusted_reference.json")
data_dir <- case_data_dir(output, "adjusted")
z <- qnorm(0.975)

p_two_sided <- function(statistic) 2 * (1 - pnorm(abs(statistic)))

# One ate() run, as lists of curves, differences and ratios on the endpoint's own scale.
# kind "survival": model is a coxph of (time, event); "incidence": a CSC of (time, status).
adjusted_block <- function(kind, d, group, numeric, categorical, times, ties, cause = 1,
                           time = "time", status = "status") {
  terms <- paste(c(group, numeric, names(categorical)), collapse = " + ")
  if (kind == "survival") {
    f <- as.formula(paste0("Surv(", time, ", ", status, ") ~ ", terms))
    # do.call puts the formula and data themselves into the call, where riskRegression looks for them
    model <- do.call(coxph, list(f, data = d, ties = ties, x = TRUE, y = TRUE))
    coefs <- list(event = unname(coef(model)))
  } else {
    f <- as.formula(paste0("Hist(", time, ", ", status, ") ~ ", terms))
    model <- do.call(CSC, list(f, data = d, ties = ties, cause = cause))
    coefs <- list(event = unname(coef(model$models[[1]])), competing = unname(coef(model$models[[2]])))
  }
  a <- suppressWarnings(ate(model, treatment = group, data = d, times = times, cause = cause,
                            se = TRUE, verbose = FALSE))
  levels <- levels(d[[group]])
  mean_risk <- as.data.frame(a$meanRisk)
  survival <- kind == "survival"
  curves <- list()
  for (level in levels) {
    m <- mean_risk[mean_risk$treatment == level, ]
    m <- m[order(m$time), ]
    curves[[level]] <- if (survival) {
      list(estimate = I(1 - m$estimate), se = I(m$se), lower = I(1 - m$upper), upper = I(1 - m$lower))
    } else {
      list(estimate = I(m$estimate), se = I(m$se), lower = I(m$lower), upper = I(m$upper))
    }
  }
  diff_risk <- as.data.frame(a$diffRisk)
  ratio_risk <- as.data.frame(a$ratioRisk)
  differences <- list()
  ratios <- list()
  for (pair in seq_len(ncol(a$allContrasts))) {
    level_a <- a$allContrasts[1, pair]
    level_b <- a$allContrasts[2, pair]
    dd <- diff_risk[diff_risk$A == level_a & diff_risk$B == level_b, ]
    dd <- dd[order(dd$time), ]
    rr <- ratio_risk[ratio_risk$A == level_a & ratio_risk$B == level_b, ]
    rr <- rr[order(rr$time), ]
    if (survival) {
      differences[[pair]] <- list(level = level_b, reference = level_a, estimate = I(-dd$estimate),
                                  se = I(dd$se), lower = I(-dd$upper), upper = I(-dd$lower),
                                  p = I(dd$p.value))
      s_a <- curves[[level_a]]$estimate
      s_b <- curves[[level_b]]$estimate
      iid_a <- -a$iid$GFORMULA[[level_a]]
      iid_b <- -a$iid$GFORMULA[[level_b]]
      ratio <- s_b / s_a
      iid_ratio <- sweep(iid_b, 2, s_a, "/") - sweep(iid_a, 2, s_b / s_a^2, "*")
      se <- sqrt(colSums(iid_ratio^2))
      statistic <- ifelse(ratio == 1, 0, (ratio - 1) / se)
      ratios[[pair]] <- list(level = level_b, reference = level_a, estimate = I(ratio), se = I(se),
                             lower = I(pmax(ratio - z * se, 0)), upper = I(ratio + z * se),
                             p = I(p_two_sided(statistic)))
    } else {
      differences[[pair]] <- list(level = level_b, reference = level_a, estimate = I(dd$estimate),
                                  se = I(dd$se), lower = I(dd$lower), upper = I(dd$upper),
                                  p = I(dd$p.value))
      ratios[[pair]] <- list(level = level_b, reference = level_a, estimate = I(rr$estimate),
                             se = I(rr$se), lower = I(rr$lower), upper = I(rr$upper),
                             p = I(rr$p.value))
    }
  }
  list(kind = kind, ties = ties, cause = cause, time = time, status = status, group = group,
       levels = I(levels), numeric = I(numeric),
       categorical = lapply(categorical, function(v) I(v)),
       times = I(sort(times)), coef = coefs, curves = curves, differences = differences, ratios = ratios)
}

cases <- list()

# (a) by hand: 12 patients, deliberately unsorted, tied event times (two events at 3, an event and
# a competing event at 5, a censoring tied with an event at 6), a numeric and a two-level
# covariate. Times: before the first event, at and between events, at the last event, after it
# but within follow-up, and beyond follow-up (NA).
hand <- data.frame(
  time = c(3, 1, 5, 2, 3, 6, 4, 3, 7, 2, 5, 6),
  status = c(1, 2, 1, 0, 0, 0, 2, 1, 1, 1, 2, 1),
  grp = c("a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "b", "a"),
  x = c(1.5, 2, 0, 1, 3, 2.5, 1, 0.5, 2, 1, 0, 1),
  sex = c("F", "M", "M", "F", "M", "F", "F", "M", "M", "F", "M", "F")
)
hand$event <- as.integer(hand$status != 0)
write_case_csv(hand, data_dir, "hand")
hand$grp <- factor(hand$grp, levels = c("a", "b"))
hand$sex <- factor(hand$sex, levels = c("F", "M"))
hand_times <- c(0.5, 1, 2.5, 3, 5, 6, 7, 7.5, 9)
for (ties in c("efron", "breslow")) {
  cases[[paste0("hand_os_", ties)]] <- c(list(data = "adjusted/hand.csv"),
    adjusted_block("survival", hand, "grp", "x", list(sex = c("F", "M")), hand_times, ties, status = "event"))
}
hand_cr <- hand[hand$time <= 6, ]  # within the range where every product-limit factor stays in [0, 1]
for (ties in c("efron", "breslow")) {
  cases[[paste0("hand_cif_", ties)]] <- c(list(data = "adjusted/hand.csv", subset = "time <= 6"),
    adjusted_block("incidence", hand_cr, "grp", "x", list(), c(0.5, 1, 2.5, 3, 4.5, 5, 6), ties))
}

# (b) simulated, whole-day times with heavy ties: 250 patients, 3 groups, numeric age, a two-level
# and a three-level categorical covariate; causes 1 and 2 and censoring. Cox on any event, CSC of
# cause 1 and of cause 2; both tie methods; the Efron cases over the whole curve (every distinct
# event time, and 0).
set.seed(20240611)
n <- 250
sim <- data.frame(
  grp = sample(c("CB", "PB", "BM"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25)),
  age = round(runif(n, 18, 70)),
  sex = sample(c("M", "F"), n, replace = TRUE),
  status_hct = sample(c("CR", "PR", "NR"), n, replace = TRUE, prob = c(0.4, 0.2, 0.4))
)
lp1 <- 0.02 * (sim$age - 45) + 0.3 * (sim$sex == "F") - 0.4 * (sim$grp == "PB") + 0.6 * (sim$status_hct == "NR")
lp2 <- 0.03 * (sim$age - 45) + 0.4 * (sim$grp == "CB") + 0.2 * (sim$status_hct == "PR")
t1 <- floor(rexp(n, exp(lp1) / 300))
t2 <- floor(rexp(n, exp(lp2) / 500))
tc <- pmin(sample(1:2500, n, replace = TRUE), 1826)
t_event <- pmin(t1, t2)
sim$days <- pmin(t_event, tc)
sim$time <- sim$days / month
sim$status <- ifelse(t_event <= tc, ifelse(t1 <= t2, 1, 2), 0)
sim$event <- as.integer(sim$status != 0)
write_case_csv(sim, data_dir, "sim")
sim$grp <- factor(sim$grp, levels = c("CB", "PB", "BM"))
sim$sex <- factor(sim$sex, levels = c("M", "F"))
sim$status_hct <- factor(sim$status_hct, levels = c("CR", "PR", "NR"))
sim_cat <- list(sex = c("M", "F"), status_hct = c("CR", "PR", "NR"))
curve_times <- sort(unique(c(0, sim$time[sim$status != 0])))
sim_times <- c(3, 12, 36, 60)
for (ties in c("efron", "breslow")) {
  times <- if (ties == "efron") curve_times else sim_times
  cases[[paste0("sim_os_", ties)]] <- c(list(data = "adjusted/sim.csv", whole_curve = ties == "efron"),
    adjusted_block("survival", sim, "grp", "age", sim_cat, times, ties, status = "event"))
  cases[[paste0("sim_cif1_", ties)]] <- c(list(data = "adjusted/sim.csv", whole_curve = ties == "efron"),
    adjusted_block("incidence", sim, "grp", "age", sim_cat, times, ties, cause = 1))
}
cases$sim_cif2_efron <- c(list(data = "adjusted/sim.csv", whole_curve = FALSE),
  adjusted_block("incidence", sim, "grp", "age", sim_cat, sim_times, "efron", cause = 2))

# (c) KMsurv::bmt (Klein & Moeschberger): disease group (ALL, AML low risk, AML high risk), times in
# months; overall survival (t1, d1) and relapse (1) vs death in remission (2) on t2; adjusted for
# patient age z1, patient sex z3 and MTX z10.
data(bmt, package = "KMsurv")
bmt_d <- data.frame(
  os_time = bmt$t1 / month, os_status = bmt$d1,
  time = bmt$t2 / month, status = ifelse(bmt$d2 == 1, 1, ifelse(bmt$d3 == 1, 2, 0)),
  group = c("ALL", "AML low", "AML high")[bmt$group],
  z1 = bmt$z1, z3 = bmt$z3, z10 = bmt$z10
)
write_case_csv(bmt_d, data_dir, "bmt")
bmt_d$group <- factor(bmt_d$group, levels = c("ALL", "AML low", "AML high"))
bmt_times <- c(6, 12, 24, 36, 60)
cases$bmt_os <- c(list(data = "adjusted/bmt.csv"),
  adjusted_block("survival", bmt_d, "group", c("z1", "z3", "z10"), list(), bmt_times, "efron",
                 time = "os_time", status = "os_status"))
cases$bmt_relapse <- c(list(data = "adjusted/bmt.csv"),
  adjusted_block("incidence", bmt_d, "group", c("z1", "z3", "z10"), list(), bmt_times, "efron", cause = 1))
cases$bmt_nrm <- c(list(data = "adjusted/bmt.csv"),
  adjusted_block("incidence", bmt_d, "group", c("z1", "z3", "z10"), list(), bmt_times, "efron", cause = 2))

# (d) the synthetic cohort, when present (endpoints as tests/reference/endpoints_reference.R
# derives them, in months): OS by graft source and relapse and NRM by status at HCT (CR/PR vs NR),
# adjusted for the study's other covariates; at the report's horizons and over the whole curve.
if (file.exists(synthetic_cohort_csv)) {
  cohort <- read_synthetic_cohort()
  co <- cohort$data
  last_contact <- cohort$day("last_contact_date") / month
  relapse_time <- ifelse(co$relapse == "1", cohort$day("relapse_date") / month, last_contact)
  died <- co$vital_status == "dead"
  ankl <- data.frame(
    os_time = last_contact, os_status = as.integer(died), time = relapse_time,
    relapse_status = ifelse(co$relapse == "1", 1, ifelse(died, 2, 0)),
    graft_source = factor(co$graft_source, levels = c("CB", "PB", "BM")),
    status_at_hct = factor(co$status_at_hct, levels = c("CR", "PR", "NR")),
    crpr = factor(ifelse(co$status_at_hct == "NR", "NR", "CR/PR"), levels = c("CR/PR", "NR")),
    age = as.numeric(co$age)
  )
  ankl$nrm_status <- ifelse(ankl$relapse_status == 1, 2, ifelse(ankl$relapse_status == 2, 1, 0))
  horizons <- c(12, 60)
  cases$ankl_os <- c(list(data = synthetic_cohort_csv, endpoint = "os", by = "graft_source"),
    adjusted_block("survival", ankl, "graft_source", "age", list(status_at_hct = c("CR", "PR", "NR")),
                   sort(unique(c(0, horizons, ankl$os_time[ankl$os_status == 1]))), "efron",
                   time = "os_time", status = "os_status"))
  for (ep in c("relapse", "nrm")) {
    status <- paste0(ep, "_status")
    cases[[paste0("ankl_", ep)]] <- c(list(data = synthetic_cohort_csv, endpoint = ep, by = "status_crpr_vs_nr"),
      adjusted_block("incidence", ankl, "crpr", "age", list(graft_source = c("CB", "PB", "BM")),
                     horizons, "efron", status = status))
  }
} else {
  message("adjusted_reference.R: ", synthetic_cohort_csv, " not found; synthetic-cohort cases skipped")
}

ref <- c(survival_header("tests/reference/adjusted_reference.R"),
         list(riskregression_version = as.character(packageVersion("riskRegression")), cases = cases))
writeLines(to_json(ref, pretty = TRUE), output)
