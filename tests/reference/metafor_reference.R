# Reference values from R's metafor for the trialmeta pooling engine.
#
# Run from the repository root (see tests/reference/README.md):
#   Rscript tests/reference/metafor_reference.R
# It writes tests/reference/metafor_reference.json. The Python tests only read
# that file, so CI needs no R.
#
# Numbers are written with 17 significant digits (jsonlite caps its own output
# at 15, so numbers are formatted here with sprintf and passed verbatim).
# Non-finite values are written as the strings "NA", "NaN", "Inf", "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "metafor_reference.json")

source(file.path("tests", "reference", "json_numbers.R"))

# ---------------------------------------------------------------- datasets ---
set.seed(20240611)
hetero_total <- sample(10:80, 30, replace = TRUE)
hetero_logit <- rnorm(30, qlogis(0.55), 0.9)
hetero_events <- rbinom(30, hetero_total, plogis(hetero_logit))

datasets <- list(
  # CAR-T trials in B-ALL: MRD-negative complete remission
  cart_mrd = list(events = c(15, 20, 12, 21), total = c(15, 20, 14, 22)),
  # the same trials: relapse
  cart_relapse = list(events = c(5, 3, 4), total = c(15, 20, 14)),
  all_events = list(events = c(10, 25, 8, 14, 30), total = c(10, 25, 8, 14, 30)),
  zero_events = list(events = c(0, 0, 0, 0), total = c(12, 30, 9, 20)),
  some_zero = list(events = c(0, 3, 1, 7, 0), total = c(10, 20, 15, 25, 8)),
  k1 = list(events = 12, total = 14),
  k2 = list(events = c(5, 3), total = c(15, 20)),
  hetero_k30 = list(events = hetero_events, total = hetero_total),
  # Q < k - 1 under every measure: DL, HE, PM, ... truncate tau2 at 0
  homogeneous = list(events = c(10, 11, 10, 12, 9, 11),
                     total = c(20, 21, 19, 23, 18, 22))
)

measures <- c("PLO", "PFT", "PAS", "PR")
methods <- c("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "EB", "HE")
tests <- c("z", "knha", "adhoc")

# Tight tolerances so that agreement to 1e-6 is meaningful:
# threshold: Fisher scoring (ML, REML, EB) stops when tau2 changes by less;
# tol: uniroot tolerance for PM (and the ML/REML ll0 check); maxiter for both.
rma_control <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
# Q-profile: uniroot tolerance (metafor's default is eps^0.25 ~ 1.2e-4)
confint_control <- list(tol = 1e-12, maxiter = 10000)
# lme4: the default Nelder-Mead second stage stops at ~1e-5 in theta; bobyqa
# with a tiny final trust radius and a tight PIRLS tolerance reaches ~1e-8.
glmer_control <- list(optimizer = "bobyqa",
                      optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                      tolPwrss = 1e-12)
# glm (common-effect fit behind the LRT heterogeneity test) to convergence
glm_control <- list(epsilon = 1e-14, maxit = 1000)

back_transform <- function(measure, total) {
  switch(measure,
         PLO = list(transf = transf.ilogit, targs = NULL),
         PFT = list(transf = transf.ipft.hm, targs = list(ni = total)),
         PAS = list(transf = transf.iarcsin, targs = NULL),
         PR = list(transf = NULL, targs = NULL))
}

# run expr, collecting warnings; an error becomes list(error = message)
capture <- function(expr) {
  warnings <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) list(error = conditionMessage(e))),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = value, warnings = warnings)
}
is_error <- function(x) is.list(x) && !is.null(x$error) && length(x) == 1

predict_block <- function(res, bt) {
  p <- predict(res)
  b <- if (is.null(bt$transf)) p else predict(res, transf = bt$transf, targs = bt$targs)
  list(pi_low = num(p$pi.lb), pi_high = num(p$pi.ub),
       back = list(estimate = num(b$pred), ci_low = num(b$ci.lb), ci_high = num(b$ci.ub),
                   pi_low = num(b$pi.lb), pi_high = num(b$pi.ub)))
}

# ---------------------------------------------------------------- escalc ---
corrections <- list(
  list(add = NULL, to = NULL),          # metafor's defaults
  list(add = 0.5, to = "all"),
  list(add = 0.5, to = "if0all"),
  list(add = 0.5, to = "none"),
  list(add = 0.25, to = "only0"),
  list(add = 0.5, to = "only0")         # explicit: also corrects PFT and PAS
)
escalc_out <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  for (measure in measures) {
    for (cc in corrections) {
      args <- list(measure = measure, xi = d$events, ni = d$total)
      if (!is.null(cc$add)) args$add <- cc$add
      if (!is.null(cc$to)) args$to <- cc$to
      es <- do.call(escalc, args)
      escalc_out[[length(escalc_out) + 1]] <- list(
        dataset = dname, measure = measure,
        add = if (is.null(cc$add)) NULL else num(cc$add),
        to = cc$to, yi = vec(es$yi), vi = vec(es$vi))
    }
  }
}

