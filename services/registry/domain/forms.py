"""The survey forms 附表1 (non-public economic organizations) and 附表2 (social organizations).

Pure parsing: a sheet arrives as a header row and data rows of cell values
(whatever a spreadsheet or CSV holds: text, numbers, booleans, blanks). Each
row becomes the raw facts ``validate_registration`` checks, or row-level errors
(row, column, reason in Chinese). Headers are matched after width
normalization, so “（）” and “()”, full-width digits and stray spaces all work.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .facts import FieldError, Vocabulary, validate_registration
from .uscc import normalize_uscc
from .vocabulary import FIELD_NAMES, LEVELS, OPERATION_STATUSES, PARTY_ORGANIZATIONS, SUBTYPES


@dataclass(frozen=True)
class Column:
    field: str
    headers: tuple[str, ...]  # the first is the template's own header
    required: bool = True


_COMMON_TAIL = (
    Column("district_code", ("所属区", "区", "所在区", "区（功能区）")),
    Column("address", ("地址", "注册地址", "经营地址", "办公地址"), required=False),
    Column("industry", ("行业", "所属行业")),
    Column("formal_members", ("正式党员数", "正式党员", "正式党员人数")),
    Column("probationary_members", ("预备党员数", "预备党员", "预备党员人数")),
    Column("party_organization", ("党组织情况", "党组织建立情况", "党组织")),
    Column("legal_representative", ("法定代表人", "法人代表"), required=False),
    Column("no_organization_reason", ("未建党组织原因", "未建立党组织原因"), required=False),
)

FORMS = {
    "form1": (
        Column("name", ("企业名称", "名称", "单位名称")),
        Column("uscc", ("统一社会信用代码", "社会信用代码")),
        Column("kind", ("类别",), required=False),
        Column("subtype", ("企业类型", "类型", "企业性质")),
        Column("street_code", ("所属街道（乡镇）/园区", "所属街道（乡镇）", "街道（乡镇）/园区", "街道（乡镇）", "所属街道", "街道")),
        Column("employees", ("职工人数", "职工总数", "从业人员数", "员工人数")),
        Column("above_scale", ("是否规模以上", "规模以上企业", "是否规上企业"), required=False),
        Column("operation_status", ("经营运行情况", "经营状况", "经营情况")),
        Column("person_in_charge", ("出资人（负责人）", "出资人（负责人）姓名", "出资人", "负责人")),
        Column("person_in_charge_is_member", ("出资人（负责人）是否党员", "负责人是否党员", "出资人是否党员"),
               required=False),
        *_COMMON_TAIL,
    ),
    "form2": (
        Column("name", ("社会组织名称", "名称", "单位名称")),
        Column("uscc", ("统一社会信用代码", "社会信用代码")),
        Column("subtype", ("社会组织类别", "社会组织类型", "类别", "类型")),
        Column("level", ("层级", "登记层级", "登记管理机关层级")),
        Column("supervising_department", ("业务主管单位",), required=False),
        Column("street_code", ("所属街道（乡镇）", "所属街道（乡镇）/园区", "街道（乡镇）", "所属街道", "街道")),
        Column("employees", ("从业人员数", "从业人员", "职工人数", "工作人员数")),
        Column("operation_status", ("运行情况", "经营运行情况", "运营情况")),
        Column("person_in_charge", ("负责人", "出资人（负责人）", "负责人姓名")),
        Column("person_in_charge_is_member", ("负责人是否党员", "出资人（负责人）是否党员"), required=False),
        Column("public_sector_staffed", ("是否以机关事业单位人员为主体", "以机关事业单位人员为主体",
                                         "是否机关事业单位人员为主"), required=False),
        *_COMMON_TAIL,
    ),
}
FORM_NAMES = {"form1": "附表1（非公有制经济组织调查摸底表）", "form2": "附表2（社会组织调查摸底表）"}
IGNORED_HEADERS = ("序号", "备注", "编号")

_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "是的"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×", "不是"}
_STATUS = {**{v: k for k, v in OPERATION_STATUSES.items()}, "正常": "operating", "正常运行": "operating",
           "经营": "operating", "运行": "operating", "停业": "suspended", "歇业": "suspended",
           "未经营": "dormant", "长期停业": "dormant", "未运行": "dormant"}
_ORG = {**{v: k for k, v in PARTY_ORGANIZATIONS.items()}, "无": "none", "没有": "none", "未建立": "none",
        "单独": "standalone", "单独建立": "standalone", "联合": "joint", "联合建立": "joint", "功能型党组织": "functional"}
_KINDS = {"非公有制经济组织": "non_public_enterprise", "非公企业": "non_public_enterprise",
          "农村新型经营主体": "rural_entity", "社会组织": "social_organization"}
_LEVEL = {**{v: k for k, v in LEVELS.items()}, "市": "city", "区": "district"}
_NONE_WORDS = {"无", "没有", "-", "—", "/", "暂无"}
_SPACES = re.compile(r"\s+")


def normalize_header(text: Any) -> str:
    """Width-folded, without spaces, line breaks or required-field stars."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    return _SPACES.sub("", folded).replace("*", "").replace("(", "（").replace(")", "）")


