"""The `loyalty` command line (Typer): one entry point, subcommands."""
