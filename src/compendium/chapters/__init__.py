"""Layer 6: one module per chapter (summaries, tables, verdicts), the paper's numbers and
the book's plots."""
