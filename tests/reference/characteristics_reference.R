# Reference p-values for Table 1 (tests/test_characteristics.py).
#
# Run from the project root:
#   Rscript tests/reference/characteristics_reference.R [OUTPUT.json]
# (default output: tests/reference/characteristics_reference.json).
# Base R only (stats::fisher.test, stats::kruskal.test); the JSON is written by
# hand with sprintf("%.17g") because jsonlite is not a dependency.
#
# Every input is written out literally (no random numbers), so the file does
# not depend on R's RNG version.

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/reference/characteristics_reference.json"

num <- function(x) {
  if (length(x) == 1 && is.na(x)) return("null")
  sprintf("%.17g", x)
}
vec <- function(x) {
  items <- vapply(x, function(v) if (is.na(v)) "null" else sprintf("%.17g", v), "")
  paste0("[", paste(items, collapse = ", "), "]")
}
str_vec <- function(x) {
  items <- vapply(x, function(v) if (is.na(v)) "null" else paste0("\"", v, "\""), "")
  paste0("[", paste(items, collapse = ", "), "]")
}
mat <- function(m) {
  rows <- vapply(seq_len(nrow(m)), function(i) vec(m[i, ]), "")
  paste0("[", paste(rows, collapse = ", "), "]")
}
quote_str <- function(s) paste0("\"", s, "\"")

# ---------------------------------------------------------------- Fisher r x c
# workspace = 2e6 (default 2e5) only lets FEXACT finish "5x3_n150_workspace"
# (FEXACT error 7 otherwise); it does not change any p-value the default
# workspace can compute.
fisher_tables <- list(
  "2x2_hand"            = rbind(c(3, 1), c(1, 3)),
  "2x2_scipy_doc"       = rbind(c(8, 2), c(1, 5)),
  "2x3_hand_symmetric"  = rbind(c(2, 0, 1), c(0, 2, 1)),
  "2x3_hand_ties"       = rbind(c(2, 1, 0), c(1, 0, 1)),
  "2x3_hand_extreme"    = rbind(c(3, 0, 0), c(0, 1, 1)),
  "2x3"                 = rbind(c(10, 5, 3), c(4, 8, 9)),
  "3x3"                 = rbind(c(10, 5, 6), c(3, 2, 2), c(16, 11, 4)),
  "3x3_sparse"          = rbind(c(4, 0, 2), c(1, 5, 0), c(0, 1, 6)),
  "3x5_zeros"           = rbind(c(0, 3, 1, 0, 2), c(2, 0, 0, 4, 1), c(1, 1, 5, 0, 0)),
  "5x3_ps_n59"          = rbind(c(5, 4, 2), c(10, 6, 4), c(8, 4, 3), c(4, 3, 2), c(2, 1, 1)),
  "5x3_zero_row"        = rbind(c(6, 3, 2), c(8, 5, 3), c(0, 0, 0), c(7, 6, 4), c(5, 4, 3)),
  "4x3_n100"            = rbind(c(10, 8, 7), c(9, 8, 8), c(6, 9, 10), c(5, 10, 10)),
  "3x3_n200"            = rbind(c(30, 20, 25), c(20, 30, 15), c(25, 15, 20)),
  "2x3_n300"            = rbind(c(60, 50, 40), c(40, 60, 50)),
  "2x2_n400"            = rbind(c(120, 80), c(90, 110)),
  "5x3_n150_workspace"  = rbind(c(12, 10, 8), c(10, 12, 8), c(8, 10, 12), c(15, 10, 5), c(5, 10, 15))
)
fisher_json <- vapply(names(fisher_tables), function(name) {
  x <- fisher_tables[[name]]
  storage.mode(x) <- "integer"
  p <- fisher.test(x, workspace = 2e6)$p.value
  sprintf("{\"name\": %s, \"table\": %s, \"p\": %s}", quote_str(name), mat(x), num(p))
}, "")