# ---------------------------------------------------------------- rma ---
fits <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  for (measure in measures) {
    es <- escalc(measure = measure, xi = d$events, ni = d$total)
    bt <- back_transform(measure, d$total)
    for (method in methods) {
      for (test in tests) {
        entry <- list(dataset = dname, measure = measure, method = method, test = test)
        fit <- capture(rma(es$yi, es$vi, method = method, test = test,
                           control = rma_control))
        res <- fit$value
        entry$warnings <- I(fit$warnings)
        if (is_error(res)) {
          entry$refused <- res$error
          fits[[length(fits) + 1]] <- entry
          next
        }
        pr <- capture(predict_block(res, bt))
        ci <- capture(confint(res, control = confint_control))
        tau2_ci <- if (is_error(ci$value)) c(NA, NA) else ci$value$random["tau^2", c("ci.lb", "ci.ub")]
        entry <- c(entry, list(
          refused = NULL,
          estimate = num(res$beta), se = num(res$se), stat = num(res$zval),
          pval = num(res$pval), df = num(res$ddf),
          ci_low = num(res$ci.lb), ci_high = num(res$ci.ub),
          tau2 = num(res$tau2), tau2_se = num(res$se.tau2),
          tau2_ci_low = num(tau2_ci[[1]]), tau2_ci_high = num(tau2_ci[[2]]),
          tau2_ci_refused = if (is_error(ci$value)) ci$value$error else NULL,
          i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE), q_p = num(res$QEp),
          weights = vec(weights(res)), test_used = res$test),
          pr$value)
        fits[[length(fits) + 1]] <- entry
      }
    }
  }
}

# ---------------------------------------------------------------- rma.glmm ---
glmm_out <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  entry <- list(dataset = dname)
  fit <- capture(rma.glmm(measure = "PLO", xi = d$events, ni = d$total, method = "ML",
                          control = list(glmerCtrl = glmer_control, glmCtrl = glm_control)))
  res <- fit$value
  entry$warnings <- I(fit$warnings)
  if (is_error(res)) {
    entry$refused <- res$error
  } else {
    pr <- predict_block(res, back_transform("PLO", d$total))
    entry <- c(entry, list(
      refused = NULL, nAGQ = num(7),
      estimate = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
      ci_low = num(res$ci.lb), ci_high = num(res$ci.ub), tau2 = num(res$tau2),
      i2 = num(res$I2), h2 = num(res$H2),
      q_lrt = num(res$QE.LRT), q_lrt_p = num(res$QEp.LRT),
      q_wald = num(res$QE.Wld), q_df = num(res$QE.df)), pr)
  }
  glmm_out[[length(glmm_out) + 1]] <- entry
}

# ---------------------------------------------------------------- sensitivity ---
# leave1out, cumul, regtest and trimfill for a few datasets; subgroups and
# meta-regression for the k = 30 set, with a 3-level subgroup and a dose.
moderators <- list(group = rep(c("g1", "g2", "g3"), length.out = 30),
                   dose = seq(0.5, 15, by = 0.5))
sens_datasets <- c("hetero_k30", "cart_mrd", "some_zero")
sens_measures <- c("PLO", "PFT")
sens_tests <- c("z", "knha")

case_block <- function(x) {
  # the per-fit vectors leave1out and cumul return (tval under knha)
  stat <- if (is.null(x$zval)) x$tval else x$zval
  list(estimate = vec(x$estimate), se = vec(x$se), stat = vec(stat), pval = vec(x$pval),
       ci_low = vec(x$ci.lb), ci_high = vec(x$ci.ub), q = vec(x$Q), q_p = vec(x$Qp),
       tau2 = vec(x$tau2), i2 = vec(x$I2), h2 = vec(x$H2))
}
fit_block <- function(res) {
  list(estimate = num(res$beta[1]), se = num(res$se[1]), ci_low = num(res$ci.lb[1]),
       ci_high = num(res$ci.ub[1]), tau2 = num(res$tau2), i2 = num(res$I2), h2 = num(res$H2),
       q = num(res$QE), q_p = num(res$QEp))
}
regression_block <- function(res) {
  ci <- capture(confint(res, control = confint_control))$value
  tau2_ci <- if (is_error(ci)) c(NA, NA) else ci$random["tau^2", c("ci.lb", "ci.ub")]
  list(coefficients = vec(res$beta), se = vec(res$se), stat = vec(res$zval), pval = vec(res$pval),
       ci_low = vec(res$ci.lb), ci_high = vec(res$ci.ub), df = num(res$ddf),
       qm = num(res$QM), qm_df = num(res$QMdf[1]), qm_p = num(res$QMp),
       tau2 = num(res$tau2), tau2_se = num(res$se.tau2),
       tau2_ci_low = num(tau2_ci[[1]]), tau2_ci_high = num(tau2_ci[[2]]),
       i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE), q_p = num(res$QEp))
}
or_refused <- function(x, f) {
  if (is_error(x$value)) list(refused = x$value$error) else c(list(refused = NULL), f(x$value))
}