def fold(value: Any) -> str:
    """A cell as text: width-folded, trimmed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class HeaderMap:
    columns: dict[int, Column] = field(default_factory=dict)  # sheet column index -> column
    labels: dict[str, str] = field(default_factory=dict)  # field -> header as written in the file


def map_headers(form: str, header_row: Sequence[Any], row_number: int) -> tuple[HeaderMap, list[RowError]]:
    """Which column holds which field of 附表1/附表2; every missing required or unknown header is an error."""
    return match_headers(FORMS[form], FORM_NAMES[form], header_row, row_number)


def match_headers(columns: Sequence[Column], sheet_name: str, header_row: Sequence[Any], row_number: int,
                  ignored: Sequence[str] = IGNORED_HEADERS) -> tuple[HeaderMap, list[RowError]]:
    """Which column holds which field of a sheet; every missing required or unknown header is an error."""
    lookup = {normalize_header(alias): column for column in columns for alias in column.headers}
    skipped = {normalize_header(h) for h in ignored}
    found, errors = HeaderMap(), []
    for index, cell in enumerate(header_row):
        header = normalize_header(cell)
        if not header or header in skipped:
            continue
        column = lookup.get(header)
        if column is None:
            errors.append(RowError(row_number, str(cell).strip(), f"未知列“{str(cell).strip()}”，不是{sheet_name}的列"))
        elif column.field in found.labels:
            errors.append(RowError(row_number, str(cell).strip(), f"列“{str(cell).strip()}”与“{found.labels[column.field]}”重复"))
        else:
            found.columns[index] = column
            found.labels[column.field] = str(cell).strip()
    for column in columns:
        if column.required and column.field not in found.labels:
            errors.append(RowError(row_number, column.headers[0], f"缺少必需的列“{column.headers[0]}”"))
    return found, errors


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        text = fold(value).replace(",", "").removesuffix("人").removesuffix("名").strip()
        if re.fullmatch(r"\d+(\.0+)?", text):
            return int(float(text)) if "." in text else int(text)
        return text
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = fold(value).lower()
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return text


def _mapped(value: Any, table: Mapping[str, str], codes: Sequence[str]) -> Any:
    text = fold(value)
    return table.get(text, text if text in codes else text)


def row_facts(form: str, headers: HeaderMap, cells: Sequence[Any], vocabulary: Vocabulary,
              row_number: int) -> tuple[dict | None, list[RowError]]:
    """One data row as validated facts, or its errors (each naming the column as headed in the file)."""
    raw: dict[str, Any] = {}
    for index, column in headers.columns.items():
        value = cells[index] if index < len(cells) else None
        raw[column.field] = None if is_blank(value) else value
    errors: list[RowError] = []
    facts_in = _convert(form, raw, vocabulary, errors, headers, row_number)
    if errors:
        return None, errors
    facts, field_errors = validate_registration(facts_in, vocabulary)
    errors.extend(_row_error(headers, row_number, error) for error in field_errors)
    return (None, errors) if errors else (facts, [])


def _row_error(headers: HeaderMap, row_number: int, error: FieldError) -> RowError:
    label = headers.labels.get(error.field) or FIELD_NAMES.get(error.field, error.field)
    reason = error.message.split("：", 1)[1] if "：" in error.message else error.message
    return RowError(row_number, label, reason)


def _convert(form: str, raw: dict, vocabulary: Vocabulary, errors: list[RowError], headers: HeaderMap,
             row_number: int) -> dict:
    """Spreadsheet words and number formats to the command's codes (unknown words pass through to
    validation, which names the allowed values)."""
    out: dict[str, Any] = {}
    kind = "social_organization" if form == "form2" else _mapped(raw.get("kind") or "非公企业", _KINDS, list(_KINDS.values()))
    out["kind"] = kind
    subtypes = SUBTYPES.get(kind, {})
    if raw.get("subtype") is not None:
        out["subtype"] = _mapped(raw["subtype"], {v: k for k, v in subtypes.items()}, list(subtypes))
    uscc = raw.get("uscc")
    if isinstance(uscc, (int, float)) and not isinstance(uscc, bool):
        errors.append(RowError(row_number, headers.labels.get("uscc", "统一社会信用代码"),
                               f"单元格为数字格式（{uscc!r}），18位代码会丢失精度：请把该列设为文本后重填"))
    elif uscc is not None:
        out["uscc"] = normalize_uscc(str(uscc))
    for name in ("name", "address", "person_in_charge", "legal_representative", "no_organization_reason"):
        if raw.get(name) is not None:
            out[name] = str(raw[name]).strip()
    for name in ("employees", "formal_members", "probationary_members"):
        if raw.get(name) is not None:
            out[name] = _integer(raw[name])
    for name in ("above_scale", "person_in_charge_is_member", "public_sector_staffed"):
        if raw.get(name) is not None:
            out[name] = _boolean(raw[name])
    if raw.get("operation_status") is not None:
        out["operation_status"] = _mapped(raw["operation_status"], _STATUS, list(OPERATION_STATUSES))
    out["party_organization"] = (_mapped(raw["party_organization"], _ORG, list(PARTY_ORGANIZATIONS))
                                 if raw.get("party_organization") is not None else None)
    if raw.get("industry") is not None:
        industries = {item.name: code for code, item in vocabulary.industries.items()}
        industries.update({"互联网": "internet", "文化创意": "cultural_creative"})
        out["industry"] = _mapped(raw["industry"], industries, list(vocabulary.industries))
    if form == "form2":
        if raw.get("level") is not None:
            out["level"] = _mapped(raw["level"], _LEVEL, list(LEVELS))
        supervisor = raw.get("supervising_department")
        if supervisor is not None and fold(supervisor) not in _NONE_WORDS:
            names = {name: code for code, name in vocabulary.departments.supervising_departments.items()}
            out["supervising_department"] = _mapped(supervisor, names, list(names.values()))
    _place(raw, out, vocabulary, errors, headers, row_number)
    return out


def _code_text(value: Any) -> str | None:
    """A division code or name; codes typed into numeric cells arrive as numbers."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fold(value)


