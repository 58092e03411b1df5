"""Building 附表1 spreadsheets for tests and the benchmark (not a test module)."""

import csv
import io
import random
import uuid

from openpyxl import Workbook

from registry.domain.uscc import ALPHABET, check_character

FORM1_HEADERS = ["序号", "企业名称", "统一社会信用代码", "企业类型", "所属区", "所属街道（乡镇）/园区", "地址", "行业", "职工人数",
                 "是否规模以上", "经营运行情况", "正式党员数", "预备党员数", "党组织情况", "出资人（负责人）",
                 "出资人（负责人）是否党员", "法定代表人", "未建党组织原因"]
STREETS = [("江岸区", "大智街道"), ("洪山区", "珞南街道"), ("东湖新技术开发区", "关东街道"), ("东湖新技术开发区", "光谷生物城"),
           ("黄陂区", "前川街道"), ("武昌区", "水果湖街道")]


def uscc(rng: random.Random) -> str:
    body = "91420100" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def form1_rows(n: int, seed: int | None = None, streets=STREETS) -> list[list]:
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    rows = []
    for i in range(n):
        district, street = streets[i % len(streets)]
        members = rng.randint(0, 6)
        rows.append([i + 1, f"武汉{tag}第{i}号科技有限公司", uscc(rng), rng.choice(["私营企业", "外商投资企业"]), district, street,
                     f"{street}{tag}路{i}号", rng.choice(["制造业", "互联网和相关服务", "文化创意产业", "批发和零售业"]),
                     rng.randint(max(1, members), 800), rng.choice(["是", "否"]), "正常经营", members, rng.randint(0, 2),
                     "单独组建" if members >= 3 else "未建", f"负责人{i}", "否", f"法人{tag}{i}",
                     "" if members >= 3 else "党员不足3名"])
    return rows


def xlsx(rows: list[list], headers=FORM1_HEADERS, title: str | None = "附表1 非公有制经济组织调查摸底表",
         merge: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], headers=FORM1_HEADERS, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)
