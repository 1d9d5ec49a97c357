"""Static tables of a realistic region: Inner Mongolia, its leagues/cities and some of their counties.

Division codes and names are the real ones (GB/T 2260); function and economic codes follow the
government revenue and expenditure classification (政府收支分类科目). No I/O, nothing random here.
"""

from dataclasses import dataclass
from typing import Final, Literal

PayeeClass = Literal["individual", "organization"]


@dataclass(frozen=True, slots=True)
class Division:
    """A treasury-holding administrative division (region, league/city, banner/county/district)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class City:
    """A league or prefecture-level city with the counties this demo models under it."""

    code: str
    name: str
    short: str
    counties: tuple[Division, ...]


@dataclass(frozen=True, slots=True)
class Department:
    """A line department present at every level; agency code = division code + `code`."""

    key: str
    code: str
    region_name: str
    local_name: str
    lines: tuple[tuple[str, str], ...]  # (function code, economic code) of its budget lines
    research: bool = False


@dataclass(frozen=True, slots=True)
class EconomicProfile:
    """How payments under an economic code look: to whom, how much (yuan), what for."""

    code: str
    name: str
    payee: PayeeClass
    low_yuan: int
    high_yuan: int
    industries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectFund:
    """A central direct-fund document (直达资金) and the budget line it is spent under."""

    name: str
    department: str
    function_code: str
    economic_code: str


REGION: Final = Division("150000", "内蒙古自治区")

CITIES: Final[tuple[City, ...]] = (
    City("150100", "呼和浩特市", "呼和浩特", (
        Division("150102", "新城区"), Division("150105", "赛罕区"), Division("150121", "土默特左旗"),
        Division("150125", "武川县"))),
    City("150200", "包头市", "包头", (
        Division("150203", "昆都仑区"), Division("150207", "九原区"), Division("150221", "土默特右旗"),
        Division("150223", "达尔罕茂明安联合旗"))),
    City("150300", "乌海市", "乌海", (
        Division("150302", "海勃湾区"), Division("150303", "海南区"), Division("150304", "乌达区"))),
    City("150400", "赤峰市", "赤峰", (
        Division("150402", "红山区"), Division("150404", "松山区"), Division("150425", "克什克腾旗"),
        Division("150429", "宁城县"))),
    City("150500", "通辽市", "通辽", (
        Division("150502", "科尔沁区"), Division("150523", "开鲁县"), Division("150525", "奈曼旗"))),
    City("150600", "鄂尔多斯市", "鄂尔多斯", (
        Division("150602", "东胜区"), Division("150603", "康巴什区"), Division("150622", "准格尔旗"),
        Division("150627", "伊金霍洛旗"))),
    City("150700", "呼伦贝尔市", "呼伦贝尔", (
        Division("150702", "海拉尔区"), Division("150781", "满洲里市"), Division("150783", "扎兰屯市"))),
    City("150800", "巴彦淖尔市", "巴彦淖尔", (
        Division("150802", "临河区"), Division("150821", "五原县"), Division("150826", "杭锦后旗"))),
    City("150900", "乌兰察布市", "乌兰察布", (
        Division("150902", "集宁区"), Division("150925", "凉城县"), Division("150981", "丰镇市"))),
    City("152200", "兴安盟", "兴安", (
        Division("152201", "乌兰浩特市"), Division("152202", "阿尔山市"), Division("152221", "科尔沁右翼前旗"))),
    City("152500", "锡林郭勒盟", "锡林郭勒", (
        Division("152501", "二连浩特市"), Division("152502", "锡林浩特市"), Division("152531", "多伦县"))),
    City("152900", "阿拉善盟", "阿拉善", (
        Division("152921", "阿拉善左旗"), Division("152922", "阿拉善右旗"), Division("152923", "额济纳旗"))),
)

FUNCTIONS: Final[dict[str, str]] = {
    "2010601": "财政事务-行政运行",
    "2050201": "学前教育",
    "2050202": "小学教育",
    "2050203": "初中教育",
    "2060101": "科学技术管理事务-行政运行",
    "2060203": "自然科学基金",
    "2060302": "社会公益研究",
    "2080501": "行政单位离退休",
    "2080701": "就业创业服务补贴",
    "2081902": "农村最低生活保障金支出",
    "2100302": "乡镇卫生院",
    "2100408": "基本公共卫生服务",
    "2110301": "大气",
    "2120501": "城乡社区环境卫生",
    "2130101": "农业农村-行政运行",
    "2130122": "农业生产发展",
    "2130305": "水利工程建设",
    "2140104": "公路建设",
    "2140106": "公路养护",
    "2210103": "棚户区改造",
}

ECONOMIC_PROFILES: Final[dict[str, EconomicProfile]] = {
    p.code: p
    for p in (
        EconomicProfile("30101", "基本工资", "individual", 3_500, 16_000),
        EconomicProfile("30102", "津贴补贴", "individual", 800, 9_000),
        EconomicProfile("30201", "办公费", "organization", 300, 60_000, ("商贸", "文化用品", "办公设备")),
        EconomicProfile("30205", "水费", "organization", 800, 50_000, ("水务", "供排水")),
        EconomicProfile("30206", "电费", "organization", 1_000, 120_000, ("供电", "电力")),
        EconomicProfile("30211", "差旅费", "individual", 500, 12_000),
        EconomicProfile("30213", "维修（护）费", "organization", 2_000, 150_000, ("物业服务", "工程维修")),
        EconomicProfile("30226", "劳务费", "individual", 800, 20_000),
        EconomicProfile("30227", "委托业务费", "organization", 10_000, 300_000, ("信息技术", "咨询服务", "检测")),
        EconomicProfile("30228", "工会经费", "organization", 5_000, 80_000, ("职工服务",)),
        EconomicProfile("30302", "退休费", "individual", 2_000, 9_000),
        EconomicProfile("30305", "生活补助", "individual", 300, 6_000),
        EconomicProfile("30308", "助学金", "individual", 500, 5_000),
        EconomicProfile("30399", "其他对个人和家庭的补助", "individual", 200, 5_000),
        EconomicProfile("31002", "办公设备购置", "organization", 3_000, 300_000, ("科技", "办公设备", "电子")),
        EconomicProfile("31003", "专用设备购置", "organization", 20_000, 480_000, ("医疗器械", "仪器设备", "环保科技")),
        EconomicProfile("31005", "基础设施建设", "organization", 50_000, 490_000, ("建筑工程", "路桥", "市政工程")),
        EconomicProfile("31204", "费用补贴", "organization", 10_000, 400_000, ("农牧业", "食品", "能源")),
    )
}

# Economic codes whose payees are persons but which the F004 rule does not allow for individuals.
NON_PERSONAL_ECONOMIC: Final = ("30201", "31002")

DEPARTMENTS: Final[tuple[Department, ...]] = (
    Department("finance", "101", "财政厅", "财政局",
               (("2010601", "30101"), ("2010601", "30201"), ("2010601", "30211"), ("2010601", "31002"))),
    Department("education", "201", "教育厅", "教育局",
               (("2050201", "30101"), ("2050201", "30201"), ("2050202", "30205"), ("2050203", "30206"),
                ("2050203", "31002"), ("2050202", "30308"))),
    Department("science", "202", "科学技术厅", "科学技术局",
               (("2060101", "30101"), ("2060101", "30201"), ("2060203", "30226"), ("2060302", "30227"),
                ("2060302", "31003")), research=True),
    Department("hrss", "301", "人力资源和社会保障厅", "人力资源和社会保障局",
               (("2080501", "30302"), ("2080501", "30201"), ("2080701", "30305"), ("2080701", "30226"))),
    Department("civil", "302", "民政厅", "民政局",
               (("2081902", "30305"), ("2081902", "30201"), ("2081902", "30102"))),
    Department("health", "303", "卫生健康委员会", "卫生健康委员会",
               (("2100302", "30101"), ("2100302", "30201"), ("2100408", "30227"), ("2100302", "31003"),
                ("2100302", "30228"))),
    Department("ecology", "401", "生态环境厅", "生态环境局",
               (("2110301", "30101"), ("2110301", "30201"), ("2110301", "30227"), ("2110301", "31003"))),
    Department("housing", "402", "住房和城乡建设厅", "住房和城乡建设局",
               (("2120501", "30101"), ("2120501", "30201"), ("2120501", "30213"), ("2210103", "31005"))),
    Department("agriculture", "403", "农牧厅", "农牧局",
               (("2130101", "30101"), ("2130101", "30201"), ("2130122", "31204"), ("2130122", "30399"))),
    Department("transport", "404", "交通运输厅", "交通运输局",
               (("2140104", "30101"), ("2140104", "30201"), ("2140106", "30213"), ("2140104", "31005"))),
    Department("water", "405", "水利厅", "水利局",
               (("2130305", "30101"), ("2130305", "30201"), ("2130305", "31005"), ("2130305", "30211"))),
)
DEPARTMENT: Final[dict[str, Department]] = {d.key: d for d in DEPARTMENTS}

# Project groups by economic-code prefix: 基本支出 (人员/公用) and 项目支出.
PROJECT_GROUPS: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("301", "303"), "人员经费"),
    (("302",), "日常公用经费"),
    (("310", "312"), "专项建设与补助"),
)

DIRECT_FUNDS: Final[tuple[DirectFund, ...]] = (
    DirectFund("困难群众救助补助资金", "civil", "2081902", "30305"),
    DirectFund("就业补助资金", "hrss", "2080701", "30305"),
    DirectFund("义务教育薄弱环节改善与能力提升补助资金", "education", "2050202", "31002"),
    DirectFund("基本公共卫生服务补助资金", "health", "2100408", "30227"),
    DirectFund("耕地地力保护补贴资金", "agriculture", "2130122", "30399"),
    DirectFund("车辆购置税收入补助地方资金", "transport", "2140104", "31005"),
    DirectFund("学前教育发展资金", "education", "2050201", "31002"),
    DirectFund("城镇保障性安居工程补助资金", "housing", "2210103", "31005"),
)

SURNAMES: Final = tuple(
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙史陶贺毛郝顾邵万武钱戴严孔常康乔"
)
GIVEN_NAMES: Final = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "玉兰", "文军", "晓东", "红梅",
    "建国", "丽娟", "国庆", "春燕", "宏伟", "淑芬", "志刚", "永红", "晓燕", "海涛", "鹏", "慧", "欣怡", "子涵",
)
MONGOLIAN_NAMES: Final = (
    "巴特尔", "乌日娜", "其其格", "额尔敦", "斯琴", "娜仁", "图雅", "苏和", "宝音", "阿拉坦", "朝鲁", "哈斯",
    "萨仁", "乌云", "敖登", "满都拉", "孟和", "吉日嘎拉", "乌兰", "那顺", "格日勒", "布和", "达来", "阿古拉",
)
COMPANY_WORDS: Final = (
    "蒙信", "鑫源", "北疆", "金桥", "恒泰", "华远", "瑞丰", "天骄", "祥和", "博远", "聚力", "宏达", "新峰",
    "草原", "阴山", "黄河", "塞北", "青城", "鹿城", "大漠", "银河", "万通", "锦程", "德润", "弘业", "众诚",
    "汇丰源", "兴安岭", "朔方", "蒙元", "绿野", "通达", "嘉禾", "泰和", "远景", "卓越", "兴盛", "安泰",
)
COMPANY_SUFFIXES: Final = ("有限公司", "有限责任公司", "股份有限公司")

# Bank branch codes (CNAPS-style 12 digits) and individual card BINs of banks in the region.
BANKS: Final[tuple[tuple[str, str], ...]] = (
    ("102191000013", "中国工商银行呼和浩特分行"),
    ("103191000016", "中国农业银行呼和浩特分行"),
    ("104191000015", "中国银行呼和浩特分行"),
    ("105191000012", "中国建设银行呼和浩特分行"),
    ("301191000019", "交通银行呼和浩特分行"),
    ("403191000014", "中国邮政储蓄银行呼和浩特分行"),
    ("313191000017", "内蒙古银行呼和浩特分行"),
    ("402191000018", "内蒙古农村信用社联合社"),
)
CARD_BINS: Final = ("622202", "622848", "621661", "621700", "621799", "622260", "621098", "623058")

BLOCK_REASONS: Final = (
    "账户涉嫌电信网络诈骗，公安机关通报",
    "收款单位列入失信被执行人名单",
    "账户已被司法冻结",
    "收款人身份信息与开户信息不符",
)
