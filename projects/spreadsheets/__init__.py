"""The portfolio as spreadsheets: cell parsing (cells), column sets (columns), files in and out (files), admin."""
