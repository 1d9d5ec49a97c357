// The operator console: hash routes over the /api; the held queue, payment detail and treasury views here.
import { fen, getJson, post, setToken, token, yuan } from "./api.js";
import { alertsView } from "./board.js";
import { chainView } from "./chain.js";
import { bandChart } from "./chart.js";
import { failed, h, listOf, lookup, notice, time, view } from "./dom.js";
import { currentLang, setLang, t } from "./i18n.js";

let leaving = () => {};

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
