"""``campaign token`` and ``campaign token-keys``: scope checks and key rotation (files in a scratch folder)."""

import pytest
from typer.testing import CliRunner

from platform_core.cli import app
from platform_core.settings import get_settings
from platform_core.tokens import TokenIssuer, key_set_with, load_verifier, new_issuer_key

runner = CliRunner()


@pytest.fixture
def keys(tmp_path, monkeypatch):
    key, pem = new_issuer_key()
    issuer, public = tmp_path / "issuer.pem", tmp_path / "public.json"
    issuer.write_bytes(pem)
    public.write_text(key_set_with(None, key.public_key()))
    monkeypatch.setenv("CAMPAIGN_TOKEN_ISSUER_KEY_FILE", str(issuer))
    monkeypatch.setenv("CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", str(public))
    get_settings.cache_clear()
    yield issuer, public
    get_settings.cache_clear()


def verify(public, token: str):
    return load_verifier(public, "campaign-platform").verify(token.strip())


@pytest.mark.parametrize("args, problem", [
    (["district_org"], "must name its district"),
    (["district_org", "--territory", "420100"], "not a district code"),
    (["district_org", "--territory", "420102001"], "not a district code"),
    (["district_org", "--territory", "420188"], "is not a district of"),
    (["street_office"], "must name its street"),
    (["street_office", "--territory", "420102"], "not a street code"),
    (["emperor"], "unknown department kind"),
])
def test_token_refuses_district_kinds_without_a_territory_of_their_level(keys, args, problem):
    result = runner.invoke(app, ["token", *args, "--user", "x"])
    assert result.exit_code == 2, result.output
    assert problem in " ".join(result.output.split())


def test_token_for_a_district_is_scoped_to_it(keys):
    result = runner.invoke(app, ["token", "district_org", "--territory", "420102", "--user", "li"])
    assert result.exit_code == 0, result.output
    principal = verify(keys[1], result.output)
    assert (principal.kind, principal.territory, principal.department) == ("district_org", "420102",
                                                                          "district_org:420102")


def test_token_without_the_issuer_key_says_which_setting(keys, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_TOKEN_ISSUER_KEY_FILE", str(keys[0].with_name("missing.pem")))
    get_settings.cache_clear()
    result = runner.invoke(app, ["token", "inspector"])
    assert result.exit_code == 2 and "CAMPAIGN_TOKEN_ISSUER_KEY_FILE" in result.output


def test_rotate_then_retire(keys):
    issuer, public = keys
    old_token = runner.invoke(app, ["token", "inspector"]).output
    old_kid = TokenIssuer.from_pem(issuer.read_bytes(), "").kid
    rotated = runner.invoke(app, ["token-keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    new_kid = TokenIssuer.from_pem(issuer.read_bytes(), "").kid
    assert new_kid != old_kid and oct(issuer.stat().st_mode & 0o777) == "0o600"
    listed = runner.invoke(app, ["token-keys", "list"]).output.split("\n")
    assert listed[:2] == [old_kid, f"{new_kid}  (issuer)"]
    assert verify(public, old_token).kind == "inspector"  # old tokens stay valid after a rotation
    refused = runner.invoke(app, ["token-keys", "retire", new_kid])
    assert refused.exit_code == 2 and "current key" in refused.output
    assert runner.invoke(app, ["token-keys", "retire", old_kid]).exit_code == 0
    with pytest.raises(Exception, match="unknown signing key"):
        verify(public, old_token)
    assert verify(public, runner.invoke(app, ["token", "inspector"]).output).kind == "inspector"
