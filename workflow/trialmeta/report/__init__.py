"""Stage 5, rule `report`: tables, results and figures -> `report.html` (`page`) and the
snapshots and changes between runs (`history`). Reads results only; never refits."""
