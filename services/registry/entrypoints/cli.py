"""Operator command line for the registry: import a survey form from a file.

    python -m registry.entrypoints.cli import-form 附表1.xlsx --form form1 --token "$TOKEN" [--errors out.csv]

Runs the same handler as ``POST /imports/{form}`` (same validation, same
all-or-nothing write, same error report), without the HTTP request-size limit.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_core.tokens import verifier_from_settings
from registry.adapters.spreadsheet import error_report_csv
from registry.bootstrap import build_context, build_registry
from registry.handlers.imports import run_import

app = typer.Typer(help="Registry operations.", no_args_is_help=True)


@app.callback()
def registry() -> None:
    """Registry operations (more commands may follow, hence a group)."""


@app.command("import-form")
def import_form(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
                token: Annotated[str, typer.Option(envvar="CAMPAIGN_TOKEN", help="the department's token")],
                form: Annotated[str, typer.Option(help="form1 (附表1) or form2 (附表2)")] = "form1",
                errors: Annotated[Path | None, typer.Option(help="write the error report (CSV) here")] = None) -> None:
    """Import 附表1/附表2 (XLSX or CSV); exit status 1 when the file is rejected."""
    context = build_context()
    context.migrate()
    principal = verifier_from_settings(context.settings).verify(token)
    outcome, _ = run_import(build_registry(context), principal, form, path.name, path.read_bytes())
    typer.echo(f"{outcome['import_id']}: {outcome['status']}, {outcome['imported']} of {outcome['rows']} rows "
               f"imported, {outcome['error_count']} errors, {outcome['seconds']:.2f} s")
    if outcome["error_count"]:
        for error in outcome["errors"][:20]:
            typer.echo(f"  第{error['row']}行 {error['column']}：{error['reason']}", err=True)
        if errors is not None:
            errors.write_bytes(error_report_csv(outcome["errors"]))
            typer.echo(f"error report: {errors}")
        raise typer.Exit(1)


def main() -> None:
    app(sys.argv[1:])


if __name__ == "__main__":
    main()
