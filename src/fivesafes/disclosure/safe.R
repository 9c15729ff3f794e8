# fivesafes safe outputs for R: tables that come out already checked, as Python's fivesafes.safe.
#
#   source(Sys.getenv("FIVESAFES_SAFE_R"))     # every action is told where this file is
#   by_age_sex <- safe_crosstab(people, "age_band", "sex",
#                               counts = c(with_asthma = "has_asthma", without_asthma = "no_asthma"))
#   by_age_sex$write_csv("output/asthma_by_age_sex.csv")   # the safe table, long
#   by_age_sex$chart("output/asthma_by_age_sex.png")       # drawn from the safe table only
#   cat(by_age_sex$explain(), sep = "\n")                  # which rule hid which cell
#
# Each function takes a data frame (or tibble) and the arguments of the Python function of the same
# name in fivesafes.disclosure.safe, under the same names: safe_crosstab, safe_total,
# safe_describe, safe_regression_table. Nothing is computed here: the records go, with their
# column types, to that Python function (python -m fivesafes.disclosure.safe_r), so an R table is
# suppressed, rounded, checked, written and drawn by exactly the code that makes a Python one, and
# passes or fails the same release checks. Only base R is used. Column classes sent: logical,
# integer, double, character, factor (as its labels) and Date; pass only the columns the output
# needs. Errors (an unknown column, a table that may not be released) are raised as R errors.

safe_crosstab <- function(data, rows, columns = NULL, profile = "default", name = NULL,
                          counts = NULL) {
  .fivesafes_safe("crosstab", data, list(rows = rows, columns = columns, profile = profile,
                                         name = name, counts = .fivesafes_named(counts)))
}

safe_total <- function(data, value, rows, columns = NULL, contributor = NULL,
                       profile = "default") {
  .fivesafes_safe("total", data, list(value = value, rows = rows, columns = columns,
                                      contributor = contributor, profile = profile))
}

safe_describe <- function(data, value, by, profile = "default") {
  by <- if (length(by) > 1) as.list(by) else by
  .fivesafes_safe("describe", data, list(value = value, by = by, profile = profile))
}

safe_regression_table <- function(data, outcome, predictors, profile = "default") {
  .fivesafes_safe("regression_table", data, list(outcome = outcome,
                                                  predictors = as.list(predictors),
                                                  profile = profile))
}

# A checked output: $write_csv(path), $chart(path, title = NULL), $explain(); print() explains.
.fivesafes_safe <- function(fn, data, arguments) {
  if (!is.data.frame(data)) stop("safe_", fn, ": data must be a data frame", call. = FALSE)
  folder <- tempfile("fivesafes-safe-")
  dir.create(folder)
  utils::write.csv(data, file.path(folder, "records.csv"), row.names = FALSE, na = "",
                   fileEncoding = "UTF-8")
  request <- file.path(folder, "request.json")
  body <- list(`function` = fn, arguments = .fivesafes_drop_null(arguments),
               columns = as.list(vapply(names(data), function(column) {
                 .fivesafes_type(data[[column]], column)
               }, "")),
               records = "records.csv")
  writeLines(.fivesafes_json(body), request, useBytes = TRUE)
  .fivesafes_bridge(request, "check")
  output <- list(
    write_csv = function(path) {
      .fivesafes_bridge(request, "write_csv", path)
      invisible(path)
    },
    chart = function(path, title = NULL) {
      .fivesafes_bridge(request, "chart", c(path, title))
      invisible(path)
    },
    explain = function() paste(readLines(file.path(folder, "explain.txt"), encoding = "UTF-8",
                                         warn = FALSE),
                               collapse = "\n")
  )
  class(output) <- "fivesafes_safe_output"
  output
}

print.fivesafes_safe_output <- function(x, ...) {
  cat(x$explain(), sep = "\n")
  invisible(x)
}

.fivesafes_bridge <- function(request, what, extra = character()) {
  python <- Sys.getenv("FIVESAFES_PYTHON")
  if (!nzchar(python)) {
    stop("FIVESAFES_PYTHON is not set: run this script as an action of a study ",
         "(fivesafes run), which says where the environment's Python is", call. = FALSE)
  }
  errors <- tempfile("fivesafes-error-")
  # R puts its own library folders (and the system's) first in LD_LIBRARY_PATH; a Python linked
  # to its own libpython would load the system's instead, so Python runs without them.
  status <- system2(python, c("-m", "fivesafes.disclosure.safe_r", shQuote(request), what,
                              shQuote(extra)), stdout = "", stderr = errors,
                    env = "LD_LIBRARY_PATH=")
  if (status != 0) {
    stop(paste(readLines(errors, warn = FALSE), collapse = "\n"), call. = FALSE)
  }
  invisible(NULL)
}

.fivesafes_type <- function(x, column) {
  if (is.logical(x)) return("bool")
  if (is.factor(x) || is.character(x)) return("string")
  if (inherits(x, "Date")) return("date32")
  if (is.integer(x)) return("int64")
  if (is.double(x)) return("float64")
  stop("column '", column, "' is of class ", paste(class(x), collapse = "/"),
       ": send logical, integer, double, character, factor or Date columns", call. = FALSE)
}

# Counts map each count column to what it counts: a logical column, or NULL (NA) for everyone.
.fivesafes_named <- function(counts) {
  if (is.null(counts)) return(NULL)
  if (is.null(names(counts)) || any(!nzchar(names(counts)))) {
    stop("counts must be named: c(with_asthma = \"has_asthma\", population = NA)", call. = FALSE)
  }
  lapply(as.list(counts), function(v) if (is.null(v) || is.na(v)) NA else v)
}

.fivesafes_drop_null <- function(x) x[!vapply(x, is.null, TRUE)]

.fivesafes_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x) && !is.null(names(x))) {
    keys <- vapply(names(x), .fivesafes_json_string, "")
    return(paste0("{", paste0(keys, ":", vapply(x, .fivesafes_json, ""), collapse = ","), "}"))
  }
  if (is.list(x)) return(paste0("[", paste0(vapply(x, .fivesafes_json, ""), collapse = ","), "]"))
  if (length(x) != 1) stop("internal: vectors are sent as lists", call. = FALSE)
  if (is.na(x)) return("null")
  if (is.character(x)) return(.fivesafes_json_string(x))
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.numeric(x)) return(format(x, digits = 17, scientific = FALSE))
  stop("internal: cannot send a value of class ", class(x)[1], call. = FALSE)
}

.fivesafes_json_string <- function(s) {
  s <- enc2utf8(s)
  for (pair in list(c("\\", "\\\\"), c("\"", "\\\""), c("\n", "\\n"), c("\r", "\\r"),
                    c("\t", "\\t"))) {
    s <- gsub(pair[1], pair[2], s, fixed = TRUE)
  }
  paste0("\"", s, "\"")
}
