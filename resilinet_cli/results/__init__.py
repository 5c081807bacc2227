"""The results folder: its file names (``layout``), unit records (``runs``), tables, figures,
report pages, saved model files and the comparison of two folders."""
