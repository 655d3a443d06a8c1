# Reference values of metafor's influence() (outlier and influence diagnostics)
# for trialmeta.pool.sensitivity.influence_diagnostics.
#
# Run from the repository root: Rscript tests/reference/influence_reference.R
# It reads the datasets of metafor_reference.json (so both files describe the
# same studies) and writes tests/reference/influence_reference.json with 17
# significant digits; non-finite values as "NA". CI only reads the JSON.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

datasets <- fromJSON(file.path("tests", "reference", "metafor_reference.json"))$datasets
rma_control <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
source(file.path("tests", "reference", "json_numbers.R"))

cases <- list()
for (name in c("cart_mrd", "cart_relapse", "some_zero", "hetero_k30", "k2")) {
  data <- datasets[[name]]
  for (measure in c("PLO", "PFT")) {
    es <- escalc(measure = measure, xi = data$events, ni = data$total)
    for (method in c("FE", "DL", "REML")) {
      for (test in c("z", "knha")) {
        res <- rma(es$yi, es$vi, method = method, test = test, control = rma_control)
        inf <- influence(res)$inf
        cases[[length(cases) + 1]] <- list(
          dataset = name, measure = measure, method = method, test = test,
          rstudent = vec(inf$rstudent), dffits = vec(inf$dffits), cook_d = vec(inf$cook.d),
          cov_r = vec(inf$cov.r), tau2_del = vec(inf$tau2.del), q_del = vec(inf$QE.del),
          hat = vec(inf$hat), weight = vec(inf$weight), influential = as.logical(inf$inf == "*"),
          dfbetas = vec(influence(res)$dfbs$intrcpt)
        )
      }
    }
  }
}
reference <- list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
                  cases = cases)
writeLines(toJSON(reference, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
           file.path("tests", "reference", "influence_reference.json"))
