"""Review workbench: one offline HTML page per paper to verify, correct or reject every extracted value
against its page, exporting curation files in the existing schema; and the agreement of two reviewers.

Reads extraction records, paper files and curation files; imports only `core` and `extract`.
"""
