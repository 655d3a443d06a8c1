# Reference values for the intention-to-treat sensitivity analysis (trialmeta.pool.itt).
#
# Run from the repository root:
#   Rscript tests/reference/itt_reference.R
# It writes tests/reference/itt_reference.json (17 significant digits, as the other scripts);
# tests/test_itt.py only reads it.
#
# MRD-negative remission of the four shared reports, per protocol (over the infused or
# evaluable patients) and over the ITT denominators trialmeta.pool.itt uses: Bispecific
# 15 of 19 enrolled, Tandem 21 of its 23 treated (no enrolled count; the paper's 22 are the
# evaluable ones). "review" is the statistical review's variant that kept Tandem's 22.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
source(file.path("tests", "reference", "json_numbers.R"))

glmer_control <- list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5), tolPwrss = 1e-12)
glm_control <- list(epsilon = 1e-14, maxit = 1000)

datasets <- list(
  per_protocol = list(events = c(15, 12, 20, 21), total = c(15, 14, 20, 22)),
  itt = list(events = c(15, 12, 20, 21), total = c(19, 14, 20, 23)),
  review = list(events = c(15, 12, 20, 21), total = c(19, 14, 20, 22))
)
out <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  # test = "t": the pipeline's GLMM uses a t-based CI (and PI on k - 1 df) below pooling.glmm_t_below_k = 10
  fit <- rma.glmm(measure = "PLO", xi = d$events, ni = d$total, method = "ML", test = "t",
                  control = list(glmerCtrl = glmer_control, glmCtrl = glm_control))
  p <- predict(fit, transf = transf.ilogit)
  out[[name]] <- list(events = vec(d$events), total = vec(d$total),
                      estimate = num(p$pred), ci_low = num(p$ci.lb), ci_high = num(p$ci.ub),
                      pi_low = num(p$pi.lb), pi_high = num(p$pi.ub), tau2 = num(fit$tau2))
}
reference <- list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
                  glmm = out)
path <- file.path("tests", "reference", "itt_reference.json")
writeLines(toJSON(reference, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE, null = "null"), path)
cat("wrote", path, "\n")
