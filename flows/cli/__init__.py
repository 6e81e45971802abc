"""The `lontar` command line: `main.py` holds the command group and `lontar run`; the dataset and queue commands
live beside it. The only place where errors become exit codes (exit_codes.py)."""
