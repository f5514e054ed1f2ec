# Reference values for `python -m analysis model ... --json` on the synthetic cohort, computed
# independently in R: survival::coxph (with tmerge counting-process data for time-dependent states,
# and a landmark subset), cmprsk::crr for Fine-Gray.
# Usage (from the project root): Rscript tests/reference/models_reference.R [OUTPUT.json]
suppressPackageStartupMessages({ library(survival); library(cmprsk) })

source("tests/reference/common.R")

output <- script_arg(1, "tests/reference/models_reference.json")

cohort_file <- read_synthetic_cohort()
d <- cohort_file$data
day <- cohort_file$day
last <- day("last_contact_date")
dead <- as.numeric(d$vital_status == "dead")
relapsed <- d$relapse == "1"
cohort <- data.frame(
  id = seq_len(nrow(d)),
  os_time = last / month, os_event = dead,
  cr_time = ifelse(relapsed, day("relapse_date"), last) / month,
  cr_status = ifelse(relapsed, 1, ifelse(dead == 1, 2, 0)),
  status_at_hct = factor(d$status_at_hct, levels = c("CR", "PR", "NR")),
  graft_source = factor(d$graft_source, levels = c("CB", "PB", "BM")),
  graft_other = factor(ifelse(d$graft_source == "CB", "CB", "PB/BM"), levels = c("PB/BM", "CB")),
  age = as.numeric(d$age),
  agvhd_onset = ifelse(as.numeric(d$agvhd_grade) >= 2, day("agvhd_date"), NA) / month,
  cgvhd_onset = ifelse(d$cgvhd != "none", day("cgvhd_date"), NA) / month,
  cr_after_onset = day("cr_after_hct_date") / month
)

term_rows <- function(coef, se, lower, upper, p, names) {
  lapply(seq_along(coef), function(i) list(term = names[i], coef = coef[[i]], se = se[[i]], hr = exp(coef[[i]]),
                                             lower = lower[[i]], upper = upper[[i]], p = p[[i]]))
}

cox_block <- function(fit, names, n) {
  s <- summary(fit)
  # summary.coxph rounds its test statistics for printing; take them unrounded from the fit.
  df <- length(coef(fit))
  wald <- as.numeric(fit$wald.test); lr <- 2 * diff(fit$loglik); score <- as.numeric(fit$score)
  test <- function(x) list(statistic = x, df = df, p = pchisq(x, df, lower.tail = FALSE))
  list(n = n, events = fit$nevent,
       terms = term_rows(coef(fit), sqrt(diag(fit$var)), s$conf.int[, "lower .95"], s$conf.int[, "upper .95"],
                         s$coefficients[, "Pr(>|z|)"], names),
       tests = list(wald = test(wald), lr = test(lr), score = test(score)))
}

crr_block <- function(time, status, x, names) {
  fit <- crr(time, status, x, failcode = 1, cencode = 0)
  s <- summary(fit)
  se <- sqrt(diag(fit$var))
  wald <- as.numeric(t(fit$coef) %*% solve(fit$var) %*% fit$coef)
  lr <- 2 * (fit$loglik - fit$loglik.null)
  list(n = length(time), events = sum(status == 1),
       terms = term_rows(fit$coef, se, s$conf.int[, "2.5%"], s$conf.int[, "97.5%"],
                         2 * pnorm(-abs(fit$coef / se)), names),  # summary.crr's p-values are rounded
       tests = list(wald = list(statistic = wald, df = length(fit$coef), p = pchisq(wald, length(fit$coef), lower.tail = FALSE)),
                    lr = list(statistic = lr, df = length(fit$coef), p = pchisq(lr, length(fit$coef), lower.tail = FALSE)),
                    score = NULL))
}

td_data <- function(onset_column) {
  base <- cohort[, c("id", "os_time", "os_event", "graft_source")]
  td <- tmerge(base, base, id = id, death = event(os_time, os_event))
  onsets <- cohort[!is.na(cohort[[onset_column]]), c("id", onset_column)]
  names(onsets)[2] <- "onset"
  tmerge(td, onsets, id = id, state = tdc(onset))
}

full_names <- c("status_at_hct[PR]", "status_at_hct[NR]", "graft_source[PB]", "graft_source[BM]", "age")
cases <- list()

cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "os", "--method", "cox", "--covariates", "status_at_hct,graft_source,age"),
  expected = cox_block(coxph(Surv(os_time, os_event) ~ status_at_hct + graft_source + age, data = cohort),
                       full_names, nrow(cohort)))

cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "os", "--method", "cox", "--covariates", "status_at_hct,graft_source,age", "--ties", "breslow"),
  expected = cox_block(coxph(Surv(os_time, os_event) ~ status_at_hct + graft_source + age, data = cohort,
                             ties = "breslow"), full_names, nrow(cohort)))

cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "relapse", "--method", "cox", "--covariates", "graft_cb_vs_other", "--reference",
           "graft_cb_vs_other=PB/BM"),
  expected = cox_block(coxph(Surv(cr_time, cr_status == 1) ~ graft_other, data = cohort),
                       "graft_cb_vs_other[CB]", nrow(cohort)))

x_full <- model.matrix(~ status_at_hct + graft_source + age, data = cohort)[, -1]
cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "relapse", "--method", "finegray", "--covariates", "status_at_hct,graft_source,age"),
  expected = crr_block(cohort$cr_time, cohort$cr_status, x_full, full_names))

nrm_status <- ifelse(cohort$cr_status == 1, 2, ifelse(cohort$cr_status == 2, 1, 0))
x_graft <- model.matrix(~ graft_source, data = cohort)[, -1]
cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "nrm", "--method", "finegray", "--covariates", "graft_source"),
  expected = crr_block(cohort$cr_time, nrm_status, x_graft, c("graft_source[PB]", "graft_source[BM]")))

for (state in list(c("agvhd", "agvhd_onset"), c("cr_after_hct", "cr_after_onset"))) {
  td <- td_data(state[2])
  cases[[length(cases) + 1]] <- list(
    args = c("--endpoint", "os", "--method", "cox", "--covariates", "graft_source", "--time-dependent", state[1]),
    expected = cox_block(coxph(Surv(tstart, tstop, death) ~ state + graft_source, data = td),
                         c(state[1], "graft_source[PB]", "graft_source[BM]"), nrow(cohort)))
}

landmark <- 12
after <- cohort[cohort$os_time > landmark, ]
after$time <- after$os_time - landmark
after$cgvhd <- as.numeric(!is.na(after$cgvhd_onset) & after$cgvhd_onset <= landmark)
cases[[length(cases) + 1]] <- list(
  args = c("--endpoint", "os", "--method", "cox", "--covariates", "age", "--time-dependent", "cgvhd",
           "--landmark", "12"),
  expected = cox_block(coxph(Surv(time, os_event) ~ cgvhd + age, data = after), c("cgvhd", "age"), nrow(after)))

writeLines(to_json(list(cases = cases)), output)
cat("wrote", output, "\n")