def _place(raw: dict, out: dict, vocabulary: Vocabulary, errors: list[RowError], headers: HeaderMap,
           row_number: int) -> None:
    """District and street by name or code (street names repeat across districts, so the district first)."""
    territory = vocabulary.territory
    district_text, street_text = _code_text(raw.get("district_code")), _code_text(raw.get("street_code"))
    district = territory.district_by_name(district_text) if district_text else None
    if district_text and district is None:
        errors.append(RowError(row_number, headers.labels.get("district_code", "所属区"),
                               f"“{district_text}”不是{territory.name}的区或功能区"))
        return
    if street_text is None:
        return  # validation reports the missing street
    if district is None:
        out["street_code"] = street_text
        return
    street = territory.street_by_name(district.code, street_text)
    if street is None:
        errors.append(RowError(row_number, headers.labels.get("street_code", "所属街道（乡镇）"),
                               f"“{street_text}”不是{district.name}的街道（乡镇）或开发区（园区）"))
        return
    out["street_code"], out["district_code"] = street.code, district.code


def differences(facts: Mapping[str, Any], registered: Mapping[str, Any], stated: Iterable[str]) -> list[str]:
    """The fields a row states (its file's columns, and the kind and district every row implies) whose value
    differs from the registered entity's: none means the row is the registry's own data, unchanged."""
    implied = ("kind", "district_code")
    return [name for name in dict.fromkeys([*implied, *stated]) if facts.get(name) != registered.get(name)]


def duplicate_codes(rows: Sequence[tuple[int, dict]], label: str) -> list[RowError]:
    """A code may appear once per file: later rows naming an earlier row's code are errors."""
    first: dict[str, int] = {}
    errors = []
    for row_number, facts in rows:
        code = facts["uscc"]
        if code in first:
            errors.append(RowError(row_number, label, f"统一社会信用代码{code}与第{first[code]}行重复"))
        else:
            first[code] = row_number
    return errors
