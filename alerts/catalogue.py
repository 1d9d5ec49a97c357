"""Every rule code of DESIGN §4: severity, zh-CN/English title and template, clause, runbook."""

from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["info", "warning", "critical"]

CLAUSE_LIFECYCLE = "II.(5) 项目全生命周期管理 / project full-lifecycle management"
CLAUSE_BUDGET = "II.(6) 预算完整性与约束 / budget completeness and constraint"
CLAUSE_EXPENDITURE = "II.(3) 支出管理（三保）/ expenditure management (three guarantees)"
CLAUSE_DEBT = "II.(8) 政府债务管理 / government debt management"
CLAUSE_PAYMENT = "II.(11) 国库集中支付 / treasury centralized payment"
CLAUSE_DIRECT = "II.(11) 直达资金常态化监控 / normalized monitoring of direct funds"
CLAUSE_CASH = "II.(11) 库款风险预警 / treasury-balance risk warning"
CLAUSE_DIGITAL = "II.(13) 预算管理一体化 / digital finance: accounts checkable and matching"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One code of the catalogue; templates take the rule's evidence as format fields."""

    code: str
    severity: Severity
    title_zh: str
    title_en: str
    template_zh: str
    template_en: str
    clause: str
    runbook: str


_SPECS: Final = (
    RuleSpec("V001", "warning", "报文格式错误", "Malformed input",
             "报文不符合接口规范：{error}", "input violates the wire contract: {error}",
             CLAUSE_PAYMENT, "Check the sending system's message against the contract; resend corrected."),
    RuleSpec("V002", "warning", "支付编号重复且内容不同", "Conflicting payment id",
             "支付编号 {payment_id} 已存在且内容不同，原决定保持不变",
             "payment id {payment_id} was already received with other content; the original decision stands",
             CLAUSE_PAYMENT, "Ask the agency which instruction is genuine; the first one stands."),
    RuleSpec("B001", "warning", "指标不存在", "Unknown indicator",
             "预算指标 {indicator_id} 不存在", "budget indicator {indicator_id} is unknown",
             CLAUSE_BUDGET, "Check the indicator was issued in the budget system and has reached the engine."),
    RuleSpec("B002", "warning", "指标已冻结或撤销", "Indicator frozen or cancelled",
             "预算指标 {indicator_id} 状态为 {status}，不可支付",
             "budget indicator {indicator_id} is {status} and cannot be paid from",
             CLAUSE_BUDGET, "Confirm the freeze or cancellation with the budget division."),
    RuleSpec("B003", "warning", "跨年度支付", "Fiscal year mismatch",
             "支付日期所属年度 {payment_year} 与指标年度 {fiscal_year} 不符",
             "payment date falls in {payment_year}, the indicator is for fiscal year {fiscal_year}",
             CLAUSE_BUDGET, "Carry-over funds need a carry-over indicator of the new year."),
    RuleSpec("B004", "warning", "单位与指标不符", "Agency mismatch",
             "支付单位 {agency_code} 与指标单位 {indicator_agency} 不符",
             "paying agency {agency_code} is not the indicator's agency {indicator_agency}",
             CLAUSE_BUDGET, "Check the agency code on the instruction."),
    RuleSpec("B005", "warning", "科目与指标不符", "Classification mismatch",
             "功能科目/经济科目 {function_code}/{economic_code} 与指标 {indicator_function}/{indicator_economic} 不符",
             "function/economic code {function_code}/{economic_code} differs from the indicator's {indicator_function}/{indicator_economic}",
             CLAUSE_BUDGET, "An adjustment of purpose needs a budget adjustment first."),
    RuleSpec("B006", "warning", "超指标支付", "Amount exceeds available budget",
             "支付金额 {amount} 超过指标可用额度 {available}",
             "amount {amount} exceeds the indicator's available {available}",
             CLAUSE_BUDGET, "Check reservations and settlements on the indicator; no spending beyond the approved budget."),
    RuleSpec("P001", "warning", "项目不在项目库", "Project not in library",
             "项目 {project_id} 不在项目库中", "project {project_id} is not in the project library",
             CLAUSE_LIFECYCLE, "Every expenditure must be a project in the library."),
    RuleSpec("P002", "warning", "项目不可执行", "Project not executable",
             "项目 {project_id} 状态为 {status}，仅已列入预算或执行中的项目可支付",
             "project {project_id} is {status}; only budgeted or executing projects may be paid",
             CLAUSE_LIFECYCLE, "Check the project's lifecycle status in the library."),
    RuleSpec("P003", "warning", "项目与指标不符", "Project mismatch",
             "支付项目 {project_id} 与指标项目 {indicator_project} 不符",
             "project {project_id} is not the indicator's project {indicator_project}",
             CLAUSE_LIFECYCLE, "Check the project on the instruction."),
    RuleSpec("C001", "warning", "结转资金改变用途", "Carry-over funds used for another purpose",
             "结转指标经济科目 {indicator_economic} 不得改用 {economic_code}",
             "carry-over indicator with economic code {indicator_economic} may not pay under {economic_code}",
             CLAUSE_BUDGET, "Carried-over funds keep their original use; research projects excepted."),
    RuleSpec("A001", "warning", "暂付款无审批", "Advance without approval",
             "暂付款缺少审批文号", "temporary advance without an approval document",
             CLAUSE_PAYMENT, "Temporary advances need an approval document number."),
    RuleSpec("D001", "critical", "直达资金违规拨付", "Direct funds to a forbidden account",
             "直达资金不得拨付至{payee_kind_zh}", "direct funds may not be paid to a {payee_kind}",
             CLAUSE_DIRECT, "Direct funds must reach the using unit directly; contact the agency at once."),
    RuleSpec("F001", "warning", "疑似拆分支付", "Suspected split payments",
             "{window_hours} 小时内同一收款账户 {count} 笔支付合计 {total}，超过单笔审核限额 {threshold}",
             "{count} payments to the same account within {window_hours} h total {total}, above the review threshold {threshold}",
             CLAUSE_PAYMENT, "Review the payments together; release if they are genuinely separate."),
    RuleSpec("F002", "warning", "疑似重复支付", "Suspected duplicate payment",
             "{window_days} 日内已有相同收款账户、金额和经济科目的支付 {earlier_payment_id}",
             "payment {earlier_payment_id} within {window_days} days had the same payee account, amount and economic code",
             CLAUSE_PAYMENT, "Compare with the earlier payment; reject if it is a duplicate."),
    RuleSpec("F003", "critical", "收款账户已列入黑名单", "Blocked payee account",
             "收款账户已列入黑名单：{reason}", "payee account is on the blocklist: {reason}",
             CLAUSE_PAYMENT, "Do not pay; confirm the block with the supervision office."),
    RuleSpec("F004", "warning", "对个人支付科目不符", "Payment to an individual under a non-personal code",
             "经济科目 {economic_code} 不属于对个人支出", "economic code {economic_code} is not for payments to persons",
             CLAUSE_PAYMENT, "Check the payee and the economic code; release if justified."),
    RuleSpec("S001", "warning", "三保支出保障", "Three-guarantees protection",
             "支付后库款将低于未来 {horizon_days} 日三保支出 {sanbao_due}",
             "after this payment the treasury would fall below the {horizon_days}-day 三保 outflows {sanbao_due}",
             CLAUSE_EXPENDITURE, "Held until cash allows; release earlier only with the treasury director's approval."),
    RuleSpec("T001", "warning", "直达资金未及时分配", "Direct funds not allocated in time",
             "直达资金指标 {indicator_id} 下达 {days} 日未分配或支付",
             "direct-fund indicator {indicator_id} neither allocated nor paid {days} days after issue",
             CLAUSE_DIRECT, "Ask the receiving level why the funds have not moved."),
    RuleSpec("T002", "critical", "超额分配", "Over-allocation",
             "指标 {indicator_id} 分配 {requested} 超过可分配额度 {available}，已拒绝",
             "allocation of {requested} from indicator {indicator_id} exceeds its available {available}; refused",
             CLAUSE_BUDGET, "Check the allocation documents against the parent indicator."),
    RuleSpec("T003", "warning", "资金沉淀", "Stagnant funds",
             "直达资金指标 {indicator_id} 下达 {days} 日仅支出 {spent_percent}%",
             "direct-fund indicator {indicator_id} only {spent_percent}% spent {days} days after issue",
             CLAUSE_DIRECT, "Find out why the funds are not being used."),
    RuleSpec("T004", "critical", "直达资金被挪用", "Direct funds diverted",
             "直达资金支付 {payment_id} 流向{payee_kind_zh}", "direct-fund payment {payment_id} went to a {payee_kind}",
             CLAUSE_DIRECT, "Escalate to supervision; direct funds must not be diverted."),
    RuleSpec("T005", "warning", "对账异常", "Reconciliation mismatch",
             "支付 {payment_id} 对账异常：{problem_zh}", "payment {payment_id} does not reconcile: {problem}",
             CLAUSE_DIGITAL, "Reconcile with the agent bank's receipts."),
    RuleSpec("R001", "critical", "库款低于底线", "Treasury balance below the floor",
             "库款余额 {balance} 低于底线 {floor}", "balance {balance} is below the floor {floor}",
             CLAUSE_CASH, "Arrange funds (transfers, tax collection) and slow non-三保 payments."),
    RuleSpec("R002", "warning", "预测库款将低于底线", "Forecast below the floor",
             "预测 {date} 库款 {value} 低于底线 {floor}", "forecast {value} on {date} is below the floor {floor}",
             CLAUSE_CASH, "Plan funding before the named date."),
    RuleSpec("R003", "warning", "库款保障水平偏低", "Coverage ratio low",
             "库款保障水平 {coverage_ratio} 低于 {threshold}", "coverage ratio {coverage_ratio} below {threshold}",
             CLAUSE_CASH, "Raise the balance towards at least 0.3 months of outflow."),
    RuleSpec("R004", "info", "库款闲置", "Idle cash",
             "库款保障水平 {coverage_ratio} 高于 {threshold}", "coverage ratio {coverage_ratio} above {threshold}: idle cash",
             CLAUSE_CASH, "Consider speeding up payments or transfers down."),
    RuleSpec("R005", "critical", "三保支出保障不足", "Three guarantees not covered",
             "预测库款 {value} 低于未来 {horizon_days} 日三保支出 {sanbao_due}",
             "forecast balance {value} is below the next {horizon_days} days' 三保 outflows {sanbao_due}",
             CLAUSE_EXPENDITURE, "Protect wages, livelihood and operations first; hold other payments."),
    RuleSpec("R006", "critical", "偿债资金不足", "Debt service not covered",
             "{date} 预测库款 {value} 不足偿还到期债务 {debt_service}",
             "forecast balance {value} on {date} does not cover debt service {debt_service}",
             CLAUSE_DEBT, "Secure the debt-service funds before the due date."),
    RuleSpec("R007", "warning", "单日支出异常", "Outflow spike",
             "{date} 支出 {outflow} 超过近 {window_days} 日均值加 {sigmas} 倍标准差",
             "outflow {outflow} on {date} exceeds the {window_days}-day mean + {sigmas} standard deviations",
             CLAUSE_CASH, "Check the day's large payments."),
)

CATALOGUE: Final[dict[str, RuleSpec]] = {spec.code: spec for spec in _SPECS}
# Reasons are listed in catalogue order, whatever order the rules ran in.
CATALOGUE_ORDER: Final[dict[str, int]] = {spec.code: n for n, spec in enumerate(_SPECS)}

PAYEE_KIND_ZH: Final = {
    "organization": "单位",
    "individual": "个人",
    "agency": "预算单位",
    "own_account": "本单位账户",
    "fiscal_special_account": "财政专户",
    "platform_company": "融资平台公司",
}


def spec(code: str) -> RuleSpec:
    """The catalogue entry of a code; an unknown code is a programming error."""
    return CATALOGUE[code]
