# Reference values for tests/test_finegray.py: Fine-Gray regression by cmprsk::crr
# (coefficients, robust and naive variance, log pseudo-likelihoods, summary.crr's
# confidence intervals and p-values), and survival::coxph(ties = "breslow") for the
# identity "Fine-Gray without competing events = Cox with Breslow ties".
#
# Usage (from the project root):
#   Rscript tests/reference/finegray_reference.R [OUTPUT]
# OUTPUT defaults to tests/reference/finegray_reference.json.  The input data of
# each case (except the synthetic cohort, which Python reads itself) are written as
# CSV to <dirname(OUTPUT)>/finegray/ with full double precision, so that Python reads
# exactly the numbers R used.  Needs base R, survival, cmprsk and KMsurv (no
# jsonlite: common.R writes the JSON).

suppressPackageStartupMessages({ library(survival); library(cmprsk) })
source("tests/reference/common.R")

output <- script_arg(1, "tests/reference/finegray_reference.json")
data_dir <- case_data_dir(output, "finegray")

# ------------------------------------------------------------ crr summaries
# Everything print(summary(crr)) shows, unrounded, plus the pieces behind it.
# `iterations` is the number of Newton steps crr took: the smallest maxiter at
# which it reports convergence (crr does not return it).
crr_block <- function(time, status, cov, cause) {
  fit <- crr(time, status, cov, failcode = cause, cencode = 0)
  s <- summary(fit)
  b <- fit$coef
  se <- sqrt(diag(fit$var))
  z <- b / se
  ci <- s$conf.int
  iterations <- NA
  if (fit$converged) {
    for (k in 0:10) {
      if (crr(time, status, cov, failcode = cause, cencode = 0, maxiter = k, variance = FALSE)$converged) {
        iterations <- k
        break
      }
    }
  }
  wald <- as.numeric(t(b) %*% solve(fit$var, b))
  lr <- unname(s$logtest["test"])
  list(
    terms = I(names(b)), cause = cause, n = fit$n,
    events = sum(status == cause), competing = sum(status != 0 & status != cause),
    censored = sum(status == 0),
    coef = I(unname(b)), se = I(unname(se)), se_naive = I(unname(sqrt(diag(fit$invinf)))),
    z = I(unname(z)), p = I(unname(2 * pnorm(-abs(z)))),
    p_summary = I(unname(2 * (1 - pnorm(abs(z))))),
    hr = I(unname(ci[, "exp(coef)"])), lower = I(unname(ci[, "2.5%"])), upper = I(unname(ci[, "97.5%"])),
    var = I(as.vector(fit$var)), invinf = I(as.vector(fit$invinf)), inf = I(as.vector(fit$inf)),
    score = I(unname(fit$score)),
    loglik = fit$loglik, loglik_null = fit$loglik.null,
    pseudo_lr = lr, pseudo_lr_df = unname(s$logtest["df"]),
    pseudo_lr_p = pchisq(lr, length(b), lower.tail = FALSE),
    wald = wald, wald_df = length(b), wald_p = pchisq(wald, length(b), lower.tail = FALSE),
    converged = fit$converged, iterations = iterations,
    uftime = I(fit$uftime), bfitj = I(fit$bfitj)
  )
}

cases <- list()

# (a) by hand: one binary covariate; a competing event at 1 stays in later risk
# sets; a censoring at 2; at 3 two tied events and a censoring; a competing
# event at 4; an event at 5; a censoring at 6.  Rows deliberately unsorted.
hand <- data.frame(
  time = c(3, 1, 5, 2, 3, 6, 4, 3),
  status = c(1, 2, 1, 0, 0, 0, 2, 1),
  x = c(1, 1, 0, 0, 1, 1, 0, 0)
)
write_case_csv(hand, data_dir, "hand")
hx <- as.matrix(hand["x"])
at0 <- crr(hand$time, hand$status, hx, maxiter = 0)
step1 <- crr(hand$time, hand$status, hx, maxiter = 1)
cases$hand <- list(
  data = "finegray/hand.csv", covariates = I("x"),
  fit = crr_block(hand$time, hand$status, hx, 1),
  at_zero = list(score = I(unname(at0$score)), inf = I(as.vector(at0$inf)), loglik = at0$loglik,
                 var = I(as.vector(at0$var))),
  step1 = list(coef = I(unname(step1$coef)), loglik = step1$loglik)
)

# (b) KMsurv::bmt: t2 (days -> months); 1 = relapse, 2 = death in remission.
# Covariates: disease group dummies vs ALL (2 = AML low risk, 3 = AML high risk),
# z1 patient age, z3 patient sex, z10 MTX.  Relapse (failcode 1) and NRM (failcode 2).
data(bmt, package = "KMsurv")
bmt_d <- data.frame(
  time = bmt$t2 / month,
  status = ifelse(bmt$d2 == 1, 1, ifelse(bmt$d3 == 1, 2, 0)),
  aml_low = as.numeric(bmt$group == 2), aml_high = as.numeric(bmt$group == 3),
  z1 = bmt$z1, z3 = bmt$z3, z10 = bmt$z10
)
write_case_csv(bmt_d, data_dir, "bmt")
bmt_cov <- as.matrix(bmt_d[c("aml_low", "aml_high", "z1", "z3", "z10")])
cases$bmt_relapse <- list(data = "finegray/bmt.csv", covariates = I(colnames(bmt_cov)),
                          fit = crr_block(bmt_d$time, bmt_d$status, bmt_cov, 1))
