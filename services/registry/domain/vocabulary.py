"""The registry's words: kinds, subtypes, statuses and their Chinese names (docs/rules.md, glossary)."""

KINDS = {
    "non_public_enterprise": "非公有制经济组织",
    "social_organization": "社会组织",
    "rural_entity": "农村新型经营主体",
}

SUBTYPES = {
    # Enterprise subtypes are about ownership; internet and cultural-creative are industries (R2).
    "non_public_enterprise": {
        "private": "私营企业", "foreign_invested": "外商投资企业", "hmt_invested": "港澳台投资企业",
        "joint_stock": "非公有控股股份制企业", "other": "其他非公企业",
    },
    "social_organization": {
        "social_group": "社会团体", "private_school": "民办学校", "private_hospital": "民办医院",
        "law_firm": "律师事务所", "accounting_firm": "会计师事务所", "tax_firm": "税务师事务所",
        "other": "其他社会组织",
    },
    "rural_entity": {
        "farmers_cooperative": "农民专业合作社", "family_farm": "家庭农场", "other": "其他农村新型经营主体",
    },
}

LEVELS = {"city": "市级", "district": "区级"}
OPERATION_STATUSES = {"operating": "正常经营", "suspended": "停业歇业", "dormant": "长期未经营"}
PARTY_ORGANIZATIONS = {"none": "未建", "standalone": "单独组建", "joint": "联合组建", "functional": "功能型"}
FLAGS = {"shell": "空壳企业", "zombie": "僵尸企业", "shadow": "影子企业"}
FIELD_NAMES = {
    "kind": "类别", "subtype": "类型", "uscc": "统一社会信用代码", "name": "名称", "district_code": "所属区",
    "street_code": "所属街道（乡镇）/园区", "level": "层级", "supervising_department": "业务主管单位",
    "industry": "行业", "employees": "职工（从业人员）人数", "above_scale": "是否规模以上",
    "formal_members": "正式党员数", "probationary_members": "预备党员数", "operation_status": "经营运行情况",
    "party_organization": "党组织情况", "person_in_charge": "出资人（负责人）",
    "person_in_charge_is_member": "出资人（负责人）是否党员", "legal_representative": "法定代表人",
    "address": "地址", "no_organization_reason": "未建党组织原因",
    "public_sector_staffed": "是否以机关事业单位人员为主体",
}
MAX_PEOPLE = 10_000_000
