# Shared by the reference scripts that read the synthetic cohort (endpoints, models, landmark):
# a JSON writer (jsonlite is not in Debian's r-base-core) and the cohort's days after HCT.
# Numbers are written with sprintf("%.17g") so that they round-trip exactly; NA and Inf as null.

to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      body <- mapply(function(k, v) sprintf("\"%s\": %s", k, to_json(v)), names(x), x)
      return(paste0("{", paste(body, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ", "), "]"))
  }
  if (length(x) > 1) return(to_json(as.list(x)))
  if (is.character(x)) return(sprintf("\"%s\"", x))
  if (is.logical(x) && is.na(x)) return("null")
  if (is.na(x) || !is.finite(x)) return("null")
  sprintf("%.17g", x)
}

month <- 30.4375

# The synthetic cohort as text, and a function giving a date column as days after HCT.
read_synthetic_cohort <- function(path = "data/synthetic/ankl_cohort.csv") {
  d <- read.csv(path, stringsAsFactors = FALSE, na.strings = "", colClasses = "character")
  hct <- as.Date(d$hct_date)
  list(data = d, day = function(column) as.numeric(as.Date(d[[column]]) - hct))
}
