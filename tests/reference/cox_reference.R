# Reference values for tests/test_cox.py and tests/test_timedep.py, computed with
# R's survival package: coxph (Efron and Breslow ties, strata, counting-process
# data), cox.zph, tmerge, the Mantel-Byar test (score test of coxph with
# ties = "exact" on tmerge data) and Simon-Makuch curves (survfit on tmerge data).
#
# Usage (from the project root):
#   Rscript tests/reference/cox_reference.R [OUT.json] [COHORT.csv]
# OUT defaults to tests/reference/cox_reference.json (the committed file);
# COHORT defaults to data/synthetic/ankl_cohort.csv and is skipped when absent.
#
# Needs base R, survival and KMsurv only (the JSON writer is in common.R). NA is
# written as null, infinite values as Infinity.

suppressPackageStartupMessages(library(survival))

source("tests/reference/common.R")

out_path <- script_arg(1, "tests/reference/cox_reference.json")
cohort_path <- script_arg(2, synthetic_cohort_csv)

rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))

# ------------------------------------------------------------- reference blocks

test_block <- function(statistic, df) {
  list(statistic = unname(statistic), df = unname(df),
       p = pchisq(unname(statistic), unname(df), lower.tail = FALSE))
}

# One coxph fit: the numbers of summary(fit) plus loglik, var and iterations.
# summary() rounds the Wald statistic to 2 decimals (its p uses the unrounded
# value): the statistic is taken unrounded from fit$wald.test.
fit_block <- function(fit) {
  s <- summary(fit)
  cf <- s$coefficients
  ci <- s$conf.int
  list(
    names = names(coef(fit)),
    coef = unname(cf[, "coef"]),
    se = unname(cf[, "se(coef)"]),
    hr = unname(cf[, "exp(coef)"]),
    lower = unname(ci[, "lower .95"]),
    upper = unname(ci[, "upper .95"]),
    z = unname(cf[, "z"]),
    p = unname(cf[, "Pr(>|z|)"]),
    var = rows_of(fit$var),
    loglik = unname(fit$loglik),
    iter = fit$iter,
    n = fit$n,
    nevent = fit$nevent,
    wald = test_block(fit$wald.test, s$waldtest["df"]),
    wald_summary = unname(s$waldtest["test"]),
    lr = test_block(s$logtest["test"], s$logtest["df"]),
    score = test_block(s$sctest["test"], s$sctest["df"])
  )
}

zph_block <- function(fit, transform = "km") {
  z <- cox.zph(fit, transform = transform)
  list(
    terms = rownames(z$table),
    chisq = unname(z$table[, "chisq"]),
    df = unname(z$table[, "df"]),
    p = unname(z$table[, "p"]),
    time = unname(z$time),
    x = unname(z$x),
    y = rows_of(unname(z$y)),
    var = rows_of(unname(z$var))
  )
}

# Both tie methods, with cox.zph for each.
# (do.call puts the data frame itself into the call, for cox.zph's model.frame)
cox_pair <- function(formula, frame) {
  efron <- do.call(coxph, list(formula, data = frame, ties = "efron"))
  breslow <- do.call(coxph, list(formula, data = frame, ties = "breslow"))
  list(efron = fit_block(efron), efron_zph = zph_block(efron),
       breslow = fit_block(breslow), breslow_zph = zph_block(breslow))
}

km_block <- function(fit) {
  q <- quantile(fit, probs = 0.5)
  list(
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
    surv = fit$surv, std_err_log = fit$std.err, variance = (fit$surv * fit$std.err)^2,
    lower = fit$lower, upper = fit$upper, n = sum(fit$n),
    median = list(estimate = unname(q$quantile), lower = unname(q$lower),
                  upper = unname(q$upper))
  )
}

# tmerge of one row per patient (columns id, time, status) with tdc()s.
split_data <- function(d, tdcs) {
  base <- tmerge(d[, c("id", "time", "status")], d, id = id, event = event(time, status))
  out <- base
  for (nm in names(tdcs)) {
    d$.ct <- tdcs[[nm]]
    out <- tmerge(out, d, id = id, .x = tdc(.ct))
    names(out)[names(out) == ".x"] <- nm
  }
  out
}

split_block <- function(td, tdc_names) {
  out <- list(id = td$id, tstart = td$tstart, tstop = td$tstop, event = td$event)
  for (nm in tdc_names) out[[nm]] <- td[[nm]]
  out
}

# Mantel-Byar = score test of the time-dependent Cox model with exact ties;
# the Breslow and Efron score tests for comparison; Simon-Makuch = survfit.
timedep_block <- function(time, status, change) {
  d <- data.frame(id = seq_along(time), time = time, status = status)
  td <- split_data(d, list(state = change))
  exact <- coxph(Surv(tstart, tstop, event) ~ state, data = td, ties = "exact")
  breslow <- coxph(Surv(tstart, tstop, event) ~ state, data = td, ties = "breslow")
  efron <- coxph(Surv(tstart, tstop, event) ~ state, data = td, ties = "efron")
  sf <- survfit(Surv(tstart, tstop, event) ~ state, data = td, conf.type = "log-log")
  levs <- sub("^state=", "", names(sf$strata))
  curves <- list()
  for (i in seq_along(levs)) curves[[levs[i]]] <- km_block(sf[i])
  list(
    change = change,
    split = split_block(td, "state"),
    mantel_byar = test_block(exact$score, 1),
    score_breslow = test_block(breslow$score, 1),
    score_efron = test_block(efron$score, 1),
    simon_makuch = curves
  )
}

