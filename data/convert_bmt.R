# Convert R's public `bmt` data (KMsurv; Klein & Moeschberger, Survival Analysis, 2nd ed.,
# section 1.3) into an extract in this project's SPEC format, for the second study
# configuration, studies/bmt.yml.
#
#   Rscript data/convert_bmt.R [OUTPUT]        (default: data/private/bmt/bmt.csv)
#
# Needs R with the KMsurv package (Debian: r-cran-kmsurv).  The output is git-ignored
# (data/private/): the data are public, but they are not this project's to redistribute, and
# the script makes them byte for byte on any machine.  It never modifies anything but OUTPUT.
#
# What bmt holds (?KMsurv::bmt): 137 patients with acute leukaemia given an allogeneic bone
# marrow transplant at four centres (1984-1989); times are days after transplant.
#
# Mapping, column by column (only what bmt records; nothing is invented):
#   patient_id        "bmt001".."bmt137", the row order of bmt (bmt has no ids)
#   age               z1, patient age in years
#   sex               z3: 1 -> M, 0 -> F
#   disease           group: 1 -> ALL, 2 -> AML low risk, 3 -> AML high risk
#   graft_source      BM for all (bmt is a bone marrow transplant study)
#   donor_type        related for all (HLA-identical or one-antigen-disparate siblings;
#                     Copelan et al., Blood 1991;78:838, the study behind the data)
#   vital_status      d1: 1 -> dead, 0 -> alive
#   last_contact_day  t1 (death or end of follow-up)
#   relapse           d2; relapse_day = t2 when d2 = 1 (t2 is the time to relapse, death or
#                     end of study, so it is the relapse day only for relapsed patients)
#   platelet_engraftment      dp ("platelets returned to normal"); its day tp when dp = 1.
#                             Note: a return to normal levels, not the usual >= 20 x 10^9/L.
#   agvhd_any, agvhd_day      da, and ta when da = 1.  bmt records acute GVHD without its grade:
#                             `agvhd_any` (not agvhd_grade) says so, and the grade-based
#                             endpoints (aGVHD II-IV, III-IV, GRFS) are not computed.
#   cgvhd_any, cgvhd_day      dc, and tc when dc = 1; the extent (limited/extensive) is not
#                             recorded, so `cgvhd_any` replaces `cgvhd`.
# Not in bmt, and not in the extract: hct_date/hct_year (times are days), status_at_hct
# (AML low risk = first remission, AML high risk = not in first remission, ALL unknown), pif,
# cr_after_hct, conditioning (all BuCy2, a myeloablative regimen: the study file supplies
# conditioning: MAC as a constant), ps, cause_of_death, neutrophil engraftment.  Donor age,
# sex and CMV status, waiting time, FAB class, hospital and MTX prophylaxis (z2, z4-z10) have
# no SPEC column.
#
# Two records of bmt are inconsistent, and the extract resolves them (reported when run):
#   row 127 (AML high risk): chronic GVHD on day 200 (tc) after death on day 168 (t1).  A
#     disease cannot start after death; the extract records no chronic GVHD for this patient.
#   row 38 (ALL): dead on day 350 without relapse, but the disease-free survival time t2 is
#     332.  The extract has no t2: event-free survival ends at the death on day 350.

args <- commandArgs(trailingOnly = TRUE)
script <- sub("^--file=", "", grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE))
project <- if (length(script) == 1) dirname(dirname(normalizePath(script))) else getwd()
output <- if (length(args) >= 1) args[[1]] else file.path(project, "data", "private", "bmt", "bmt.csv")

if (!requireNamespace("KMsurv", quietly = TRUE)) {
  stop("the KMsurv package is needed (Debian: apt-get install r-cran-kmsurv; or install.packages('KMsurv'))")
}
data("bmt", package = "KMsurv", envir = environment())
stopifnot(nrow(bmt) == 137)

when <- function(flag, day) ifelse(flag == 1, day, NA)

extract <- data.frame(
  patient_id = sprintf("bmt%03d", seq_len(nrow(bmt))),
  age = bmt$z1,
  sex = ifelse(bmt$z3 == 1, "M", "F"),
  disease = c("ALL", "AML low risk", "AML high risk")[bmt$group],
  graft_source = "BM",
  donor_type = "related",
  vital_status = ifelse(bmt$d1 == 1, "dead", "alive"),
  last_contact_day = bmt$t1,
  relapse = bmt$d2,
  relapse_day = when(bmt$d2, bmt$t2),
  platelet_engraftment = bmt$dp,
  platelet_engraftment_day = when(bmt$dp, bmt$tp),
  agvhd_any = bmt$da,
  agvhd_day = when(bmt$da, bmt$ta),
  cgvhd_any = bmt$dc,
  cgvhd_day = when(bmt$dc, bmt$tc),
  stringsAsFactors = FALSE
)

# Chronic GVHD recorded after death (row 127): not observable, recorded as none.
after_death <- which(bmt$dc == 1 & bmt$tc > bmt$t1)
for (i in after_death) {
  message(sprintf("row %d: chronic GVHD on day %d is after death on day %d; recorded as no chronic GVHD",
                  i, bmt$tc[i], bmt$t1[i]))
  extract$cgvhd_any[i] <- 0
  extract$cgvhd_day[i] <- NA
}
# Disease-free survival time not the death time of a patient who died without relapse (row 38).
for (i in which(bmt$d1 == 1 & bmt$d2 == 0 & bmt$t2 != bmt$t1)) {
  message(sprintf("row %d: dead on day %d without relapse, but t2 = %d; event-free survival ends at death",
                  i, bmt$t1[i], bmt$t2[i]))
}
# Every other event must lie within follow-up (the validation checks this again).
stopifnot(with(extract, all(is.na(relapse_day) | relapse_day <= last_contact_day)),
          with(extract, all(is.na(agvhd_day) | agvhd_day <= last_contact_day)),
          with(extract, all(is.na(cgvhd_day) | cgvhd_day <= last_contact_day)),
          with(extract, all(is.na(platelet_engraftment_day) | platelet_engraftment_day <= last_contact_day)))

dir.create(dirname(output), recursive = TRUE, showWarnings = FALSE)
write.table(extract, output, sep = ",", quote = FALSE, row.names = FALSE, na = "", eol = "\n",
            fileEncoding = "UTF-8")
message(sprintf("wrote %d records to %s", nrow(extract), output))
