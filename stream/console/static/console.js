// The operator console: hash routes over the /api, DOM built with textContent only (no HTML from data).
import { ApiError, fen, getJson, percent, post, setToken, streamEvents, token, yuan } from "./api.js";
import { bandChart } from "./chart.js";
import { currentLang, setLang, t } from "./i18n.js";

const view = document.getElementById("view");
let leaving = () => {};

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function notice(text, error = false) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = error ? "error" : "";
  box.hidden = !text;
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) notice(token() ? t("token.bad") : t("token.needed"), true);
  else if (error instanceof ApiError && error.status === 403) notice(t("forbidden"), true);
  else notice(`${t("failed")}: ${error.message}`, true);
}

// Event times in the treasury's own clock (Beijing), whatever offset the API wrote them with.
const BEIJING = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
const time = (iso) => (iso ? BEIJING.format(new Date(iso)) : "");
const msg = (m) => (m && typeof m === "object" ? (currentLang() === "en" ? m.en : m.zh) : m);
const sevBadge = (s) => h("span", { class: `sev sev-${s}` }, t(`severity.${s}`));

// ---------- alert board ----------
const board = { alerts: new Map(), cursor: null, filters: { status: "open", severity: "", code: "", treasury: "" } };

function matches(alert) {
  const f = board.filters;
  if (f.status && f.status !== "all" && alert.status !== f.status) return false;
  if (f.severity && alert.severity !== f.severity) return false;
  if (f.code && alert.code !== f.code.toUpperCase()) return false;
  if (f.treasury && !(alert.subject?.kind === "treasury" && alert.subject.id === f.treasury)) return false;
  return true;
}

function query(extra = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...board.filters, ...extra })) if (v && v !== "all") params.set(k, v);
  return params.toString();
}

function subjectLink(subject) {
  if (!subject) return "";
  const target = { payment: "payment", treasury: "treasury" }[subject.kind];
  return target ? h("a", { href: `#/${target}/${encodeURIComponent(subject.id)}` }, `${subject.kind} ${subject.id}`) : `${subject.kind} ${subject.id}`;
}

function alertRow(alert, fresh) {
  const act = (name, label) => h("button", { class: "act", "data-action": name, onclick: () => alertAction(alert.alert_id, name) }, t(label));
  return h("tr", { class: `sev-row-${alert.severity}${fresh ? " fresh" : ""}${alert.status === "resolved" ? " status-resolved" : ""}`, "data-alert-id": alert.alert_id, "data-status": alert.status },
    h("td", {}, sevBadge(alert.severity)), h("td", {}, h("a", { href: "#", class: "code", onclick: (e) => { e.preventDefault(); showAlert(alert.alert_id); } }, alert.code)),
    h("td", {}, subjectLink(alert.subject)),
    h("td", {}, msg(alert.message)), h("td", {}, time(alert.opened_at)), h("td", {}, time(alert.updated_at)),
    h("td", { class: "status" }, t(`status.${alert.status}`)),
    h("td", {}, alert.status === "open" ? act("ack", "ack") : null, alert.status !== "resolved" ? act("resolve", "resolve") : null));
}

function renderRows(freshId = null) {
  const body = document.getElementById("alert-rows");
  if (!body) return;
  const rows = [...board.alerts.values()].filter(matches).sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
  body.replaceChildren(...rows.map((a) => alertRow(a, a.alert_id === freshId)));
  document.getElementById("alert-empty").hidden = rows.length > 0;
}

// One alert in full: its evidence, the rule (title, clause, what to check) and who did what when.
async function showAlert(id) {
  const box = document.getElementById("alert-detail");
  try {
    const { alert, history, rule } = await getJson(`/api/alerts/${encodeURIComponent(id)}`);
    const en = currentLang() === "en";
    box.replaceChildren(
      h("h3", {}, sevBadge(alert.severity), ` ${alert.code} · ${rule ? (en ? rule.title_en : rule.title_zh) : ""}`),
      h("p", {}, msg(alert.message)),
      rule ? h("p", {}, h("b", {}, `${t("payment.clause")}: `), rule.clause) : null,
      rule ? h("p", { "data-testid": "runbook" }, h("b", {}, `${t("alert.runbook")}: `), rule.runbook) : null,
      h("table", {}, h("tbody", {}, ...Object.entries(alert.evidence || {}).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v)))))),
      h("h4", {}, t("alert.history")),
      h("ul", { "data-testid": "alert-history" }, ...history.map((x) => h("li", {}, `${time(x.at)} ${t(`status.${x.status}`)} · ${x.action ?? ""} · ${x.actor ?? ""}`))),
      h("button", { onclick: () => { box.hidden = true; } }, "×"));
    box.hidden = false;
  } catch (error) { failed(error); }
}