# ------------------------------------------------------------------------ cases

ref <- survival_header("tests/reference/cox_reference.R")

# (a) the hand-made example of the tests: tied deaths at 2 and 4, a censoring at 2
hand <- data.frame(
  time  = c(1, 2, 2, 2, 3, 4, 4, 5),
  event = c(1, 1, 1, 0, 0, 1, 1, 0),
  x     = c(1, 0, 1, 0, 1, 0, 1, 0)
)
at_zero <- function(ties) {
  f0 <- coxph(Surv(time, event) ~ x, data = hand, ties = ties, iter.max = 0)
  list(loglik = f0$loglik[1], score = sum(residuals(f0, type = "score")),
       information = 1 / f0$var[1, 1], sctest = f0$score)
}
ref$hand <- list(
  data = as.list(hand),
  efron = fit_block(coxph(Surv(time, event) ~ x, data = hand, ties = "efron")),
  breslow = fit_block(coxph(Surv(time, event) ~ x, data = hand, ties = "breslow")),
  efron_at_zero = at_zero("efron"),
  breslow_at_zero = at_zero("breslow")
)

# (a2) monotone likelihood: x = 1 dies first, the coefficient runs off to
# infinity; coxph stops by its loglik rule and warns
mono <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7), event = c(1, 1, 0, 1, 1, 0, 1),
                   x = c(1, 1, 1, 0, 0, 0, 0))
