# Reference values from R's survival and metafor for trialmeta.pool.survival and trialmeta.harmonise.patients.
#
# Run from the repository root:
#   Rscript tests/reference/survival_reference.R
# It writes tests/reference/survival_reference.json; the Python tests only read
# that file, so CI needs no R. Numbers are written with 17 significant digits
# (sprintf; jsonlite stops at 15); non-finite values as "NA", "NaN", "Inf", "-Inf".

suppressPackageStartupMessages({
  library(survival)
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "survival_reference.json")

source(file.path("tests", "reference", "json_numbers.R"))

# ------------------------------------------------------------ Kaplan-Meier ---
# A small hand-made cohort with tied event times, ties between events and
# censorings, and censoring at the last time; and a simulated one (months).
set.seed(20240612)
sim_n <- 60
sim_group <- rep(c("a", "b", "c"), length.out = sim_n)
sim_rate <- log(2) / c(a = 18, b = 9, c = 12)[sim_group]
sim_event <- rexp(sim_n, sim_rate)
sim_censor <- runif(sim_n, 3, 36)
km_data <- list(
  small = list(
    time = c(1.2, 2.5, 2.5, 3.0, 4.1, 4.1, 4.1, 5.6, 6.0, 7.3, 8.8, 9.0, 10.5, 12.0, 12.0,
             13.4, 15.2, 18.0, 20.5, 24.0),
    status = c(1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0),
    group = rep(c("a", "b"), 10)),
  simulated = list(time = round(pmin(sim_event, sim_censor), 2),
                   status = as.numeric(sim_event <= sim_censor),
                   group = sim_group),
  # no censoring before 12 months: Greenwood's variance is (1 - S) / (n S)
  no_censoring = list(time = c(1, 2, 3, 4, rep(30, 16)),
                      status = c(1, 1, 1, 1, rep(0, 16)),
                      group = rep(c("a", "b"), 10))
)
landmarks <- c(3, 6, 12, 24)
conf_types <- c("plain", "log", "log-log")

km_out <- list()
for (name in names(km_data)) {
  d <- km_data[[name]]
  fit <- survfit(Surv(d$time, d$status) ~ 1, conf.type = "log-log")
  at <- list()
  for (ct in conf_types) {
    f <- survfit(Surv(d$time, d$status) ~ 1, conf.type = ct)
    s <- summary(f, times = landmarks, extend = TRUE)
    at[[ct]] <- list(times = vec(s$time), surv = vec(s$surv), std_err = vec(s$std.err),
                     lower = vec(s$lower), upper = vec(s$upper), n_risk = vec(s$n.risk))
  }
  two <- d$group %in% c("a", "b")
  lr2 <- survdiff(Surv(d$time[two], d$status[two]) ~ d$group[two])
  groups <- length(unique(d$group))
  lr_all <- survdiff(Surv(d$time, d$status) ~ d$group)
  km_out[[name]] <- list(
    time_in = vec(d$time), status_in = vec(d$status), group_in = I(d$group),
    time = vec(fit$time), n_risk = vec(fit$n.risk), n_event = vec(fit$n.event),
    n_censor = vec(fit$n.censor), surv = vec(fit$surv),
    std_err_cumhaz = vec(fit$std.err), lower = vec(fit$lower), upper = vec(fit$upper),
    landmarks = at,
    logrank_ab = list(chisq = num(lr2$chisq), df = num(1),
                      p = num(pchisq(lr2$chisq, 1, lower.tail = FALSE))),
    logrank_all = list(chisq = num(lr_all$chisq), df = num(groups - 1),
                       p = num(pchisq(lr_all$chisq, groups - 1, lower.tail = FALSE))))
}

# ------------------------------------------------------- landmark pooling ---
# yi = log(-log S) and vi from the source each study gives, written out here
# independently of the Python code:
z <- qnorm(0.975)
vi_of <- function(s, lo, hi, se, n, source) {
  switch(source,
         ci_plain = ((hi - lo) / (2 * z))^2 / (s * log(s))^2,
         ci_log = ((log(hi) - log(lo)) / (2 * z))^2 / log(s)^2,
         "ci_log-log" = ((log(-log(lo)) - log(-log(hi))) / (2 * z))^2,
         reported_se = se^2 / (s * log(s))^2,
         greenwood_no_censoring = (1 - s) / (n * s * log(s)^2))
}

# Simulated trials: each one's 12-month Kaplan-Meier estimate and CI as R
# prints them, the CI type cycling through plain, log and log-log; vi from
# survfit's Greenwood SE of the cumulative hazard, (se / log S)^2, not from the CI.
set.seed(20240613)
sim_k <- 8
sim_trials <- list(s = numeric(0), lo = numeric(0), hi = numeric(0), vi = numeric(0),
                   n = numeric(0), ci_type = character(0))
for (i in seq_len(sim_k)) {
  n <- sample(15:60, 1)
  median_months <- runif(1, 10, 40)
  ev <- rexp(n, log(2) / median_months)
  ce <- runif(n, 6, 36)
  ct <- conf_types[(i - 1) %% 3 + 1]
  f <- survfit(Surv(pmin(ev, ce), as.numeric(ev <= ce)) ~ 1, conf.type = ct)
  s <- summary(f, times = 12)
  se_cumhaz <- s$std.err / s$surv
  sim_trials$s <- c(sim_trials$s, s$surv)
  sim_trials$lo <- c(sim_trials$lo, s$lower)
  sim_trials$hi <- c(sim_trials$hi, s$upper)
  sim_trials$vi <- c(sim_trials$vi, (se_cumhaz / log(s$surv))^2)
  sim_trials$n <- c(sim_trials$n, n)
  sim_trials$ci_type <- c(sim_trials$ci_type, ct)
}

pool_sets <- list(
  # 12-month relapse/leukaemia-free survival of three CAR-T trials: a plain CI
  # (77%, 55-99) and two estimates with only the number treated
  cart_rfs_12m = list(s = c(0.77, 0.795, 0.673), lo = c(0.55, NA, NA), hi = c(0.99, NA, NA),
                      se = c(NA, NA, NA), n = c(15, 20, 23),
                      source = c("ci_plain", "greenwood_no_censoring", "greenwood_no_censoring")),
  # 12-month OS: the plain CI runs past 100% (86%, 68-104)
  cart_os_12m = list(s = c(0.86, 0.923, 0.572), lo = c(0.68, NA, NA), hi = c(1.04, NA, NA),
                     se = c(NA, NA, NA), n = c(15, 20, 23),
                     source = c("ci_plain", "greenwood_no_censoring", "greenwood_no_censoring")),
  # 24 months: a plain CI and a "61.2% +- 14.0%"
  cart_24m = list(s = c(0.77, 0.612), lo = c(0.55, NA), hi = c(0.99, NA), se = c(NA, 0.14),
                  n = c(15, 14), source = c("ci_plain", "reported_se")),
  # survival.without_precision: binomial: two CIs, one SE and two bare percentages whose SE is
  # imputed; the pool is repeated without the imputed ones (the first three studies)
  imputed_mixed = list(s = c(0.77, 0.86, 0.612, 0.795, 0.673), lo = c(0.55, 0.68, NA, NA, NA),
                       hi = c(0.99, 1.04, NA, NA, NA), se = c(NA, NA, 0.14, NA, NA), n = c(15, 15, 14, 20, 23),
                       source = c("ci_plain", "ci_plain", "reported_se", "greenwood_no_censoring",
                                  "greenwood_no_censoring")),
  imputed_mixed_without = list(s = c(0.77, 0.86, 0.612), lo = c(0.55, 0.68, NA), hi = c(0.99, 1.04, NA),
                               se = c(NA, NA, 0.14), n = c(15, 15, 14),
                               source = c("ci_plain", "ci_plain", "reported_se")),
  simulated_k8 = list(s = sim_trials$s, lo = sim_trials$lo, hi = sim_trials$hi,
                      se = rep(NA, sim_k), n = sim_trials$n,
                      source = paste0("ci_", sim_trials$ci_type), vi = sim_trials$vi)
)

rma_control <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
confint_control <- list(tol = 1e-12, maxiter = 10000)
methods <- c("FE", "DL", "REML", "PM")
tests <- c("z", "knha")
surv_of <- function(y) if (is.null(y)) NA else exp(-exp(y))

pool_out <- list()
for (name in names(pool_sets)) {
  d <- pool_sets[[name]]
  yi <- log(-log(d$s))
  vi <- if (!is.null(d$vi)) d$vi else
    mapply(vi_of, d$s, d$lo, d$hi, d$se, d$n, d$source)
  fits <- list()
  for (method in methods) {
    for (test in tests) {
      res <- rma(yi, vi, method = method, test = test, control = rma_control)
      p <- predict(res)
      ci <- if (method == "FE") c(NA, NA) else
        confint(res, control = confint_control)$random["tau^2", c("ci.lb", "ci.ub")]
      fits[[length(fits) + 1]] <- list(
        method = method, test = test,
        estimate = num(res$beta), se = num(res$se), ci_low = num(res$ci.lb), ci_high = num(res$ci.ub),
        pi_low = num(p$pi.lb), pi_high = num(p$pi.ub),
        tau2 = num(res$tau2), tau2_ci_low = num(ci[[1]]), tau2_ci_high = num(ci[[2]]),
        i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE), q_p = num(res$QEp),
        weights = vec(weights(res)),
        # S = exp(-exp(y)) is decreasing: S's lower limit is y's upper one
        survival = list(estimate = num(surv_of(res$beta)),
                        ci_low = num(surv_of(res$ci.ub)), ci_high = num(surv_of(res$ci.lb)),
                        pi_low = num(surv_of(p$pi.ub)), pi_high = num(surv_of(p$pi.lb))))
    }
  }
  pool_out[[name]] <- list(
    survival = vec(d$s), ci_low = vec(d$lo), ci_high = vec(d$hi), se = vec(d$se), n = vec(d$n),
    source = I(d$source), yi = vec(yi), vi = vec(vi), fits = fits)
}

reference <- list(
  versions = list(R = R.version.string,
                  survival = as.character(packageVersion("survival")),
                  metafor = as.character(packageVersion("metafor")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  kaplan_meier = km_out,
  landmark_pooling = pool_out
)
writeLines(toJSON(reference, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE, null = "null"),
           out_path)
cat("wrote", out_path, "\n")
