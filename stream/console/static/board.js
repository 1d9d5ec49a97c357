// The live alert board: the filtered list, the alert stream (SSE over fetch), an alert's detail, ack/resolve.
import { ApiError, getJson, post, streamEvents } from "./api.js";
import { failed, h, listOf, msg, notice, sevBadge, time, view } from "./dom.js";
import { currentLang, t } from "./i18n.js";

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

export function alertsView() {
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

