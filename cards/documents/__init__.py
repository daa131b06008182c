"""Documents and pictures people download: the quote as PDF (fpdf2) and the pipeline chart as PNG
(matplotlib, Agg). Pure rendering from the same view objects the cards and the HTML quote use; no database."""
