from .cli import app

app(prog_name="python -m audit_signer")
