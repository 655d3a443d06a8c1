"""Stage 1, rule `extract` (one job per paper): a paper file -> `extracted/{paper}.json`.

`reading` turns a PDF or text file into passages and tables with page and bounding box;
`numbers` finds quantities; `lexicon` holds the user-extendable endpoint phrases;
`extraction` binds quantities to endpoints, cohort and landmark and chooses one per endpoint;
`limits` runs a paper in a child process under time and memory limits. Imports only `core`.
"""
