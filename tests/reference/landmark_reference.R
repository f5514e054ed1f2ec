# Reference values for analysis/landmark_analyses.py on the synthetic cohort, computed in R:
# landmark Kaplan-Meier and log-rank (survfit, survdiff on the patients at risk at the landmark),
# delayed-entry curves (survfit on (start, stop] rows) and the Mantel-Byar test (score test of
# coxph(..., ties = "exact") on those rows), Cox on the delayed-entry rows (Efron).
# Usage (from the project root): Rscript tests/reference/landmark_reference.R [OUTPUT.json]
suppressPackageStartupMessages(library(survival))

source("tests/reference/common.R")

output <- script_arg(1, "tests/reference/landmark_reference.json")

cohort_file <- read_synthetic_cohort()
d <- cohort_file$data
day <- cohort_file$day
os_time <- day("last_contact_date") / month
os_event <- as.numeric(d$vital_status == "dead")
relapsed <- d$relapse == "1"
efs_time <- ifelse(relapsed, day("relapse_date") / month, os_time)
agvhd <- ifelse(as.numeric(d$agvhd_grade) >= 2, day("agvhd_date"), NA) / month
cr_after <- day("cr_after_hct_date") / month

curve_block <- function(fit, times) {
  s <- summary(fit, times = times, extend = TRUE)
  list(n = fit$n, events = sum(fit$n.event), time = times, estimate = s$surv, lower = s$lower, upper = s$upper)
}

landmark_block <- function(at, group) {
  keep <- os_time > at
  time <- os_time[keep] - at; event <- os_event[keep]; g <- group[keep]
  curves <- lapply(c(0, 1), function(k) {
    if (!any(g == k)) return(NULL)
    curve_block(survfit(Surv(time[g == k], event[g == k]) ~ 1, conf.type = "log-log"), c(12, 24, 48))
  })
  test <- if (length(unique(g)) == 2) survdiff(Surv(time, event) ~ g) else NULL
  list(curves = curves,
       test = if (is.null(test)) NULL else list(statistic = test$chisq, p = pchisq(test$chisq, 1, lower.tail = FALSE)))
}

efs12 <- landmark_block(12, as.numeric(!(efs_time > 12)))
day100 <- landmark_block(100 / month, as.numeric(!is.na(agvhd) & agvhd <= 100 / month))

crpr <- d$status_at_hct %in% c("CR", "PR")
pif <- d$status_at_hct == "NR" & d$pif == "1"
pif_cr <- pif & !is.na(cr_after) & cr_after < os_time
rows <- crpr | pif_cr
start <- ifelse(pif_cr, cr_after, 0)[rows]
stop <- os_time[rows]; event <- os_event[rows]; group <- as.numeric(pif_cr[rows])
sm <- lapply(c(0, 1), function(k) curve_block(survfit(Surv(start[group == k], stop[group == k], event[group == k]) ~ 1,
                                                      conf.type = "log-log"), c(12, 24, 60)))
exact <- coxph(Surv(start, stop, event) ~ group, ties = "exact")
efron <- coxph(Surv(start, stop, event) ~ group)
versus <- list(curves = sm, mantel_byar = list(statistic = as.numeric(exact$score),
                                               p = pchisq(as.numeric(exact$score), 1, lower.tail = FALSE)),
               cox = list(coef = unname(coef(efron)), se = sqrt(efron$var[1, 1])))

writeLines(to_json(list(efs12 = efs12, day100 = day100, versus_crpr = versus)), output)
cat("wrote", output, "\n")
