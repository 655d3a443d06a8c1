# Reference values for the small-k and boundary rules of the pool stage (issue 17).
#
# Run from the repository root:  Rscript tests/reference/small_k_reference.R
# It writes tests/reference/small_k_reference.json, which tests/test_small_k.py reads
# (the tests need no R). Data: the probe sheets of the statistical review and the
# four CAR-T reports' counts.

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
  library(jsonlite)
})
source(file.path("tests", "reference", "json_numbers.R"))
out_path <- file.path("tests", "reference", "small_k_reference.json")

rma_control <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
glmer_control <- list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5), tolPwrss = 1e-12)
glm_control <- list(epsilon = 1e-14, maxit = 1000)

datasets <- list(
  identical5 = list(events = rep(5, 5), total = rep(25, 5)),
  identical2 = list(events = c(10, 10), total = c(20, 20)),
  cr_cri = list(events = c(20, 23), total = c(20, 23)),
  zeros3 = list(events = c(0, 0, 0), total = c(10, 12, 15)),
  full3 = list(events = c(10, 12, 15), total = c(10, 12, 15)),
  mrd_neg = list(events = c(15, 12, 20, 21), total = c(15, 14, 20, 22)),
  crs_any = list(events = c(4, 10, 18, 21), total = c(15, 14, 20, 23)),
  pft_unequal = list(events = c(0, 1, 2), total = c(5, 100, 400)),
  single = list(events = 7, total = 10),
  # studies only at 0% and at 100%: the GLMM's between-study SD runs away, the fallback takes over
  split = list(events = c(0, 10), total = c(10, 10)),
  # summed counts of metafor_reference.json's datasets k1, all_events and zero_events
  ref_k1 = list(events = 12, total = 14),
  ref_all_events = list(events = 87, total = 87),
  ref_zero_events = list(events = 0, total = 71)
)

exact <- function(x, n) { ci <- binom.test(x, n)$conf.int; list(low = num(ci[1]), high = num(ci[2])) }

# the exact Clopper-Pearson interval of every dataset's summed counts
exact_out <- lapply(datasets, function(d) exact(sum(d$events), sum(d$total)))

# REML on the logit (0.5 added to studies at 0% or 100%, escalc's default) and
# Freeman-Tukey, with Knapp-Hartung ("knha") and its ad hoc correction ("adhoc")
adhoc_out <- list()
for (name in c("identical5", "identical2", "cr_cri", "zeros3", "full3", "mrd_neg", "pft_unequal", "split")) {
  d <- datasets[[name]]
  for (measure in c("PLO", "PFT")) for (test in c("knha", "adhoc")) {
    m <- rma(measure = measure, xi = d$events, ni = d$total, method = "REML", test = test, control = rma_control)
    tf <- if (measure == "PLO") transf.ilogit else transf.ipft.hm
    ta <- if (measure == "PLO") NULL else list(ni = d$total)
    pr <- predict(m, transf = tf, targs = ta)
    adhoc_out[[length(adhoc_out) + 1]] <- list(
      dataset = name, measure = measure, test = test,
      estimate = num(m$beta), se = num(m$se), ci_low = num(m$ci.lb), ci_high = num(m$ci.ub), tau2 = num(m$tau2),
      estimate_prop = num(pr$pred), ci_low_prop = num(pr$ci.lb), ci_high_prop = num(pr$ci.ub))
  }
}

# rma.glmm with z and with t (k - 1 df) CIs; the prediction interval on t with
# k - 1 df, mu +- t sqrt(se^2 + tau2), is predict()'s under test = "t"
glmm_out <- list()
for (name in c("mrd_neg", "crs_any", "pft_unequal")) {
  d <- datasets[[name]]
  for (test in c("z", "t")) {
    g <- rma.glmm(measure = "PLO", xi = d$events, ni = d$total, method = "ML", test = test,
                  control = list(glmerCtrl = glmer_control, glmCtrl = glm_control))
    pr <- predict(g, transf = transf.ilogit)
    k <- length(d$events)
    half <- qt(0.975, k - 1) * sqrt(g$se^2 + g$tau2)
    glmm_out[[length(glmm_out) + 1]] <- list(
      dataset = name, test = test, estimate = num(g$beta), se = num(g$se), tau2 = num(g$tau2),
      ci_low_prop = num(pr$ci.lb), ci_high_prop = num(pr$ci.ub),
      pi_low_prop = num(pr$pi.lb), pi_high_prop = num(pr$pi.ub),
      pi_t_low_prop = num(plogis(g$beta - half)), pi_t_high_prop = num(plogis(g$beta + half)))
  }
}

# Between-subgroup Q of separate random-effects fits (meta's Q.b.random): a
# common-effect meta-analysis of the subgroup estimates and their SEs. Two
# subgroups of two studies and one of a single study, which stays out of the test.
sub <- list(events = c(4, 10, 18, 21, 3), total = c(15, 14, 20, 23, 10), group = c("a", "a", "b", "b", "c"))
est <- c(); se <- c()
for (g in c("a", "b")) {
  s <- sub$group == g
  m <- rma(measure = "PLO", xi = sub$events[s], ni = sub$total[s], method = "REML", test = "adhoc", control = rma_control)
  est <- c(est, m$beta); se <- c(se, m$se)
}
qb <- rma(yi = est, sei = se, method = "FE")
subgroup_out <- list(data = list(events = vec(sub$events), total = vec(sub$total), group = I(sub$group)),
                     q_between = num(qb$QE), q_between_df = num(qb$k - 1), q_between_p = num(qb$QEp))

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  lme4 = as.character(packageVersion("lme4"))),
  datasets = lapply(datasets, function(d) list(events = vec(d$events), total = vec(d$total))),
  exact = exact_out, rma = adhoc_out, glmm = glmm_out, subgroup = subgroup_out)
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE, digits = NA), out_path)
cat("wrote", out_path, "\n")