async function alertAction(id, name) {
  try {
    const updated = await post(`/api/alerts/${encodeURIComponent(id)}/${name}`);
    const alert = updated && updated.alert_id ? updated : updated?.alert;
    if (alert) board.alerts.set(alert.alert_id, alert);
    else board.alerts.set(id, { ...board.alerts.get(id), status: name === "ack" ? "acknowledged" : "resolved" });
    notice("");
    renderRows();
  } catch (error) { failed(error); }
}

const listOf = (body, key) => (Array.isArray(body) ? body : body?.[key] ?? body?.items ?? []);

async function loadAlerts(more = false) {
  const body = await getJson(`/api/alerts?${query({ limit: "100", cursor: more ? board.cursor : "" })}`);
  if (!more) board.alerts.clear();
  for (const alert of listOf(body, "alerts")) board.alerts.set(alert.alert_id, alert);
  board.cursor = body?.next_cursor ?? body?.cursor ?? null;
  document.getElementById("more").hidden = !board.cursor;
  renderRows();
}

function filterForm() {
  const f = board.filters;
  const select = (name, values) => h("select", { name }, ...values.map((v) => h("option", { value: v, selected: f[name] === v }, v === "" || v === "all" ? t("filter.all") : t(`${name}.${v}`))));
  return h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    for (const k of Object.keys(f)) f[k] = String(data.get(k) || "").trim();
    loadAlerts().catch(failed);
  } },
  t("filter.status"), select("status", ["open", "acknowledged", "resolved", "all"]),
  t("filter.severity"), select("severity", ["", "critical", "warning", "info"]),
  t("filter.code"), h("input", { name: "code", size: 6, value: f.code }),
  t("filter.treasury"), h("input", { name: "treasury", size: 8, value: f.treasury }),
  h("button", { type: "submit" }, t("filter.apply")));
}

