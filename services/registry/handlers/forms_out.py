"""附表1/附表2 out: a ledger unit's current data in the import's layout, and the blank templates."""

from platform_core.auth import Principal
from registry.adapters import repository as repo
from registry.adapters.form_sheets import form_workbook
from registry.domain import forms_out, policy
from registry.domain.forms import FORM_NAMES
from registry.domain.ledger import parse_unit

from .context import RegistryContext


def export_ledger(ctx: RegistryContext, principal: Principal, code: str, form: str) -> tuple[str, bytes]:
    """(file name, XLSX) of the unit's ledger as it stands in the registry now. The persons are in clear
    where the caller may read them (policy.may_read_persons), blank elsewhere: the notes sheet counts them."""
    unit = parse_unit(code, ctx.territory, ctx.vocabulary.departments)
    policy.require_ledger_export(principal, unit)
    forms_out.form_of(unit, form)
    with ctx.connect() as conn:
        entities = repo.unit_entities(conn, unit)
    rows, withheld = [], 0
    for serial, entity in enumerate(entities, start=1):
        record = entity.pop("persons", None)
        opened = ctx.persons.open(record) if policy.may_read_persons(principal, entity) else None
        withheld += opened is None
        rows.append(forms_out.row(form, serial, entity, opened, ctx.vocabulary))
    about = [("台帐单位", f"{unit.name}（{unit.code}）"), ("两新组织数", len(rows)),
             ("个人信息未导出的行数", withheld),
             ("说明", "本表为登记系统中的现有数据；原样导入不会写入任何数据（已登记且资料相同的行计为“未变”），"
                      "个人信息已删除或本部门无权查看的行，其出资人（负责人）等列为空，不能原样导入")]
    content = form_workbook(form, f"{FORM_NAMES[form]}　{unit.name}", rows, forms_out.notes(form, ctx.vocabulary),
                            about)
    return f"{unit.code}-{form}.xlsx", content


def template(ctx: RegistryContext, form: str) -> tuple[str, bytes]:
    """(file name, XLSX) of the blank form: the title, the header row, and the notes sheet."""
    about = [("说明", f"每行填写一个组织，从第3行起；表头不可修改；填好后在“{FORM_NAMES[form]}”导入（POST /imports/{form}）")]
    return f"{form}-template.xlsx", form_workbook(form, FORM_NAMES[form], [], forms_out.notes(form, ctx.vocabulary),
                                                  about)
