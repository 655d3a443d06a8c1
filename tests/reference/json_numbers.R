# JSON encoding shared by the reference scripts: numbers with 17 significant
# digits (formatted with sprintf; jsonlite's own output stops at 15), non-finite
# values as the strings "NA", "NaN", "Inf", "-Inf". Pass the results to
# toJSON(..., json_verbatim = TRUE).

json_number <- function(x) {
  if (is.na(x) && !is.nan(x)) return('"NA"')
  if (is.nan(x)) return('"NaN"')
  if (is.infinite(x)) return(if (x > 0) '"Inf"' else '"-Inf"')
  sprintf("%.17g", x)
}
num <- function(x) {
  # a scalar; NULL (a quantity R does not report) becomes "NA"
  if (is.null(x) || length(x) == 0) return(structure('"NA"', class = "json"))
  stopifnot(length(x) == 1)
  structure(json_number(as.numeric(x)), class = "json")
}
vec <- function(x) {
  structure(paste0("[", paste(vapply(as.numeric(x), json_number, ""), collapse = ","), "]"),
            class = "json")
}
