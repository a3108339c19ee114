"""GOFAP Data Import: Linear and GitHub work data into one relational warehouse, on Dagster."""
