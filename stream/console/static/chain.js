// The fund-chain view: a root down to its recipients, anomalies marked, every node reconciled in integer fen.
import { fen, getJson, percent, yuan } from "./api.js";
import { h, listOf, lookup, view } from "./dom.js";
import { t } from "./i18n.js";

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
  // What reached recipients from this indicator and everything allocated below it (as `treasury trace`).
  const below = (n) => fen(n.spent) + (kids.get(n.indicator_id) ?? []).reduce((sum, c) => sum + below(c), 0n);
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
      h("span", {}, `${t("chain.allocated")} ${percent(fen(n.allocated), fen(n.amount))}`), h("span", { title: t("chain.spent.title") }, `${t("chain.spent")} ${percent(below(n), fen(n.amount))}`),
      h("span", { class: ok ? "ok" : "bad" }, ok ? "✓" : `✗ ${t("chain.mismatch")}`), codes.length ? h("span", { class: "mark" }, `⚠ ${codes.join(" ")}`) : null),
      payments.length ? h("details", { class: "payments" }, h("summary", {}, `${payments.length} ${t("chain.payments")}`), h("ul", {}, ...payRows)) : null,
      children.length ? h("ul", {}, ...children.map(item)) : null);
  };
  const tops = chain.nodes.filter((n) => !n.parent_indicator_id || !ids.has(n.parent_indicator_id));
  const tree = h("ul", { class: "tree", "data-testid": "chain-tree" }, ...tops.map(item));
  return { tree, mismatches, marks, tops };
}

export async function chainView(root) {
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

