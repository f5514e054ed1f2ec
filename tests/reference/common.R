# Shared by the reference scripts in this folder. The tests run them from the project root,
# which is why they find this file as source("tests/reference/common.R").
#
# The JSON is written by hand because jsonlite is not in Debian's r-base-core. Numbers are
# written with sprintf("%.17g") so that they round-trip exactly.

# The i-th command-line argument, or `default` when the caller gave fewer.
script_arg <- function(i, default) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) >= i) args[i] else default
}

# NA and NaN become null. Infinities become null as well unless keep_infinity, which writes the
# literals Infinity and -Infinity (not standard JSON, but Python's json module reads them): the
# survival and Cox references check infinite standard errors and confidence limits.
json_number <- function(x, keep_infinity = FALSE) {
  x <- as.double(x)
  out <- sprintf("%.17g", x)
  out[is.na(x)] <- "null"
  out[is.infinite(x) & x > 0] <- if (keep_infinity) "Infinity" else "null"
  out[is.infinite(x) & x < 0] <- if (keep_infinity) "-Infinity" else "null"
  out
}

json_string <- function(x) {
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  ifelse(is.na(x), "null", paste0("\"", x, "\""))
}

# Named lists become objects, unnamed lists arrays. An atomic vector of length 1 becomes a
# scalar unless wrapped in I(); readers that want arrays either way use np.atleast_1d.
# The default writes one line; pretty = TRUE puts every element of a list on a line of its own,
# indented by two spaces a level, which keeps the larger committed files readable in a diff.
to_json <- function(x, pretty = FALSE, keep_infinity = FALSE, indent = "") {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    inner <- paste0(indent, "  ")
    items <- vapply(x, to_json, "", pretty = pretty, keep_infinity = keep_infinity, indent = inner)
    if (!is.null(names(x))) items <- paste0(json_string(names(x)), ": ", items)
    brackets <- if (is.null(names(x))) c("[", "]") else c("{", "}")
    if (!pretty) return(paste0(brackets[1], paste(items, collapse = ", "), brackets[2]))
    return(paste0(brackets[1], "\n", inner, paste(items, collapse = paste0(",\n", inner)),
                  "\n", indent, brackets[2]))
  }
  scalar <- length(x) == 1 && !inherits(x, "AsIs")
  if (is.factor(x)) x <- as.character(x)
  vals <- if (is.character(x)) {
    json_string(x)
  } else if (is.logical(x)) {
    ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    json_number(x, keep_infinity)
  }
  if (scalar) vals else paste0("[", paste(vals, collapse = ", "), "]")
}

# <dirname(output)>/<name>, created if missing: the folder of a script's CSV inputs, beside its
# JSON so that a rerun into a temporary folder leaves the committed CSVs alone.
case_data_dir <- function(output, name) {
  dir <- file.path(dirname(output), name)
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  dir
}

# Input data handed to Python as <dir>/<name>.csv, numbers with full precision so that Python
# reads exactly the numbers R used.
write_case_csv <- function(d, dir, name) {
  cols <- lapply(d, function(v) if (is.numeric(v)) sprintf("%.17g", v) else as.character(v))
  lines <- c(paste(names(d), collapse = ","), do.call(paste, c(cols, sep = ",")))
  writeLines(lines, file.path(dir, paste0(name, ".csv")))
}

month <- 30.4375
synthetic_cohort_csv <- "data/synthetic/ankl_cohort.csv"

# The heads of the references, saying what made them. The survival/Cox and the cmprsk files grew
# apart in their key names and in how they give R's version; each keeps its own so that the
# committed files stay as they are.
survival_header <- function(script) {
  list(generator = script, r_version = R.version.string,
       survival_version = as.character(packageVersion("survival")), qnorm_975 = qnorm(0.975))
}
cmprsk_header <- function(script) {
  list(generated_by = script, r_version = paste(R.version$major, R.version$minor, sep = "."),
       cmprsk_version = as.character(packageVersion("cmprsk")))
}

# The synthetic cohort as text (each script converts the columns it uses), and a function giving
# a date column as days after HCT.
read_synthetic_cohort <- function(path = synthetic_cohort_csv) {
  d <- read.csv(path, stringsAsFactors = FALSE, na.strings = "", colClasses = "character")
  hct <- as.Date(d$hct_date)
  list(data = d, day = function(column) as.numeric(as.Date(d[[column]]) - hct))
}

# Kaplan-Meier (log-log CI) and cumulative incidence (cuminc, with SPEC's log(-log) CI) at `times`,
# keyed by the time as the command line keys it; NA beyond the last observation.  The endpoint
# references of the CLI's `estimates` document share them.
km_at <- function(time, status, times) {
  fit <- survfit(Surv(time, status) ~ 1, conf.type = "log-log")
  out <- list()
  for (t in times) {
    key <- sprintf("%g", t)
    if (t > max(time)) { out[[key]] <- list(estimate = NA, lower = NA, upper = NA); next }
    s <- summary(fit, times = t)
    out[[key]] <- list(estimate = s$surv, lower = s$lower, upper = s$upper)
  }
  out
}

cif_at <- function(time, status, times) {
  fit <- cuminc(time, status, cencode = 0)
  tp <- timepoints(fit, times)
  out <- list()
  for (i in seq_along(times)) {
    key <- sprintf("%g", times[i])
    # cuminc has no "1 1" row when a group has no event of interest: F is then 0 throughout.
    has_events <- "1 1" %in% rownames(tp$est)
    f <- if (has_events) tp$est["1 1", i] else 0
    v <- if (has_events) tp$var["1 1", i] else 0
    if (times[i] > max(time)) f <- NA
    if (is.na(f)) { out[[key]] <- list(estimate = NA, lower = NA, upper = NA); next }
    if (f <= 0 || f >= 1) { out[[key]] <- list(estimate = f, lower = NA, upper = NA); next }
    z <- 1.96 * sqrt(v) / abs(f * log(f))
    out[[key]] <- list(estimate = f, lower = f^exp(z), upper = f^exp(-z))
  }
  out
}
