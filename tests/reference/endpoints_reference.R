# Reference values for `python -m analysis estimates DATA --by graft_source --json` on the synthetic
# cohort, computed independently in R: endpoints derived from the CSV here, Kaplan-Meier by
# survival::survfit (log-log CI), log-rank by survival::survdiff, cumulative incidence by
# cmprsk::cuminc with the log(-log) CI of SPEC.md (z = 1.96 as written there), Gray's test from cuminc.
# Usage (from the project root): Rscript tests/reference/endpoints_reference.R [OUTPUT.json [INPUT.csv]]
# (another INPUT: the R side of benchmarks/reading_benchmark.py, on a registry-scale extract)
suppressPackageStartupMessages({ library(survival); library(cmprsk) })

args <- commandArgs(trailingOnly = TRUE)
output <- if (length(args) >= 1) args[1] else "tests/reference/endpoints_reference.json"
input <- if (length(args) >= 2) args[2] else "data/synthetic/ankl_cohort.csv"
times <- c(12, 60)
source("tests/reference/common.R")

cohort_file <- read_synthetic_cohort(input)
d <- cohort_file$data
day <- cohort_file$day
last <- day("last_contact_date")
dead <- d$vital_status == "dead"
relapsed <- d$relapse == "1"
relapse_day <- ifelse(relapsed, day("relapse_date"), Inf)
death_day <- ifelse(dead, last, Inf)
relapse_or_death <- pmin(relapse_day, death_day)

# An event that comes on or before its competing event counts; otherwise the competing event, if any.
competing <- function(event, onset, competing_day) {
  first <- event & onset <= competing_day
  comp <- !first & is.finite(competing_day)
  list(time = ifelse(first, onset, ifelse(comp, competing_day, last)),
       status = ifelse(first, 1, ifelse(comp, 2, 0)))
}

grade <- as.numeric(d$agvhd_grade)
acute_onset <- day("agvhd_date")
chronic_onset <- day("cgvhd_date")
engrafted <- d$neutrophil_engraftment == "1"
platelets <- d$platelet_engraftment == "1"
severe_acute <- ifelse(grade >= 3, acute_onset, Inf)
extensive <- ifelse(d$cgvhd == "extensive", chronic_onset, Inf)
grfs_first <- pmin(severe_acute, extensive, relapse_day, death_day)

endpoints <- list(
  os = list(kind = "survival", time = last, status = as.numeric(dead)),
  efs = list(kind = "survival", time = ifelse(relapsed, relapse_day, last), status = as.numeric(relapsed | dead)),
  relapse = list(kind = "incidence", time = ifelse(relapsed, relapse_day, last),
                 status = ifelse(relapsed, 1, ifelse(dead, 2, 0))),
  nrm = list(kind = "incidence", time = ifelse(relapsed, relapse_day, last),
             status = ifelse(relapsed, 2, ifelse(dead, 1, 0))),
  neutrophil = c(list(kind = "incidence"), competing(engrafted, ifelse(engrafted, day("neutrophil_engraftment_date"), Inf), death_day)),
  platelet = c(list(kind = "incidence"), competing(platelets, ifelse(platelets, day("platelet_engraftment_date"), Inf), death_day)),
  agvhd2 = c(list(kind = "incidence"), competing(grade >= 2, ifelse(grade >= 2, acute_onset, Inf), relapse_or_death)),
  agvhd3 = c(list(kind = "incidence"), competing(grade >= 3, ifelse(grade >= 3, acute_onset, Inf), relapse_or_death)),
  cgvhd = c(list(kind = "incidence"), competing(d$cgvhd != "none", ifelse(d$cgvhd != "none", chronic_onset, Inf), relapse_or_death)),
  cgvhd_extensive = c(list(kind = "incidence"), competing(d$cgvhd == "extensive", extensive, relapse_or_death)),
  grfs = list(kind = "survival", time = ifelse(is.finite(grfs_first), grfs_first, last),
              status = as.numeric(is.finite(grfs_first)))
)

group_block <- function(e, rows) {
  time <- e$time[rows] / month; status <- e$status[rows]
  list(n = length(time), events = sum(status == 1),
       at = if (e$kind == "survival") km_at(time, status, times) else cif_at(time, status, times))
}

by <- d$graft_source
levels_in_order <- c("CB", "PB", "BM")
result <- list()
for (name in names(endpoints)) {
  e <- endpoints[[name]]
  keep <- !is.na(e$status) & !is.na(e$time)
  groups <- list(all = group_block(e, keep))
  for (g in levels_in_order) groups[[g]] <- group_block(e, keep & by == g)
  time <- e$time[keep] / month; status <- e$status[keep]; group <- by[keep]
  if (e$kind == "survival") {
    test <- survdiff(Surv(time, status) ~ group)
    df <- length(test$n) - 1
    test <- list(name = "log-rank", statistic = test$chisq, df = df, p = pchisq(test$chisq, df, lower.tail = FALSE))
  } else {
    tests <- cuminc(time, status, group, cencode = 0)$Tests
    test <- list(name = "Gray", statistic = tests["1", "stat"], df = tests["1", "df"], p = tests["1", "pv"])
  }
  result[[name]] <- list(kind = e$kind, groups = groups, test = test)
}

document <- list(n = nrow(d), time_unit = "months", endpoints = result)
writeLines(to_json(document), output)
cat("wrote", output, "\n")
