# Write R's public `bmt` data (KMsurv; Klein & Moeschberger, Survival Analysis, 2nd ed., section 1.3)
# to a CSV file exactly as the package delivers it: the same columns, codes and values, nothing
# converted, corrected or added.  studies/bmt.yml reads the file as a registry's own delivery.
#
#   Rscript data/export_bmt.R [OUTPUT]        (default: data/private/bmt/bmt.csv)
#
# Needs R with the KMsurv package (Debian: r-cran-kmsurv).  The output is git-ignored
# (data/private/): the data are public, but they are not this project's to redistribute, and
# the script writes them byte for byte on any machine.  It never modifies anything but OUTPUT.
#
# What bmt holds (?KMsurv::bmt): 137 patients with acute leukaemia given an allogeneic bone
# marrow transplant at four centres (1984-1989), one row each, no id column; times are days
# after transplant.  How the study file reads it (see studies/bmt.yml): ids are row numbers
# (`ids: row`); t1/d1 (death), t2/d2 (relapse), ta/da (acute GVHD), tc/dc (chronic GVHD) and
# tp/dp (platelet recovery) are (time, indicator) pairs; z1 is age, z3 sex (1 = male), group
# the disease (1 ALL, 2 AML low risk, 3 AML high risk).  Row 127 records chronic GVHD on day 200
# after death on day 168; the study excludes it with that reason instead of editing the file.

args <- commandArgs(trailingOnly = TRUE)
script <- sub("^--file=", "", grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE))
project <- if (length(script) == 1) dirname(dirname(normalizePath(script))) else getwd()
output <- if (length(args) >= 1) args[[1]] else file.path(project, "data", "private", "bmt", "bmt.csv")

if (!requireNamespace("KMsurv", quietly = TRUE)) {
  stop("the KMsurv package is needed (Debian: apt-get install r-cran-kmsurv; or install.packages('KMsurv'))")
}
data("bmt", package = "KMsurv", envir = environment())
stopifnot(nrow(bmt) == 137)

dir.create(dirname(output), recursive = TRUE, showWarnings = FALSE)
write.table(bmt, output, sep = ",", quote = FALSE, row.names = FALSE, na = "", eol = "\n", fileEncoding = "UTF-8")
message(sprintf("wrote %d records to %s", nrow(bmt), output))
