# Reference values for a registry delivery in fractional months with (time, indicator) pairs:
# `python -m analysis estimates --study studies/months_pairs.yml --by phase --json` and
# `python -m analysis model --study studies/months_pairs.yml ...`, computed in R on the same file
# (data/synthetic/deliveries/months_pairs.csv) with its months as R reads them: no day in between.
# Endpoints are derived here from the pairs as SPEC.md defines them; Kaplan-Meier by
# survival::survfit (log-log CI), log-rank by survdiff, cumulative incidence by cmprsk::cuminc with
# SPEC's log(-log) CI, Gray's test by cuminc, Cox by coxph (Efron), Fine-Gray by cmprsk::crr.
# Usage (from the project root): Rscript tests/reference/deliveries_reference.R [OUTPUT.json]
suppressPackageStartupMessages({ library(survival); library(cmprsk) })

source("tests/reference/common.R")
output <- script_arg(1, "tests/reference/deliveries_reference.json")
input <- "data/synthetic/deliveries/months_pairs.csv"
times <- c(12, 60)

d <- read.csv(input, stringsAsFactors = FALSE, na.strings = "")
phase <- factor(d$Phase, levels = c("CR1", "CR2", "CR3", "Relapse"))
death <- d$death == 1
relapsed <- d$rel == 1
relapse_time <- ifelse(relapsed, d$intxrel, Inf)
death_time <- ifelse(death, d$timedeath, Inf)
acute_onset <- ifelse(d$gvhd == 1, d$timegvhd, Inf)
chronic_onset <- ifelse(d$dc == 1, d$tc, Inf)
last <- d$timedeath

# An event that comes on or before its competing event counts; otherwise the competing event, if any.
competing <- function(onset, competing_time) {
  first <- is.finite(onset) & onset <= competing_time
  comp <- !first & is.finite(competing_time)
  list(time = ifelse(first, onset, ifelse(comp, competing_time, last)), status = ifelse(first, 1, ifelse(comp, 2, 0)))
}
relapse_or_death <- pmin(relapse_time, death_time)
endpoints <- list(
  os = list(kind = "survival", time = last, status = as.numeric(death)),
  efs = list(kind = "survival", time = ifelse(relapsed, d$intxrel, last), status = as.numeric(relapsed | death)),
  relapse = list(kind = "incidence", time = ifelse(relapsed, d$intxrel, last),
                 status = ifelse(relapsed, 1, ifelse(death, 2, 0))),
  nrm = list(kind = "incidence", time = ifelse(relapsed, d$intxrel, last),
             status = ifelse(relapsed, 2, ifelse(death, 1, 0))),
  agvhd_any = c(list(kind = "incidence"), competing(acute_onset, relapse_or_death)),
  cgvhd_any = c(list(kind = "incidence"), competing(chronic_onset, relapse_or_death))
)

group_block <- function(e, rows) {
  list(n = sum(rows), events = sum(e$status[rows] == 1),
       at = if (e$kind == "survival") km_at(e$time[rows], e$status[rows], times) else cif_at(e$time[rows], e$status[rows], times))
}

result <- list()
for (name in names(endpoints)) {
  e <- endpoints[[name]]
  groups <- list(all = group_block(e, rep(TRUE, nrow(d))))
  for (g in levels(phase)) groups[[g]] <- group_block(e, phase == g)
  if (e$kind == "survival") {
    test <- survdiff(Surv(e$time, e$status) ~ phase)
    df <- length(test$n) - 1
    test <- list(name = "log-rank", statistic = test$chisq, df = df, p = pchisq(test$chisq, df, lower.tail = FALSE))
  } else {
    tests <- cuminc(e$time, e$status, phase, cencode = 0)$Tests
    test <- list(name = "Gray", statistic = tests["1", "stat"], df = tests["1", "df"], p = tests["1", "pv"])
  }
  result[[name]] <- list(kind = e$kind, groups = groups, test = test)
}
estimates <- list(n = nrow(d), time_unit = "months", endpoints = result)

# Models: OS by Cox on the study's covariates (phase with CR1 as reference, age, donor age: the
# patients without a donor age left out), relapse by Fine-Gray on phase and age.
term_rows <- function(coef, se, lower, upper, p, names) {
  lapply(seq_along(coef), function(i) list(term = names[i], coef = coef[[i]], se = se[[i]], hr = exp(coef[[i]]),
                                             lower = lower[[i]], upper = upper[[i]], p = p[[i]]))
}
names_phase <- c("phase[CR2]", "phase[CR3]", "phase[Relapse]")
complete <- !is.na(d$donor_age)
cox <- coxph(Surv(last, as.numeric(death)) ~ phase + d$age + d$donor_age, subset = complete)
s <- summary(cox)
df <- length(coef(cox))
test <- function(x) list(statistic = x, df = df, p = pchisq(x, df, lower.tail = FALSE))
cox_block <- list(n = cox$n, events = cox$nevent,
                  terms = term_rows(coef(cox), sqrt(diag(cox$var)), s$conf.int[, "lower .95"],
                                    s$conf.int[, "upper .95"], s$coefficients[, "Pr(>|z|)"],
                                    c(names_phase, "age", "donor_age")),
                  tests = list(wald = test(as.numeric(cox$wald.test)), lr = test(2 * diff(cox$loglik)),
                               score = test(as.numeric(cox$score))))

x <- cbind(model.matrix(~ phase)[, -1], d$age)
status <- endpoints$relapse$status
fg <- crr(endpoints$relapse$time, status, x, failcode = 1, cencode = 0)
se <- sqrt(diag(fg$var))
sf <- summary(fg)
wald <- as.numeric(t(fg$coef) %*% solve(fg$var) %*% fg$coef)
lr <- 2 * (fg$loglik - fg$loglik.null)
k <- length(fg$coef)
fg_block <- list(n = nrow(d), events = sum(status == 1),
                 terms = term_rows(fg$coef, se, sf$conf.int[, "2.5%"], sf$conf.int[, "97.5%"],
                                   2 * pnorm(-abs(fg$coef / se)), c(names_phase, "age")),
                 tests = list(wald = list(statistic = wald, df = k, p = pchisq(wald, k, lower.tail = FALSE)),
                              lr = list(statistic = lr, df = k, p = pchisq(lr, k, lower.tail = FALSE)),
                              score = NULL))

models <- list(
  list(args = c("--endpoint", "os", "--method", "cox", "--covariates", "phase,age,donor_age"), expected = cox_block),
  list(args = c("--endpoint", "relapse", "--method", "finegray", "--covariates", "phase,age"), expected = fg_block)
)

writeLines(to_json(list(input = input, estimates = estimates, models = models), pretty = TRUE), output)
cat("wrote", output, "\n")
