"""The survey forms 附表1/附表2 as CSV files, the way a district fills them in (registry import route)."""

import csv
import io
from collections.abc import Sequence

from .world import Entity

FORM1 = ("序号", "企业名称", "统一社会信用代码", "类别", "企业类型", "所属区", "所属街道（乡镇）/园区", "地址", "行业", "职工人数",
         "是否规模以上", "经营运行情况", "正式党员数", "预备党员数", "党组织情况", "出资人（负责人）", "出资人（负责人）是否党员",
         "法定代表人", "未建党组织原因")
FORM2 = ("序号", "社会组织名称", "统一社会信用代码", "社会组织类别", "层级", "业务主管单位", "所属区", "所属街道（乡镇）", "地址", "行业",
         "从业人员数", "运行情况", "正式党员数", "预备党员数", "党组织情况", "负责人", "负责人是否党员", "法定代表人", "未建党组织原因",
         "是否以机关事业单位人员为主体")
KIND_ZH = {"non_public_enterprise": "非公有制经济组织", "rural_entity": "农村新型经营主体"}
ORGANIZATION_ZH = {"none": "未建", "standalone": "单独组建", "joint": "联合组建", "functional": "功能型"}


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _row1(n: int, e: Entity) -> list:
    return [n, e.name, e.uscc, KIND_ZH[e.kind], e.subtype, e.district_code, e.street_code, e.address, e.industry,
            e.employees, _yes(e.above_scale), e.operation_status, e.formal_members, e.probationary_members,
            ORGANIZATION_ZH[e.party_organization], e.person_in_charge, _yes(e.person_in_charge_is_member),
            e.legal_representative, e.no_organization_reason or ""]


def _row2(n: int, e: Entity) -> list:
    return [n, e.name, e.uscc, e.subtype, "市级" if e.level == "city" else "区级", e.supervising_department or "无",
            e.district_code, e.street_code, e.address, e.industry, e.employees, e.operation_status, e.formal_members,
            e.probationary_members, ORGANIZATION_ZH[e.party_organization], e.person_in_charge,
            _yes(e.person_in_charge_is_member), e.legal_representative, e.no_organization_reason or "",
            "" if e.public_sector_staffed is None else _yes(e.public_sector_staffed)]


def form_csv(form: str, entities: Sequence[Entity]) -> bytes:
    """附表1 (form1) or 附表2 (form2) as UTF-8 CSV with a BOM and a title row, as Excel saves it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["附表1 非公有制经济组织调查摸底表" if form == "form1" else "附表2 社会组织调查摸底表"])
    writer.writerow(FORM1 if form == "form1" else FORM2)
    row = _row1 if form == "form1" else _row2
    for n, entity in enumerate(entities, start=1):
        writer.writerow(row(n, entity))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