cases$bmt_nrm <- list(data = "finegray/bmt.csv", covariates = I(colnames(bmt_cov)),
                      fit = crr_block(bmt_d$time, bmt_d$status, bmt_cov, 2))

# (c) simulated, heavy ties: 800 patients, whole days (events, competing events and
# censorings at day 0), times in
# months; causes 1, 2 and 3 (3 competes too); 5 covariates incl. graft dummies vs CB;
# censoring at uniform whole days and administratively at day 365.
set.seed(20240611)
n <- 800
sim <- data.frame(
  age = round(runif(n, 18, 70)),
  female = rbinom(n, 1, 0.45),
  graft = sample(c("CB", "PB", "BM"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25)),
  ldh = round(exp(rnorm(n, 5.5, 0.4)))
)
sim$graft_PB <- as.numeric(sim$graft == "PB")
sim$graft_BM <- as.numeric(sim$graft == "BM")
lp1 <- 0.02 * (sim$age - 45) + 0.3 * sim$female - 0.4 * sim$graft_PB + 0.2 * sim$graft_BM + 0.002 * (sim$ldh - 250)
lp2 <- -0.01 * (sim$age - 45) + 0.5 * sim$graft_PB + 0.001 * (sim$ldh - 250)
t1 <- floor(rexp(n, exp(lp1) / 150))
t2 <- floor(rexp(n, exp(lp2) / 250))
t3 <- floor(rexp(n, 1 / 2000))
tc <- pmin(sample(0:730, n, replace = TRUE), 365)
tc[1:3] <- 0  # censorings at day 0, where crr's weight is G(0), not G(0-)
t_event <- pmin(t1, t2, t3)
cause <- ifelse(t1 == t_event, 1, ifelse(t2 == t_event, 2, 3))
sim$days <- pmin(t_event, tc)
sim$status <- ifelse(t_event <= tc, cause, 0)
sim$time <- sim$days / month
sim <- sim[c("time", "days", "status", "age", "female", "graft_PB", "graft_BM", "ldh")]
write_case_csv(sim, data_dir, "sim")
sim_cov <- as.matrix(sim[c("age", "female", "graft_PB", "graft_BM", "ldh")])
cases$sim <- list(data = "finegray/sim.csv", covariates = I(colnames(sim_cov)),
                  fit = crr_block(sim$time, sim$status, sim_cov, 1))

# (d) identity: no competing events (competing events of sim treated as censored):
# Fine-Gray is Cox with Breslow ties.  coxph is run to full convergence; its naive
# and robust (sandwich, dfbeta) variances, and log partial likelihoods.
cox_status <- as.numeric(sim$status == 1)
cox <- coxph(Surv(sim$time, cox_status) ~ sim_cov, ties = "breslow", robust = TRUE,
             control = coxph.control(eps = 1e-14, iter.max = 100, toler.chol = 1e-15))
cases$cox_identity <- list(
  data = "finegray/sim.csv", covariates = I(colnames(sim_cov)), status = "status == 1 (others censored)",
  fit = crr_block(sim$time, cox_status, sim_cov, 1),
  cox = list(coef = I(unname(coef(cox))), se = I(unname(sqrt(diag(cox$var)))),
             se_naive = I(unname(sqrt(diag(cox$naive.var)))),
             loglik = cox$loglik[2], loglik_null = cox$loglik[1])
)

# (e) the synthetic cohort, when present: relapse and NRM with time and status
# derived as in tests/reference/endpoints_reference.R; covariates graft source
# dummies vs CB, status at HCT dummies vs CR, age.
if (file.exists(synthetic_cohort_csv)) {
  cohort <- read_synthetic_cohort()
  d <- cohort$data
  day <- cohort$day
  relapsed <- d$relapse == "1"
  dead <- d$vital_status == "dead"
  time <- ifelse(relapsed, day("relapse_date"), day("last_contact_date")) / month
  endpoints <- list(relapse = ifelse(relapsed, 1, ifelse(dead, 2, 0)),
                    nrm = ifelse(relapsed, 2, ifelse(dead, 1, 0)))
  cov <- cbind(`graft_source[PB]` = as.numeric(d$graft_source == "PB"),
               `graft_source[BM]` = as.numeric(d$graft_source == "BM"),
               `status_at_hct[PR]` = as.numeric(d$status_at_hct == "PR"),
               `status_at_hct[NR]` = as.numeric(d$status_at_hct == "NR"),
               age = as.numeric(d$age))
  for (ep in names(endpoints)) {
    status <- endpoints[[ep]]
    ok <- !is.na(time) & !is.na(status)
    cases[[paste0("ankl_", ep)]] <- list(data = synthetic_cohort_csv, endpoint = ep,
                                         covariates = I(colnames(cov)),
                                         fit = crr_block(time[ok], status[ok], cov[ok, , drop = FALSE], 1))
  }
} else {
  message("finegray_reference.R: ", synthetic_cohort_csv, " not found; synthetic-cohort cases skipped")
}

ref <- c(cmprsk_header("tests/reference/finegray_reference.R"),
         list(survival_version = as.character(packageVersion("survival")), z_975 = qnorm(0.975),
              cases = cases))
writeLines(to_json(ref, pretty = TRUE), output)