mono_warning <- character(0)
mono_fit <- withCallingHandlers(
  coxph(Surv(time, event) ~ x, data = mono),
  warning = function(w) {
    mono_warning <<- c(mono_warning, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
ref$monotone <- list(data = as.list(mono), fit = fit_block(mono_fit), warning = mono_warning)

# (b) tmerge conventions: change before/at time 0, missing, at or after the end,
# simultaneous changes of two covariates
edge <- data.frame(id = 1:7, time = c(5, 4, 6, 3, 5, 8, 2), status = c(1, 1, 0, 1, 1, 0, 1),
                   a = c(2, -1, 6, NA, 7, 1, 0), b = c(2, 3, 1, 2, NA, 5, 1))
edge_td <- split_data(edge, list(a = edge$a, b = edge$b))
ref$tmerge_edge <- list(data = as.list(edge), split = split_block(edge_td, c("a", "b")))

# (c) a small time-dependent example with tied event times (hand Mantel-Byar)
mb <- data.frame(time = c(2, 3, 3, 4, 5, 5, 6, 7, 8, 8),
                 status = c(1, 1, 1, 0, 1, 1, 0, 1, 1, 0),
                 change = c(NA, 1, 2, 1, 3, NA, 2, NA, 4, 0))
ref$mb_hand <- c(list(time = mb$time, status = mb$status),
                 timedep_block(mb$time, mb$status, mb$change))

# (d) KMsurv::bmt (Klein & Moeschberger): disease-free survival t2/d3 by group
# (1 ALL, 2 AML low risk, 3 AML high risk), z1 patient age, z10 MTX; time-
# dependent acute GVHD (ta/da), chronic GVHD (tc/dc), platelet recovery (tp/dp)
bmt_env <- new.env()
data(bmt, package = "KMsurv", envir = bmt_env)
bmt <- bmt_env$bmt
bmt$id <- seq_len(nrow(bmt))
bmt$grp <- factor(bmt$group)  # a factor: one cox.zph term with 2 df
agvhd <- ifelse(bmt$da == 1, bmt$ta, NA)
cgvhd <- ifelse(bmt$dc == 1, bmt$tc, NA)
platelet <- ifelse(bmt$dp == 1, bmt$tp, NA)
bmt_d <- data.frame(id = bmt$id, time = bmt$t2, status = bmt$d3, grp = bmt$grp,
                    z1 = bmt$z1, z10 = bmt$z10)
bmt_td <- split_data(bmt_d, list(agvhd = agvhd, cgvhd = cgvhd, platelet = platelet))
bmt_td <- merge(bmt_td, bmt_d[, c("id", "grp", "z1", "z10")], by = "id", sort = FALSE)
bmt_td <- bmt_td[order(bmt_td$id, bmt_td$tstart), ]
zph_transforms <- function(fit) {
  list(rank = zph_block(fit, "rank"), identity = zph_block(fit, "identity"),
       log = zph_block(fit, "log"))
}
dfs_fit <- coxph(Surv(t2, d3) ~ grp + z1 + z10, data = bmt)
quiet <- function(expr) withCallingHandlers(expr, warning = function(w) invokeRestart("muffleWarning"))
not_converged <- list(
  right_censored = fit_block(quiet(coxph(Surv(t2, d3) ~ grp + z1 + z10, data = bmt, iter.max = 2))),
  counting = fit_block(quiet(coxph(Surv(rep(0, nrow(bmt)), t2, d3) ~ grp + z1 + z10, data = bmt,
                                   iter.max = 2)))
)
ref$bmt <- list(
  data = list(t2 = bmt$t2, d3 = bmt$d3, group = bmt$group, z1 = bmt$z1, z10 = bmt$z10,
              ta = bmt$ta, da = bmt$da, tc = bmt$tc, dc = bmt$dc, tp = bmt$tp, dp = bmt$dp),
  dfs = cox_pair(Surv(t2, d3) ~ grp + z1 + z10, bmt),
  dfs_zph_transforms = zph_transforms(dfs_fit),
  dfs_not_converged = not_converged,
  dfs_zph_columns = {
    z <- cox.zph(dfs_fit, terms = FALSE)
    list(terms = rownames(z$table), chisq = unname(z$table[, "chisq"]))
  },
  dfs_strata_z10 = cox_pair(Surv(t2, d3) ~ grp + z1 + strata(z10), bmt),
  split = split_block(bmt_td, c("agvhd", "cgvhd", "platelet")),
  timedep = cox_pair(Surv(tstart, tstop, event) ~ grp + z1 + z10 + agvhd + cgvhd + platelet,
                     bmt_td),
  timedep_strata_z10 = cox_pair(Surv(tstart, tstop, event) ~ grp + agvhd + platelet + strata(z10),
                                bmt_td),
  timedep_zph_transforms = zph_transforms(
    coxph(Surv(tstart, tstop, event) ~ grp + z1 + z10 + agvhd + cgvhd + platelet, data = bmt_td)),
  agvhd = timedep_block(bmt$t2, bmt$d3, agvhd),
  cgvhd = timedep_block(bmt$t2, bmt$d3, cgvhd),
  platelet = timedep_block(bmt$t2, bmt$d3, platelet)
)

# (e) survival::lung with a strata term (the row with missing ph.ecog left out)
lung_d <- survival::lung[!is.na(survival::lung$ph.ecog), ]
lung_d$event <- as.integer(lung_d$status == 2)
ref$lung <- list(
  data = list(time = lung_d$time, event = lung_d$event, age = lung_d$age, sex = lung_d$sex,
              ph_ecog = lung_d$ph.ecog),
  strata_ecog = cox_pair(Surv(time, event) ~ age + sex + strata(ph.ecog), lung_d),
  unstratified = cox_pair(Surv(time, event) ~ age + sex + ph.ecog, lung_d)
)

# (f) the synthetic cohort (SPEC: OS months = days / 30.4375, event = dead)
if (file.exists(cohort_path)) {
  co <- read.csv(cohort_path, fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE,
                 na.strings = "")
  day <- function(col) as.numeric(as.Date(co[[col]]) - as.Date(co$hct_date))
  time <- day("last_contact_date") / month
  event <- as.integer(co$vital_status == "dead")
  cr_after <- day("cr_after_hct_date") / month
  agvhd2 <- ifelse(co$agvhd_grade >= 2, day("agvhd_date") / month, NA)
  cgvhd_any <- ifelse(co$cgvhd != "none", day("cgvhd_date") / month, NA)
  d <- data.frame(id = seq_len(nrow(co)), time = time, status = event,
                  status_nr = as.integer(co$status_at_hct == "NR"),
                  graft_source = factor(co$graft_source, levels = c("CB", "PB", "BM")),
                  age = co$age)
  td <- split_data(d, list(cr_after = cr_after, agvhd2 = agvhd2, cgvhd = cgvhd_any))
  td <- merge(td, d[, c("id", "status_nr", "graft_source", "age")], by = "id", sort = FALSE)
  td <- td[order(td$id, td$tstart), ]
  ref$cohort <- list(
    source = cohort_path,
    source_md5 = unname(tools::md5sum(cohort_path)),
    data = list(time = time, event = event, status_at_hct = co$status_at_hct,
                graft_source = co$graft_source, age = d$age, cr_after = cr_after,
                agvhd2 = agvhd2, cgvhd = cgvhd_any),
    os = cox_pair(Surv(time, status) ~ status_nr + graft_source + age, d),
    split = split_block(td, c("cr_after", "agvhd2", "cgvhd")),
    os_timedep = cox_pair(Surv(tstart, tstop, event) ~ status_nr + graft_source + age +
                            cr_after + agvhd2 + cgvhd, td),
    cr_after = timedep_block(time, event, cr_after),
    agvhd2 = timedep_block(time, event, agvhd2),
    cgvhd = timedep_block(time, event, cgvhd_any)
  )
} else {
  message("cohort file ", cohort_path, " not found: cohort reference values skipped")
}

writeLines(to_json(ref, pretty = TRUE, keep_infinity = TRUE), out_path, useBytes = TRUE)
message("wrote ", out_path)
