"""Chinese names for entities, people and addresses, drawn from the campaign's one random source."""

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍红建文辉力斌宇浩凯鹏婷雪琳晨阳晶鑫波宁飞俊峰慧颖亮林志海欣怡雯博思源"
BRAND = "楚汉江城光谷东湖长江晴川黄鹤琴台汉阳知音龟山梅园南湖沙湖月湖金桥银湖天河华中鄂申博远鸿泰恒信瑞丰安盛永福嘉禾锦程宏图新元九州融创"
TRADES = {
    "agriculture": "农业科技", "manufacturing": "机械制造", "construction": "建筑工程", "wholesale_retail": "商贸",
    "transport_logistics": "物流", "hospitality": "餐饮管理", "internet": "网络科技", "software_it": "软件技术",
    "finance": "投资管理", "real_estate": "置业", "business_services": "企业管理咨询",
    "research_technology": "检测技术", "cultural_creative": "文化传媒", "other": "实业",
    "education": "教育咨询", "health_social_work": "健康管理", "legal_services": "法律咨询",
    "accounting_tax_services": "财务咨询", "social_services": "社会服务",
}
SOCIAL_SUFFIX = {"social_group": "协会", "private_school": "学校", "private_hospital": "医院", "law_firm": "律师事务所",
                 "accounting_firm": "会计师事务所", "tax_firm": "税务师事务所", "other": "服务中心"}
SOCIAL_TOPIC = "商会 行业 青年 志愿者 文化 体育 养老 科技 环保 书画 餐饮 物流 建材 汽车 医药 电子".split()
RURAL_SUFFIX = {"farmers_cooperative": "种植专业合作社", "family_farm": "家庭农场", "other": "生态农业园"}
ROADS = "解放大道 中山大道 建设大道 发展大道 武珞路 珞喻路 关山大道 光谷大道 和平大道 友谊大道 沿江大道 汉阳大道 江汉路 青年路 雄楚大道 民族大道".split()
REASONS = ("党员人数不足3名", "暂无党员", "党员组织关系不在本单位", "企业规模小、人员流动大", "出资人对党建工作认识不足")


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def brand(index: int) -> str:
    """A brand unique to the index (two characters of BRAND per base-n digit pair)."""
    n = len(BRAND)
    first, rest = divmod(index, n * n)
    word = BRAND[rest // n] + BRAND[rest % n]
    while first:
        first, digit = divmod(first - 1, n)
        word = BRAND[digit] + word
    return word


def enterprise_name(index: int, industry: str, city: str) -> str:
    return f"{city}{brand(index)}{TRADES.get(industry, '实业')}有限公司"


def social_name(index: int, subtype: str, city: str, district: str, level: str) -> str:
    place = city if level == "city" else district
    middle = SOCIAL_TOPIC[index % len(SOCIAL_TOPIC)] if subtype in ("social_group", "other") else ""
    return f"{place}{brand(index)}{middle}{SOCIAL_SUFFIX[subtype]}"


def rural_name(index: int, subtype: str, street: str) -> str:
    return f"{street}{brand(index)}{RURAL_SUFFIX[subtype]}"


def address(rng: random.Random, district: str, street: str) -> str:
    return f"{district}{street}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
