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