# ---------------------------------------------------------------- Kruskal-Wallis
kw_cases <- list(
  "ties" = list(
    x = c(1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 2, 3, 4, 4, 1),
    g = c("CB", "CB", "PB", "BM", "CB", "PB", "BM", "CB", "PB", "BM", "BM", "CB", "PB", "CB", "BM")),
  "ages_no_ties" = list(
    x = c(34.2, 51.7, 45.1, 62.3, 28.9, 57.4, 40.0, 48.8, 66.1, 19.5, 53.3, 38.7),
    g = c("CB", "PB", "BM", "CB", "PB", "BM", "CB", "PB", "BM", "CB", "PB", "BM")),
  "years_many_ties" = list(
    x = c(2005, 2007, 2007, 2010, 2010, 2010, 2012, 2012, 2015, 2005, 2007, 2010, 2012, 2015, 2015, 2018),
    g = c("CB", "CB", "PB", "PB", "BM", "CB", "BM", "PB", "CB", "BM", "BM", "PB", "CB", "PB", "BM", "CB")),
  "two_groups" = list(
    x = c(3, 5, 5, 7, 9, 2, 4, 4, 8),
    g = c("a", "a", "a", "a", "a", "b", "b", "b", "b"))
)
kw_json <- vapply(names(kw_cases), function(name) {
  d <- kw_cases[[name]]
  r <- kruskal.test(d$x, factor(d$g))
  sprintf("{\"name\": %s, \"x\": %s, \"g\": %s, \"statistic\": %s, \"df\": %s, \"p\": %s}",
          quote_str(name), vec(d$x), str_vec(d$g), num(unname(r$statistic)),
          num(unname(r$parameter)), num(r$p.value))
}, "")

# ---------------------------------------------------------------- a small cohort
# What gtsummary::tbl_summary(by = graft_source) %>% add_p() calls:
# fisher.test(variable, graft_source) and kruskal.test(variable, graft_source),
# pairs with a missing value dropped.
cohort <- data.frame(
  graft_source  = c("CB", "CB", "CB", "CB", "CB", "CB", "CB", "CB", "CB", "CB",
                    "PB", "PB", "PB", "PB", "PB", "PB", "PB",
                    "BM", "BM", "BM", "BM", "BM"),
  age           = c(45, 52.5, 61, 38, NA, 70, 66, 49, 55, 58,
                    30, 41, 35, 27, 44, 50, 33,
                    25, 39, 47, NA, 36),
  sex           = c("M", "F", "M", "M", "F", "M", NA, "F", "M", "M",
                    "F", "F", "M", "F", "M", "M", "F",
                    "M", "M", "F", "M", "F"),
  status_at_hct = c("NR", "NR", "CR", "PR", "NR", "NR", "CR", "NR", "NR", "CR",
                    "CR", "CR", "NR", "CR", "PR", "CR", "NR",
                    "CR", "NR", "CR", "PR", "CR"),
  ps            = c(0, 1, 2, 1, 3, NA, 1, 0, 2, 4,
                    0, 0, 1, 0, 1, NA, 0,
                    1, 0, 0, 2, 1),
  hct_year      = c(2008, 2010, 2010, 2012, 2013, 2015, 2015, 2016, 2018, 2019,
                    2005, 2006, 2008, 2010, 2010, 2011, 2014,
                    2004, 2006, 2007, 2010, 2012),
  stringsAsFactors = FALSE
)
g <- factor(cohort$graft_source, levels = c("CB", "PB", "BM"))
cohort_p <- c(
  age           = kruskal.test(cohort$age, g)$p.value,
  sex           = fisher.test(cohort$sex, g)$p.value,
  status_at_hct = fisher.test(cohort$status_at_hct, g)$p.value,
  ps            = fisher.test(cohort$ps, g)$p.value,
  hct_year      = kruskal.test(cohort$hct_year, g)$p.value
)
cohort_json <- sprintf(
  paste0("{\"columns\": {\"graft_source\": %s, \"age\": %s, \"sex\": %s, \"status_at_hct\": %s, ",
         "\"ps\": %s, \"hct_year\": %s}, \"p\": {%s}}"),
  str_vec(cohort$graft_source), vec(cohort$age), str_vec(cohort$sex),
  str_vec(cohort$status_at_hct), vec(cohort$ps), vec(cohort$hct_year),
  paste(sprintf("\"%s\": %s", names(cohort_p), vapply(cohort_p, num, "")), collapse = ", "))

json <- paste0(
  "{\n",
  "  \"r_version\": ", quote_str(R.version.string), ",\n",
  "  \"fisher\": [\n    ", paste(fisher_json, collapse = ",\n    "), "\n  ],\n",
  "  \"kruskal\": [\n    ", paste(kw_json, collapse = ",\n    "), "\n  ],\n",
  "  \"cohort\": ", cohort_json, "\n",
  "}\n")
writeLines(json, out, sep = "")
