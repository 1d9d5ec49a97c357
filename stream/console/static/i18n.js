// Texts of the console: zh-CN first (the operators' language), English on the toggle.
const TEXTS = {
  zh: {
    brand: "国库支付监控台", "nav.alerts": "告警", "nav.held": "待处理支付", "nav.chain": "资金链",
    "nav.treasury": "库款", "nav.payment": "支付查询", "token.placeholder": "访问令牌", "token.save": "登录",
    "token.clear": "退出", "token.needed": "请输入访问令牌(treasury demo 启动时打印)。",
    "token.bad": "令牌无效或已过期。", "forbidden": "当前角色无权执行此操作。", "failed": "请求失败",
    "alerts.title": "实时告警", "alerts.live": "实时", "alerts.offline": "连接中断,正在重连", "alerts.none": "没有符合条件的告警。",
    "alerts.more": "加载更多", "col.severity": "级别", "col.code": "代码", "col.subject": "对象", "col.message": "内容",
    "col.opened": "首次发生", "col.updated": "更新", "col.status": "状态", "col.actions": "操作",
    "filter.status": "状态", "filter.severity": "级别", "filter.code": "代码", "filter.treasury": "国库", "filter.all": "全部",
    "filter.apply": "筛选", "ack": "确认", "resolve": "解除",
    "status.open": "未处理", "status.acknowledged": "已确认", "status.resolved": "已解除",
    "severity.critical": "严重", "severity.warning": "警告", "severity.info": "提示",
    "held.title": "待处理(暂缓)支付", "held.none": "没有暂缓支付。", "release": "放行", "reject": "拒绝",
    "payment.title": "支付详情", "payment.id": "支付编号", "payment.look": "查询", "payment.outcome": "处理结果",
    "payment.reasons": "规则依据", "payment.clause": "政策条款", "payment.history": "决策历史", "payment.path": "资金路径",
    "payment.available": "决策后可用额度", "payment.decided": "决策时间", "payment.payee": "收款人",
    "outcome.accepted": "通过", "outcome.held": "暂缓", "outcome.rejected": "拒绝",
    "chain.title": "直达资金链", "chain.root": "资金链根(直达资金编码或指标)", "chain.show": "查看",
    "chain.amount": "下达金额", "chain.settled": "已支付到最终收款人", "chain.reconciles": "账实相符:每级分配等于下级指标之和,支出等于已清算支付",
    "chain.mismatch": "不相符", "chain.payments": "笔支付", "chain.allocated": "已分配", "chain.spent": "已支出(含下级)", "chain.spent.title": "本级及下级指标已清算支付之和占本级金额",
    "chain.nodes": "个指标", "chain.anomalies": "项异常",
    "treasury.title": "库款与预测", "treasury.pick": "选择国库", "treasury.balance": "库款余额", "treasury.band": "P10–P90 预测区间",
    "treasury.p50": "P50 预测", "treasury.floor": "库款底线", "treasury.coverage": "库款保障水平", "treasury.breach": "预计跌破底线日期",
    "treasury.nobreach": "预测期内未跌破底线", "treasury.asof": "预测日期", "treasury.none": "尚无库款数据。",
    "status.loading": "加载中…", "alert.runbook": "处置要点", "alert.history": "处理记录",
  },
  en: {
    brand: "Treasury payment monitor", "nav.alerts": "Alerts", "nav.held": "Held payments", "nav.chain": "Fund chain",
    "nav.treasury": "Treasury", "nav.payment": "Payment", "token.placeholder": "Access token", "token.save": "Sign in",
    "token.clear": "Sign out", "token.needed": "Enter an access token (printed when treasury demo starts).",
    "token.bad": "The token is not valid.", "forbidden": "Your role may not do this.", "failed": "Request failed",
    "alerts.title": "Live alerts", "alerts.live": "live", "alerts.offline": "disconnected, reconnecting", "alerts.none": "No alerts match.",
    "alerts.more": "Load more", "col.severity": "Severity", "col.code": "Code", "col.subject": "Subject", "col.message": "Message",
    "col.opened": "Opened", "col.updated": "Updated", "col.status": "Status", "col.actions": "Actions",
    "filter.status": "Status", "filter.severity": "Severity", "filter.code": "Code", "filter.treasury": "Treasury", "filter.all": "All",
    "filter.apply": "Filter", "ack": "Acknowledge", "resolve": "Resolve",
    "status.open": "open", "status.acknowledged": "acknowledged", "status.resolved": "resolved",
    "severity.critical": "critical", "severity.warning": "warning", "severity.info": "info",
    "held.title": "Held payments", "held.none": "No held payments.", "release": "Release", "reject": "Reject",
    "payment.title": "Payment", "payment.id": "Payment id", "payment.look": "Look up", "payment.outcome": "Outcome",
    "payment.reasons": "Rule reasons", "payment.clause": "Policy clause", "payment.history": "Decision history", "payment.path": "Fund path",
    "payment.available": "Available after", "payment.decided": "Decided at", "payment.payee": "Payee",
    "outcome.accepted": "accepted", "outcome.held": "held", "outcome.rejected": "rejected",
    "chain.title": "Direct-fund chain", "chain.root": "Chain root (direct-fund code or indicator)", "chain.show": "Show",
    "chain.amount": "Amount issued", "chain.settled": "Settled to recipients", "chain.reconciles": "Reconciles: every allocation equals its children, every spending its settled payments",
    "chain.mismatch": "does not reconcile", "chain.payments": "payments", "chain.allocated": "allocated", "chain.spent": "spent below", "chain.spent.title": "settled payments of this indicator and every one allocated from it, as a share of its amount",
    "chain.nodes": "indicators", "chain.anomalies": "anomalies",
    "treasury.title": "Treasury cash and forecast", "treasury.pick": "Treasury", "treasury.balance": "Balance", "treasury.band": "P10–P90 band",
    "treasury.p50": "P50 forecast", "treasury.floor": "Floor", "treasury.coverage": "Coverage ratio", "treasury.breach": "Forecast breach date",
    "treasury.nobreach": "No breach within the horizon", "treasury.asof": "Forecast as of", "treasury.none": "No balance data yet.",
    "status.loading": "Loading…", "alert.runbook": "What to check", "alert.history": "History",
  },
};

let lang = localStorage.getItem("treasury.lang") === "en" ? "en" : "zh";

export function t(key) {
  return TEXTS[lang][key] ?? TEXTS.zh[key] ?? key;
}

export function currentLang() {
  return lang;
}

export function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  localStorage.setItem("treasury.lang", lang);
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  document.title = t("brand");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
