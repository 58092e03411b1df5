"""Operator command line for the registry: import a survey form from a file, export a ledger unit's form.

    python -m registry.entrypoints.cli import-form 附表1.xlsx --form form1 --token "$TOKEN" [--errors out.csv]
    python -m registry.entrypoints.cli export-form street-420102002 --form form1 --token "$TOKEN" [--out F.xlsx]

Runs the same handlers as ``POST /imports/{form}`` (same validation, same all-or-nothing write, same error
report, without the HTTP request-size limit) and ``GET /ledgers/{unit}/forms/{form}.xlsx`` (same scope).
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_core.errors import PlatformError
from platform_core.tokens import verifier_from_settings
from registry.adapters.spreadsheet import error_report_csv
from registry.bootstrap import build_context, build_registry
from registry.handlers.forms_out import export_ledger
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
               f"imported, {outcome['unchanged']} unchanged, {outcome['error_count']} errors, {outcome['seconds']:.2f} s")
    if outcome["error_count"]:
        for error in outcome["errors"][:20]:
            typer.echo(f"  第{error['row']}行 {error['column']}：{error['reason']}", err=True)
        if errors is not None:
            errors.write_bytes(error_report_csv(outcome["errors"]))
            typer.echo(f"error report: {errors}")
        raise typer.Exit(1)


@app.command("export-form")
def export_form(unit: Annotated[str, typer.Argument(help="the ledger unit, e.g. street-420102002, district-420102-social")],
                token: Annotated[str, typer.Option(envvar="CAMPAIGN_TOKEN", help="the department's token")],
                form: Annotated[str, typer.Option(help="form1 (附表1) or form2 (附表2): the unit's own form")] = "form1",
                out: Annotated[Path | None, typer.Option(help="the XLSX to write (default: <unit>-<form>.xlsx)")] = None,
                ) -> None:
    """Write the unit's ledger as it stands now in the import's layout (imported back, it writes nothing)."""
    context = build_context()
    principal = verifier_from_settings(context.settings).verify(token)
    try:
        name, content = export_ledger(build_registry(context), principal, unit, form)
    except PlatformError as refused:  # not the department's unit, an unknown unit, the other form
        typer.echo(f"{refused.status}: {refused.message}", err=True)
        raise typer.Exit(1) from None
    target = out or Path(name)
    target.write_bytes(content)
    typer.echo(f"{target}: {len(content)} bytes")


def main() -> None:
    app(sys.argv[1:])


if __name__ == "__main__":
    main()
