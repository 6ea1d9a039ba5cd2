"""The matrix config: models x tasks x modes under profiles (matrix.yaml), validated on
load and expanded into cases (matrix.py); where the suite's files are (paths.py)."""