function alertsView() {
  const live = h("span", { class: "live off", id: "live" }, t("alerts.offline"));
  view.replaceChildren(h("h2", {}, t("alerts.title"), " ", live), filterForm(),
    h("div", { id: "alert-detail", class: "card", hidden: true, "data-testid": "alert-detail" }),
    h("table", { "data-testid": "alert-board" }, h("thead", {}, h("tr", {}, ...["severity", "code", "subject", "message", "opened", "updated", "status", "actions"].map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", { id: "alert-rows" })),
    h("p", { id: "alert-empty", class: "muted", hidden: true }, t("alerts.none")),
    h("button", { id: "more", hidden: true, onclick: () => loadAlerts(true).catch(failed) }, t("alerts.more")));
  loadAlerts().catch(failed);
  const stop = new AbortController();
  const connect = async () => {
    while (!stop.signal.aborted) {
      try {
        live.className = "live on"; live.textContent = t("alerts.live");
        await streamEvents("/api/alerts/stream", (name, data) => {
          if (name !== "alert") return;
          const alert = JSON.parse(data);
          board.alerts.set(alert.alert_id, alert);
          renderRows(alert.alert_id);
        }, stop.signal);
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) { failed(error); }
      }
      live.className = "live off"; live.textContent = t("alerts.offline");
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  connect();
  return () => stop.abort();
}

// ---------- held payments ----------
async function paymentAction(id, name, after) {
  try { await post(`/api/payments/${encodeURIComponent(id)}/${name}`); notice(""); after(); } catch (error) { failed(error); }
}

async function heldView() {
  view.replaceChildren(h("h2", {}, t("held.title")), h("p", { class: "muted" }, t("status.loading")));
  const body = await getJson("/api/held");
  const rows = listOf(body, "held");
  const reasons = (p) => (p.reasons || p.decision?.reasons || []).map((r) => r.code).join(" ");
  view.replaceChildren(h("h2", {}, t("held.title")), rows.length ? h("table", { "data-testid": "held-queue" },
    h("thead", {}, h("tr", {}, h("th", {}, t("payment.id")), h("th", { class: "num" }, "¥"), h("th", {}, t("col.code")), h("th", {}, t("payment.payee")), h("th", {}, t("payment.decided")), h("th", {}, t("col.actions")))),
    h("tbody", {}, ...rows.map((p) => h("tr", { "data-payment-id": p.payment_id },
      h("td", {}, h("a", { href: `#/payment/${encodeURIComponent(p.payment_id)}` }, p.payment_id)),
      h("td", { class: "num" }, p.amount ? yuan(fen(p.amount)) : ""), h("td", {}, reasons(p)),
      h("td", {}, [p.payee_name ?? p.payee?.name, p.payee_account ?? p.payee?.account].filter(Boolean).join(" ")),
      h("td", {}, time(p.decided_at ?? p.decision?.decided_at)),
      h("td", {}, h("button", { class: "act", onclick: () => paymentAction(p.payment_id, "release", heldView) }, t("release")),
        h("button", { class: "act", onclick: () => paymentAction(p.payment_id, "reject", heldView) }, t("reject")))))))
    : h("p", { class: "muted" }, t("held.none")));
}

// ---------- payment detail ----------
function lookup(label, placeholder, route, value) {
  return h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/${route}/${encodeURIComponent(new FormData(e.target).get("id").trim())}`; } },
    label, h("input", { name: "id", size: 28, value: value || "", placeholder }), h("button", { type: "submit" }, t("payment.look")));
}

function reasonsTable(reasons) {
  return h("table", { "data-testid": "reasons" }, h("thead", {}, h("tr", {}, h("th", {}, t("col.code")), h("th", {}, t("col.message")), h("th", {}, t("payment.clause")))),
    h("tbody", {}, ...reasons.map((r) => h("tr", {}, h("td", {}, r.code), h("td", {}, currentLang() === "en" ? r.message_en || r.message : r.message), h("td", {}, r.clause || "")))));
}

async function paymentView(id) {
  view.replaceChildren(h("h2", {}, t("payment.title")), lookup(t("payment.id"), "ZF2022…", "payment", id));
  if (!id) return;
  const p = await getJson(`/api/payments/${encodeURIComponent(id)}`);
  const d = p.decision;
  const card = h("div", { class: "card", "data-testid": "payment-detail" });
  if (d) {
    card.append(h("p", {}, `${t("payment.outcome")}: `, h("span", { class: `outcome outcome-${d.outcome}`, "data-testid": "outcome" }, t(`outcome.${d.outcome}`)),
      ` · ${t("payment.decided")} ${time(d.decided_at)} · ${t("payment.available")} ${d.available_after ?? "–"}`));
    if (d.reasons.length) card.append(h("h3", {}, t("payment.reasons")), reasonsTable(d.reasons));
    if (d.outcome === "held") {
      card.append(h("p", {}, h("button", { class: "act", onclick: () => paymentAction(id, "release", () => paymentView(id)) }, t("release")),
        h("button", { class: "act", onclick: () => paymentAction(id, "reject", () => paymentView(id)) }, t("reject"))));
    }
  }
  if (p.chain) {
    const paid = p.chain.payment;
    card.append(h("p", {}, `${t("payment.payee")}: ${paid.payee_name} ${paid.payee_account} (${paid.payee_kind}) · ¥${paid.amount} · ${paid.status}`),
      h("h3", {}, t("payment.path")), h("p", {}, h("a", { href: `#/chain/${encodeURIComponent(p.chain.root)}` }, p.chain.root), " ← ",
        p.chain.path.map((n) => `${n.indicator_id} (${n.treasury_code})`).join(" ← ")));
  }
  if (p.history?.length > 1) {
    card.append(h("h3", {}, t("payment.history")), h("ul", {}, ...p.history.map((x) => h("li", {}, `${time(x.decided_at)} ${t(`outcome.${x.outcome}`)} ${x.reasons.map((r) => r.code).join(" ")}`))));
  }
  view.append(card);
}

// ---------- fund chain ----------
async function openAnomalies() {
  const found = new Map();
  for (const status of ["open", "acknowledged"]) {
    try {
      const body = await getJson(`/api/alerts?status=${status}&limit=500`);
      for (const a of listOf(body, "alerts")) {
        if (!found.has(a.subject?.id)) found.set(a.subject?.id, []);
        found.get(a.subject.id).push(a.code);
      }
    } catch { /* the alert list is optional here: the tree still renders */ }
  }
  return found;
}

function chainTree(chain, anomalies) {
  const kids = new Map(), pays = new Map(), ids = new Set(chain.nodes.map((n) => n.indicator_id));
  for (const n of chain.nodes) if (n.parent_indicator_id && ids.has(n.parent_indicator_id)) (kids.get(n.parent_indicator_id) ?? kids.set(n.parent_indicator_id, []).get(n.parent_indicator_id)).push(n);
  for (const p of chain.payments) (pays.get(p.indicator_id) ?? pays.set(p.indicator_id, []).get(p.indicator_id)).push(p);
  let mismatches = 0, marks = 0;
  const item = (n) => {
    const children = kids.get(n.indicator_id) ?? [], payments = pays.get(n.indicator_id) ?? [];
    const childSum = children.reduce((s, c) => s + fen(c.amount), 0n);
    const settled = payments.filter((p) => p.status === "settled").reduce((s, p) => s + fen(p.amount), 0n);
    const ok = childSum === fen(n.allocated) && settled === fen(n.spent);
    if (!ok) mismatches++;
    const codes = anomalies.get(n.indicator_id) ?? [];
    marks += codes.length;
    const payRows = payments.map((p) => {
      const pc = anomalies.get(p.payment_id) ?? [];
      marks += pc.length;
      return h("li", { "data-payment-id": p.payment_id }, pc.length ? h("span", { class: "mark" }, `⚠ ${pc.join(" ")} `) : null,
        h("a", { href: `#/payment/${encodeURIComponent(p.payment_id)}` }, p.payment_id), ` → ${p.payee_name} ${p.payee_account} (${p.payee_kind}) ¥${yuan(fen(p.amount))} ${p.status}`);
    });
    return h("li", {}, h("span", { class: `node${codes.length ? " anomaly" : ""}`, "data-indicator-id": n.indicator_id },
      h("b", {}, n.indicator_id), h("span", {}, `${n.treasury_code}/${n.agency_code}`), h("span", { class: "num" }, `¥${yuan(fen(n.amount))}`),
      h("span", {}, `${t("chain.allocated")} ${percent(fen(n.allocated), fen(n.amount))}`), h("span", {}, `${t("chain.spent")} ${percent(fen(n.spent), fen(n.amount))}`),
      h("span", { class: ok ? "ok" : "bad" }, ok ? "✓" : `✗ ${t("chain.mismatch")}`), codes.length ? h("span", { class: "mark" }, `⚠ ${codes.join(" ")}`) : null),
      payments.length ? h("details", { class: "payments" }, h("summary", {}, `${payments.length} ${t("chain.payments")}`), h("ul", {}, ...payRows)) : null,
      children.length ? h("ul", {}, ...children.map(item)) : null);
  };
  const tops = chain.nodes.filter((n) => !n.parent_indicator_id || !ids.has(n.parent_indicator_id));
  const tree = h("ul", { class: "tree", "data-testid": "chain-tree" }, ...tops.map(item));
  return { tree, mismatches, marks, tops };
}

async function chainView(root) {
  view.replaceChildren(h("h2", {}, t("chain.title")), lookup(t("chain.root"), "ZD2022-0001", "chain", root));
  if (!root) return;
  const [chain, anomalies] = await Promise.all([getJson(`/api/chains/${encodeURIComponent(root)}`), openAnomalies()]);
  const { tree, mismatches, marks, tops } = chainTree(chain, anomalies);
  const amount = tops.reduce((s, n) => s + fen(n.amount), 0n);
  const settled = chain.payments.filter((p) => p.status === "settled").reduce((s, p) => s + fen(p.amount), 0n);
  view.append(h("div", { class: "card", "data-testid": "chain-summary", "data-amount": yuan(amount), "data-settled": yuan(settled), "data-reconciles": String(mismatches === 0) },
    h("p", {}, h("b", {}, chain.root), ` · ${chain.nodes.length} ${t("chain.nodes")} · ${chain.payments.length} ${t("chain.payments")} · ${marks} ${t("chain.anomalies")}`),
    h("p", {}, `${t("chain.amount")} ¥`, h("span", { "data-testid": "chain-amount" }, yuan(amount)), ` · ${t("chain.settled")} ¥`,
      h("span", { "data-testid": "chain-settled" }, yuan(settled)), ` (${percent(settled, amount)})`),
    h("p", { class: mismatches ? "bad" : "ok", "data-testid": "chain-reconciles" }, mismatches ? `✗ ${mismatches} ${t("chain.mismatch")}` : `✓ ${t("chain.reconciles")}`)), tree);
}

// ---------- treasury ----------
async function treasuryView(code) {
  const list = await getJson("/api/treasuries").catch(() => ({ treasuries: [] }));
  const codes = list.treasuries.map((x) => x.treasury_code);
  const pick = h("select", { onchange: (e) => { location.hash = `#/treasury/${e.target.value}`; } },
    h("option", { value: "" }, "—"), ...codes.map((c) => h("option", { value: c, selected: c === code }, c)));
  view.replaceChildren(h("h2", {}, t("treasury.title")), h("p", {}, `${t("treasury.pick")} `, pick));
  if (!code) { if (!codes.length) view.append(h("p", { class: "muted" }, t("treasury.none"))); return; }
  const [history, forecast] = await Promise.all([
    getJson(`/api/treasuries/${code}/balances?days=90`).catch(() => ({ points: [] })),
    getJson(`/api/forecasts/${code}`).catch(() => null)]);
  const floors = history.points.filter((p) => p.floor !== null);
  const floor = floors.length ? floors.at(-1).floor : null;
  const points = forecast?.points ?? [];
  view.append(h("div", { class: "card", "data-testid": "treasury-summary" },
    h("p", {}, `${t("treasury.asof")} ${forecast?.as_of ?? "–"} · ${t("treasury.coverage")} ${forecast?.coverage_ratio ?? "–"} · `,
      forecast?.breach_date ? h("b", { class: "bad" }, `${t("treasury.breach")} ${forecast.breach_date}`) : t("treasury.nobreach"),
      history.points.length ? ` · ${t("treasury.balance")} ¥${yuan(fen(history.points.at(-1).balance))}` : "", floor ? ` · ${t("treasury.floor")} ¥${yuan(fen(floor))}` : ""),
    h("p", { class: "legend" }, h("span", {}, h("i", { style: "background:#1f2328" }), t("treasury.balance")), h("span", {}, h("i", { style: "background:rgba(21,101,192,.35)" }), t("treasury.band")),
      h("span", {}, h("i", { style: "background:#1565c0" }), t("treasury.p50")), h("span", {}, h("i", { style: "background:#c62828" }), t("treasury.floor")))),
  bandChart({ balances: history.points, points, floor }));
}

// ---------- routing ----------
const ROUTES = { alerts: alertsView, held: heldView, payment: paymentView, chain: chainView, treasury: treasuryView };

async function route() {
  leaving();
  leaving = () => {};
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = ROUTES[name] ? name : "alerts";
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${page}`);
  if (!token()) { view.replaceChildren(); notice(t("token.needed"), true); return; }
  notice("");
  try {
    const done = await ROUTES[page](rest.length ? decodeURIComponent(rest.join("/")) : "");
    if (typeof done === "function") leaving = done;
  } catch (error) { failed(error); }
}

document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  setToken(input.value.trim());
  input.value = "";
  route();
});
document.getElementById("logout").addEventListener("click", () => { setToken(""); route(); });
document.getElementById("lang").addEventListener("click", () => {
  setLang(currentLang() === "en" ? "zh" : "en");
  document.getElementById("lang").textContent = currentLang() === "en" ? "中文" : "EN";
  route();
});
window.addEventListener("hashchange", route);
setLang(currentLang());
document.getElementById("lang").textContent = currentLang() === "en" ? "中文" : "EN";
route();