sensitivity <- list()
for (dname in sens_datasets) {
  d <- datasets[[dname]]
  for (measure in sens_measures) {
    es <- escalc(measure = measure, xi = d$events, ni = d$total)
    for (method in methods) {
      for (test in sens_tests) {
        res <- rma(es$yi, es$vi, method = method, test = test, control = rma_control)
        entry <- list(dataset = dname, measure = measure, method = method, test = test)
        entry$leave1out <- or_refused(capture(leave1out(res)), case_block)
        entry$cumul <- or_refused(capture(cumul(res)), case_block)
        entry$regtest <- or_refused(capture(regtest(res)), function(rt) list(
          stat = num(rt$zval), pval = num(rt$pval), df = num(rt$ddf),
          slope = num(rt$fit$beta[2]), slope_se = num(rt$fit$se[2]),
          limit_estimate = num(rt$est), limit_ci_low = num(rt$ci.lb), limit_ci_high = num(rt$ci.ub)))
        # control and test passed on, else trimfill's refits use metafor's
        # default tolerances and test = "z"
        entry$trimfill <- or_refused(
          capture(trimfill(res, control = rma_control, test = test)),
          function(tf) c(list(side = tf$side, k0 = num(tf$k0), k0_se = num(tf$se.k0),
                              filled_yi = vec(tf$yi[tf$fill]), filled_vi = vec(tf$vi[tf$fill])),
                         fit_block(tf)))
        if (dname == "hetero_k30") {
          groups <- moderators$group
          levels <- sort(unique(groups))
          per_group <- lapply(levels, function(g) {
            rma(es$yi[groups == g], es$vi[groups == g], method = method, test = test,
                control = rma_control)
          })
          between <- rma(yi = sapply(per_group, function(r) r$beta[1]),
                         sei = sapply(per_group, function(r) r$se[1]), method = "FE")
          entry$subgroups <- list(
            groups = I(levels), fits = lapply(per_group, fit_block),
            q_between = num(between$QE), q_between_p = num(between$QEp),
            mixed_effects = regression_block(rma(es$yi, es$vi, mods = ~ factor(groups), method = method,
                                                 test = test, control = rma_control)))
          entry$metareg <- regression_block(rma(es$yi, es$vi, mods = ~ moderators$dose, method = method,
                                                test = test, control = rma_control))
        }
        sensitivity[[length(sensitivity) + 1]] <- entry
      }
    }
  }
}

# ---------------------------------------------------------------- transforms ---
grid <- seq(-0.2, 1.8, length.out = 41)
transform_total <- datasets$cart_mrd$total
transforms <- list(
  values = vec(grid),
  total = vec(transform_total),
  PFT = vec(transf.ipft.hm(grid, targs = list(ni = transform_total))),
  PAS = vec(transf.iarcsin(grid)),
  PLO = vec(transf.ilogit(grid))
)

# ---------------------------------------------------------------- write ---
datasets_json <- lapply(datasets, function(d) list(events = vec(d$events), total = vec(d$total)))
reference <- list(
  versions = list(R = R.version.string,
                  metafor = as.character(packageVersion("metafor")),
                  lme4 = as.character(packageVersion("lme4")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  control = list(rma = lapply(rma_control, num), confint = lapply(confint_control, num),
                 glmer = list(optimizer = glmer_control$optimizer,
                              rhoend = num(glmer_control$optCtrl$rhoend),
                              tolPwrss = num(glmer_control$tolPwrss)),
                 nAGQ = num(7)),
  datasets = datasets_json,
  escalc = escalc_out,
  fits = fits,
  glmm = glmm_out,
  moderators = list(group = I(moderators$group), dose = vec(moderators$dose)),
  sensitivity = sensitivity,
  transforms = transforms
)
writeLines(toJSON(reference, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE,
                  null = "null"), out_path)
cat("wrote", out_path, ":", length(fits), "rma fits,", length(glmm_out), "glmm fits,",
    length(sensitivity), "sensitivity cases\n")
